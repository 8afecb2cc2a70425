"""Timestamps, latencies and roles of inference-log segment files, parsed once.

One regular expression picks the three fields of every line without decoding its inputs and
outputs (a line the expression does not fit, e.g. one written by an older version, is decoded
in full). Segments are append-only, so what was parsed is kept per file: a closed segment is
parsed once, an open one only from where the last read ended (whole lines only; a torn last
line waits for its end). The kept arrays are bounded by a number of records, the least
recently used files going first.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

DEFAULT_KEPT_RECORDS = 3_000_000
"""Records kept parsed across all files (about 17 bytes each)."""

_LINE = re.compile(
    rb'^\{"request_id":"(?:[^"\\\n]|\\.)*","timestamp":([-0-9.eE+]+),.*'
    rb',"latency_ms":([-0-9.eE+]+),"caller":(?:null|"(?:[^"\\\n]|\\.)*"),"role":"(\w+)"\}$',
    re.MULTILINE,
)


@dataclass(frozen=True)
class SegmentColumns:
    """The parsed lines of one segment file: parallel arrays, one entry per record."""

    timestamps: np.ndarray
    """Seconds since the epoch (float64)."""
    latencies: np.ndarray
    """Milliseconds (float64)."""
    roles: np.ndarray
    """Index into ``role_names`` (int8)."""
    role_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.timestamps)


_EMPTY = SegmentColumns(np.empty(0), np.empty(0), np.empty(0, dtype=np.int8), ())


@dataclass(frozen=True)
class _Kept:
    columns: SegmentColumns
    parsed_bytes: int
    """Bytes of the file parsed so far (through its last complete line)."""
    size: int
    mtime_ns: int
    """The file's size and modification time when it was last read."""


class SegmentScanner:
    """Parses segment files and keeps what it parsed (thread-safe, bounded)."""

    def __init__(self, kept_records: int = DEFAULT_KEPT_RECORDS) -> None:
        self.kept_records = kept_records
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def columns(self, path: Path) -> SegmentColumns:
        """Every complete line of ``path`` parsed (nothing for a missing file)."""
        key = str(path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return _EMPTY
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and (kept.size, kept.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return kept.columns  # unchanged since the last read
        grown = kept is not None and stat.st_size > kept.size >= kept.parsed_bytes
        start = kept.parsed_bytes if grown and kept is not None else 0
        with path.open("rb") as handle:
            handle.seek(start)
            content = handle.read()
        end = content.rfind(b"\n") + 1  # whole lines only
        new = parse_lines(content[:end])
        columns = _joined(kept.columns, new) if start and kept is not None else new
        with self._lock:
            self._kept[key] = _Kept(columns, start + end, stat.st_size, stat.st_mtime_ns)
            self._kept.move_to_end(key)
            self._evict()
        return columns

    def _evict(self) -> None:
        total = sum(len(kept.columns) for kept in self._kept.values())
        while total > self.kept_records and len(self._kept) > 1:
            _, dropped = self._kept.popitem(last=False)
            total -= len(dropped.columns)


def parse_lines(content: bytes) -> SegmentColumns:
    """``(timestamp, latency_ms, role)`` of every readable line of ``content``."""
    found = _LINE.findall(content)
    if len(found) != content.count(b"\n"):
        found = list(_decode_each(content))  # a line of another shape: decode every line
    if not found:
        return _EMPTY
    names: dict[bytes, int] = {}
    codes = np.fromiter(
        (names.setdefault(role, len(names)) for _, _, role in found), np.int8, len(found)
    )
    return SegmentColumns(
        timestamps=np.fromiter((float(t) for t, _, _ in found), np.float64, len(found)),
        latencies=np.fromiter((float(ms) for _, ms, _ in found), np.float64, len(found)),
        roles=codes,
        role_names=tuple(name.decode() for name in names),
    )


def _decode_each(content: bytes) -> list[tuple[bytes, bytes, bytes]]:
    rows = []
    for line in content.split(b"\n"):
        if not line:
            continue
        try:
            record = orjson.loads(line)
            rows.append(
                (
                    str(float(record["timestamp"])).encode(),
                    str(float(record["latency_ms"])).encode(),
                    str(record.get("role", "champion")).encode(),
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # the torn last line of a segment whose writer was killed
    return rows


def _joined(old: SegmentColumns, new: SegmentColumns) -> SegmentColumns:
    """``old`` then ``new``, with ``new``'s role codes mapped onto one list of names."""
    if not len(new):
        return old
    names = list(old.role_names)
    for name in new.role_names:
        if name not in names:
            names.append(name)
    mapping = np.array([names.index(name) for name in new.role_names], dtype=np.int8)
    return SegmentColumns(
        timestamps=np.concatenate([old.timestamps, new.timestamps]),
        latencies=np.concatenate([old.latencies, new.latencies]),
        roles=np.concatenate([old.roles, mapping[new.roles]]),
        role_names=tuple(names),
    )
