"""The inference log: every answered request, appended before the answer leaves.

Each server process appends JSON lines to its own segment file under
``<home>/inference/<deployment>/``. A record is one ``write`` on a file opened with
``O_APPEND``, so once ``append`` returns the line is in the kernel's page cache and survives
the process being killed (SIGKILL); a torn last line after a crash is skipped by the reader.
Segments are indexed in the store (deployment, first/last time, record count) so monitoring
can find a deployment's records for a time window without scanning every file.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import or_, select

from iml4e.store import Store
from iml4e.store.models import InferenceSegment

DEFAULT_MAX_RECORDS_PER_SEGMENT = 100_000
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class InferenceRecord:
    """One answered request: what came in, what went out, how long it took, who asked."""

    request_id: str
    timestamp: float
    deployment: str
    model_name: str
    model_version: str
    protocol: str
    inputs: list[dict[str, Any]]
    outputs: list[Any]
    latency_ms: float
    caller: str | None = None
    role: str = "champion"
    """Which model of the deployment answered: ``champion``, ``challenger`` (canary split),
    ``shadow`` (logged, not returned) or ``fallback`` (while the deployment is paused)."""


class InferenceLogWriter:
    """Appends records of one deployment to segment files owned by this process."""

    def __init__(
        self,
        store: Store,
        root: Path,
        deployment: str,
        *,
        max_records_per_segment: int = DEFAULT_MAX_RECORDS_PER_SEGMENT,
    ) -> None:
        self._store = store
        self._folder = root / _SAFE_NAME.sub("-", deployment)
        self._deployment = deployment
        self._max_records = max_records_per_segment
        self._fd: int | None = None
        self._path: Path | None = None
        self._count = 0
        self._last_at: float | None = None
        self._sequence = 0

    def append(self, record: InferenceRecord) -> None:
        """Write ``record``; when this returns the record is safe from a process crash."""
        if self._fd is None or self._count >= self._max_records:
            self._rotate(record.timestamp)
        assert self._fd is not None
        # orjson encodes the dataclass itself, much faster than dataclasses.asdict
        line = orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a short write on a regular file means the disk is full
            raise OSError(f"short write to inference log {self._path}")
        self._count += 1
        self._last_at = record.timestamp

    def close(self) -> None:
        """Close the current segment and record its final extent in the index."""
        if self._fd is None:
            return
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        with self._store.session() as session:
            segment = session.scalars(
                select(InferenceSegment).where(InferenceSegment.path == str(self._path))
            ).one()
            segment.n_records = self._count
            segment.last_at = _as_datetime(self._last_at) if self._last_at else segment.first_at
            segment.closed = True

    def _rotate(self, first_timestamp: float) -> None:
        self.close()
        self._folder.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        stamp = datetime.fromtimestamp(first_timestamp, UTC).strftime("%Y%m%dT%H%M%S%f")
        self._path = self._folder / f"{stamp}-{os.getpid()}-{self._sequence}.jsonl"
        with self._store.session() as session:
            session.add(
                InferenceSegment(
                    deployment=self._deployment,
                    path=str(self._path),
                    first_at=_as_datetime(first_timestamp),
                )
            )
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._count = 0
        self._last_at = None


def read_inference_log(
    store: Store,
    deployment: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[InferenceRecord]:
    """Records of ``deployment`` answered in ``[since, until]`` (UTC), oldest first."""
    query = select(InferenceSegment.path).where(InferenceSegment.deployment == deployment)
    if until is not None:
        query = query.where(InferenceSegment.first_at <= until)
    if since is not None:
        query = query.where(
            or_(InferenceSegment.closed.is_(False), InferenceSegment.last_at >= since)
        )
    with store.session() as session:
        paths = session.scalars(query.order_by(InferenceSegment.first_at)).all()
    low = since.replace(tzinfo=UTC).timestamp() if since else float("-inf")
    high = until.replace(tzinfo=UTC).timestamp() if until else float("inf")
    records = [
        record
        for path in paths
        for record in _read_segment(Path(path))
        if low <= record.timestamp <= high
    ]
    records.sort(key=lambda record: record.timestamp)
    return records


def _read_segment(path: Path) -> Iterator[InferenceRecord]:
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return
    yield from _read_lines(content.split(b"\n"))


def _read_lines(lines: Iterable[bytes]) -> Iterator[InferenceRecord]:
    for line in lines:
        if not line:
            continue
        try:
            yield InferenceRecord(**orjson.loads(line))
        except (orjson.JSONDecodeError, TypeError):
            continue  # the torn last line of a segment whose writer was killed mid-write


def _as_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def now() -> float:
    """The timestamp format of the log: seconds since the epoch."""
    return time.time()


def find_inference_records(store: Store, deployment: str, request_id: str) -> list[InferenceRecord]:
    """The records of ``request_id`` in ``deployment``'s log (the answer, and a shadow's)."""
    needle = b'"request_id":' + orjson.dumps(request_id) + b","
    with store.session() as session:
        paths = session.scalars(
            select(InferenceSegment.path)
            .where(InferenceSegment.deployment == deployment)
            .order_by(InferenceSegment.first_at)
        ).all()
    found = []
    for path in paths:
        try:
            content = Path(path).read_bytes()
        except FileNotFoundError:
            continue
        if needle not in content:
            continue
        found.extend(_read_lines(line for line in content.split(b"\n") if needle in line))
    return found


_LEADING_ID = re.compile(rb'\{"request_id":("(?:[^"\\]|\\.)*")')


def find_inference_records_of(
    store: Store, deployment: str, request_ids: Iterable[str]
) -> dict[str, list[InferenceRecord]]:
    """The records of each of ``request_ids`` found in ``deployment``'s log, in one pass.

    A line is decoded only when its leading request id is wanted, so looking up thousands of
    ids (a batch of feedback labels) costs one scan of the segments, not one per id.
    """
    wanted = set(request_ids)
    with store.session() as session:
        paths = session.scalars(
            select(InferenceSegment.path)
            .where(InferenceSegment.deployment == deployment)
            .order_by(InferenceSegment.first_at)
        ).all()
    found: dict[str, list[InferenceRecord]] = {}
    for path in paths:
        try:
            content = Path(path).read_bytes()
        except FileNotFoundError:
            continue
        for line in content.split(b"\n"):
            match = _LEADING_ID.match(line)
            if match is None or orjson.loads(match[1]) not in wanted:
                continue
            for record in _read_lines([line]):
                found.setdefault(record.request_id, []).append(record)
    return found


@dataclass(frozen=True)
class SegmentInfo:
    """One segment file of a deployment's inference log, as the index records it."""

    path: str
    first_at: datetime
    last_at: datetime | None
    n_records: int
    """Records the writer counted when it closed the segment (0 while it is open)."""
    closed: bool


def inference_segments(store: Store, deployment: str) -> list[SegmentInfo]:
    """The indexed segment files of ``deployment``, oldest first."""
    with store.session() as session:
        rows = session.scalars(
            select(InferenceSegment)
            .where(InferenceSegment.deployment == deployment)
            .order_by(InferenceSegment.first_at, InferenceSegment.id)
        ).all()
        return [
            SegmentInfo(row.path, row.first_at, row.last_at, row.n_records, row.closed)
            for row in rows
        ]


def read_segment(path: Path) -> list[InferenceRecord]:
    """The readable records of one segment file (none when the file is gone)."""
    return list(_read_segment(path))
