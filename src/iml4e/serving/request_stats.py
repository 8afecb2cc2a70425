"""Request counts and latencies of a deployment over time, from its inference log.

The segment index narrows the files to those overlapping the window; each file's timestamps,
latencies and roles come from :mod:`iml4e.serving.segment_scan`, which parses a closed segment
once and an open one only from where it last stopped, so a chart polled every few seconds
costs array arithmetic, not a re-read of the log. Files are read newest first and the work
stops after ``max_records`` records, so a chart of a very busy deployment costs bounded work
and says it is ``complete=False``. :func:`request_count` answers from the index alone for
closed segments inside the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from iml4e.errors import BadInput
from iml4e.serving.segment_scan import SegmentScanner
from iml4e.store import Store
from iml4e.store.models import InferenceSegment

DEFAULT_MAX_RECORDS = 200_000
MAX_BUCKETS = 500

_SCANNER = SegmentScanner()
"""What this process parsed of the segment files (bounded; see :mod:`segment_scan`)."""


@dataclass(frozen=True)
class StatsBucket:
    """The requests answered in ``[start, end)`` (UTC, naive) and their latency."""

    start: datetime
    end: datetime
    count: int
    p50_ms: float | None
    p95_ms: float | None
    by_role: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "count": self.count,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "by_role": dict(self.by_role),
        }


@dataclass(frozen=True)
class RequestStats:
    """A deployment's traffic in ``[since, until]`` cut into equal buckets."""

    deployment: str
    since: datetime
    until: datetime
    bucket_s: float
    buckets: list[StatsBucket]
    complete: bool
    """False when the scan stopped at ``max_records`` (older buckets then count less)."""

    @property
    def total(self) -> int:
        """Requests counted in the window."""
        return sum(bucket.count for bucket in self.buckets)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "deployment": self.deployment,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "bucket_s": self.bucket_s,
            "total": self.total,
            "complete": self.complete,
            "buckets": [bucket.as_dict() for bucket in self.buckets],
        }


def request_stats(
    store: Store,
    deployment: str,
    *,
    window_s: float,
    buckets: int = 30,
    until: datetime | None = None,
    max_records: int = DEFAULT_MAX_RECORDS,
) -> RequestStats:
    """Requests of ``deployment`` per bucket over the last ``window_s`` seconds before ``until``
    (default now, UTC naive), with p50/p95 latency and counts by role.

    The window is inclusive at both ends, like :func:`~iml4e.serving.inference_log.
    read_inference_log`, so the bucket counts add up to the records it returns.
    """
    if not 1 <= buckets <= MAX_BUCKETS:
        raise BadInput(f"must be between 1 and {MAX_BUCKETS}", where="buckets")
    if not window_s > 0 or math.isinf(window_s):
        raise BadInput("must be a positive, finite number of seconds", where="window")
    high_at = until or datetime.now(UTC).replace(tzinfo=None)
    low_at = high_at - timedelta(seconds=window_s)
    low, high = _epoch(low_at), _epoch(high_at)
    width = window_s / buckets
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    names: list[str] = []
    scanned, complete = 0, True
    for path in _segment_paths(store, deployment, low_at, high_at, newest_first=True):
        if scanned >= max_records:
            complete = False
            break
        columns = _SCANNER.columns(Path(path))
        scanned += len(columns)
        inside = (columns.timestamps >= low) & (columns.timestamps <= high)
        offsets = (columns.timestamps[inside] - low) / width
        index = np.minimum(offsets.astype(np.int64), buckets - 1)
        for name in columns.role_names:
            if name not in names:
                names.append(name)
        codes = np.array([names.index(name) for name in columns.role_names], dtype=np.int64)
        roles = codes[columns.roles[inside]] if len(codes) else np.empty(0, np.int64)
        parts.append((index, columns.latencies[inside], roles))
    rows = _buckets(parts, names, buckets, low_at, width)
    return RequestStats(deployment, low_at, high_at, width, rows, complete)


def request_count(
    store: Store, deployment: str, *, window_s: float, until: datetime | None = None
) -> int:
    """How many requests ``deployment`` answered in the last ``window_s`` seconds.

    A closed segment lying wholly inside the window is counted from the index; only the
    segments at its edges and the open ones are read.
    """
    high_at = until or datetime.now(UTC).replace(tzinfo=None)
    low_at = high_at - timedelta(seconds=window_s)
    low, high = _epoch(low_at), _epoch(high_at)
    with store.session() as session:
        segments = session.scalars(_overlapping(deployment, low_at, high_at)).all()
        found = [(s.path, s.closed, s.first_at, s.last_at, s.n_records) for s in segments]
    total = 0
    for path, closed, first_at, last_at, n_records in found:
        if closed and last_at is not None and first_at >= low_at and last_at <= high_at:
            total += n_records
            continue
        stamps = _SCANNER.columns(Path(path)).timestamps
        total += int(np.count_nonzero((stamps >= low) & (stamps <= high)))
    return total


def _buckets(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    names: list[str],
    buckets: int,
    low_at: datetime,
    width: float,
) -> list[StatsBucket]:
    """One :class:`StatsBucket` per bucket from (bucket index, latency, role code) arrays."""
    index = np.concatenate([part[0] for part in parts]) if parts else np.empty(0, np.int64)
    latency = np.concatenate([part[1] for part in parts]) if parts else np.empty(0)
    roles = np.concatenate([part[2] for part in parts]) if parts else np.empty(0, np.int64)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(buckets + 1))
    rows = []
    for bucket in range(buckets):
        members = order[bounds[bucket] : bounds[bucket + 1]]
        counts = np.bincount(roles[members], minlength=len(names))
        rows.append(
            StatsBucket(
                start=low_at + timedelta(seconds=width * bucket),
                end=low_at + timedelta(seconds=width * (bucket + 1)),
                count=len(members),
                p50_ms=_percentile(latency[members], 50),
                p95_ms=_percentile(latency[members], 95),
                by_role={name: int(n) for name, n in zip(names, counts, strict=True) if n},
            )
        )
    return rows


def _overlapping(deployment: str, low_at: datetime, high_at: datetime) -> Any:
    return select(InferenceSegment).where(
        InferenceSegment.deployment == deployment,
        InferenceSegment.first_at <= high_at,
        or_(InferenceSegment.closed.is_(False), InferenceSegment.last_at >= low_at),
    )


def _segment_paths(
    store: Store, deployment: str, low_at: datetime, high_at: datetime, *, newest_first: bool
) -> list[str]:
    order = InferenceSegment.first_at.desc() if newest_first else InferenceSegment.first_at
    query = _overlapping(deployment, low_at, high_at).with_only_columns(InferenceSegment.path)
    with store.session() as session:
        return list(session.scalars(query.order_by(order)).all())


def _percentile(values: np.ndarray, q: float) -> float | None:
    return None if not len(values) else round(float(np.percentile(values, q)), 3)


def _epoch(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()
