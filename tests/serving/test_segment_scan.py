"""Segment files parsed once and then only from where the last read stopped: a growing open
segment, a torn last line, a new role appearing, a rewritten file, and the bound on what is
kept."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import orjson

from iml4e.serving.segment_scan import SegmentScanner, parse_lines


def _line(i: int, role: str = "champion", *, caller: str | None = None) -> bytes:
    return (
        orjson.dumps(
            {
                "request_id": f"r{i}",
                "timestamp": 1_700_000_000.0 + i,
                "deployment": "d",
                "inputs": [{"latency_ms": 5, "x": '"odd", value'}],
                "outputs": [1],
                "latency_ms": float(i) + 0.25,
                "caller": caller,
                "role": role,
            }
        )
        + b"\n"
    )


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def test_a_growing_segment_is_parsed_from_where_the_last_read_stopped(tmp_path: Path) -> None:
    path = tmp_path / "segment.jsonl"
    path.write_bytes(b"".join(_line(i) for i in range(3)) + _line(3)[:20])  # torn last line
    scanner = SegmentScanner()
    first = scanner.columns(path)
    assert list(first.timestamps - 1_700_000_000.0) == [0.0, 1.0, 2.0]
    assert first.role_names == ("champion",)

    with path.open("ab") as handle:  # the torn line ends, a challenger answers
        handle.write(_line(3)[20:] + _line(4, "challenger", caller="ops"))
    _touch_later(path)
    grown = scanner.columns(path)
    assert list(grown.latencies) == [0.25, 1.25, 2.25, 3.25, 4.25]
    assert [grown.role_names[code] for code in grown.roles] == ["champion"] * 4 + ["challenger"]
    assert scanner.columns(path) is grown  # unchanged file: nothing read again

    path.write_bytes(_line(9, "shadow"))  # rewritten (smaller): parsed from the start
    _touch_later(path)
    again = scanner.columns(path)
    assert list(again.latencies) == [9.25] and again.role_names == ("shadow",)


def test_lines_of_another_shape_are_decoded_and_torn_ones_skipped() -> None:
    other = orjson.dumps({"timestamp": 5.0, "latency_ms": 2.0, "request_id": "x"}) + b"\n"
    parsed = parse_lines(_line(1) + other + b'{"request_id": "torn\n')
    assert list(parsed.timestamps) == [1_700_000_001.0, 5.0]
    assert [parsed.role_names[code] for code in parsed.roles] == ["champion", "champion"]


def test_what_is_kept_is_bounded_least_recently_used_first(tmp_path: Path) -> None:
    scanner = SegmentScanner(kept_records=5)
    paths = []
    for n in range(3):
        path = tmp_path / f"s{n}.jsonl"
        path.write_bytes(b"".join(_line(i) for i in range(3)))
        paths.append(path)
        scanner.columns(path)
    assert list(scanner._kept) == [str(paths[2])]  # 3 + 3 > 5: the older files went
    assert np.array_equal(scanner.columns(paths[0]).latencies, [0.25, 1.25, 2.25])
