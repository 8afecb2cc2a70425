"""Request counts and latencies of a deployment over time, from its inference log.

The segment index narrows the files to those overlapping the window; each file is then scanned
with one regular expression that picks the timestamp, latency and role of every line without
decoding its inputs and outputs (a line the expression does not fit, e.g. one written by an
older version, is decoded in full). Files are read newest first and the scan stops after
``max_records`` lines, so a chart of a very busy deployment costs bounded work and says it
is ``complete=False``. :func:`request_count` answers from the index alone for closed segments
inside the window.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sqlalchemy import or_, select

from iml4e.errors import BadInput
from iml4e.store import Store
from iml4e.store.models import InferenceSegment

DEFAULT_MAX_RECORDS = 200_000
MAX_BUCKETS = 500

_LINE = re.compile(
    rb'^\{"request_id":"(?:[^"\\\n]|\\.)*","timestamp":([-0-9.eE+]+),.*'
    rb',"latency_ms":([-0-9.eE+]+),"caller":(?:null|"(?:[^"\\\n]|\\.)*"),"role":"(\w+)"\}$',
    re.MULTILINE,
)


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
    latencies: list[list[float]] = [[] for _ in range(buckets)]
    roles: list[dict[str, int]] = [{} for _ in range(buckets)]
    scanned, complete = 0, True
    for path in _segment_paths(store, deployment, low_at, high_at, newest_first=True):
        if scanned >= max_records:
            complete = False
            break
        for timestamp, latency, role in _scan(Path(path)):
            scanned += 1
            if not low <= timestamp <= high:
                continue
            index = min(int((timestamp - low) / width), buckets - 1)
            latencies[index].append(latency)
            roles[index][role] = roles[index].get(role, 0) + 1
    rows = [
        StatsBucket(
            start=low_at + timedelta(seconds=width * index),
            end=low_at + timedelta(seconds=width * (index + 1)),
            count=len(values),
            p50_ms=_percentile(values, 50),
            p95_ms=_percentile(values, 95),
            by_role=roles[index],
        )
        for index, values in enumerate(latencies)
    ]
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
        total += sum(1 for timestamp, _, _ in _scan(Path(path)) if low <= timestamp <= high)
    return total


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


def _scan(path: Path) -> list[tuple[float, float, str]]:
    """``(timestamp, latency_ms, role)`` of every readable line of one segment file."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return []
    found = [(float(t), float(ms), role.decode()) for t, ms, role in _LINE.findall(content)]
    if len(found) == content.count(b"\n"):
        return found
    return list(_decode_each(content))  # a line of another shape: decode every line


def _decode_each(content: bytes) -> Any:
    for line in content.split(b"\n"):
        if not line:
            continue
        try:
            record = orjson.loads(line)
            yield (
                float(record["timestamp"]),
                float(record["latency_ms"]),
                str(record.get("role", "champion")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # the torn last line of a segment whose writer was killed


def _percentile(values: list[float], q: float) -> float | None:
    return None if not values else round(float(np.percentile(values, q)), 3)


def _epoch(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()
