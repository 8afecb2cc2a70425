"""Request statistics from the inference log: buckets that add up, latency percentiles,
lines of another shape and torn lines, the index-only count, and the bound on the work."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pytest

from iml4e.config import Settings
from iml4e.errors import BadInput
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log
from iml4e.serving.request_stats import request_count, request_stats
from iml4e.store import Store, open_store


def _record(i: int, timestamp: float, role: str = "champion") -> InferenceRecord:
    return InferenceRecord(
        request_id=f"r{i}",
        timestamp=timestamp,
        deployment="stats",
        model_name="m",
        model_version="1",
        protocol="mlflow",
        inputs=[{"x": i, "latency_ms": 99999.0, "note": 'a "quoted", odd value'}],
        outputs=[i % 2],
        latency_ms=float(i % 10) + 0.5,
        caller="ops" if i % 3 else None,
        role=role,
    )


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def test_buckets_add_up_to_the_log_and_give_percentiles(store: Store, tmp_path: Path) -> None:
    writer = InferenceLogWriter(store, tmp_path / "log", "stats", max_records_per_segment=40)
    base = float(int(time.time()) - 600)
    for i in range(120):
        writer.append(_record(i, base + i * 5, "challenger" if i % 4 == 0 else "champion"))
    writer.close()
    # a segment another writer left open, with a line of an older shape and a torn last line
    odd = tmp_path / "log" / "stats" / "odd.jsonl"
    old_line = orjson.dumps({**_record(500, base + 3).__dict__, "caller": None})
    old_line = old_line.replace(b',"role":"champion"', b"")
    odd.write_bytes(old_line + b"\n" + b'{"request_id":"torn","timestamp":')
    writer_open = InferenceLogWriter(store, tmp_path / "log", "stats")
    writer_open.append(_record(501, base + 4))  # registers an open segment in the index
    with store.session() as session:
        from iml4e.store.models import InferenceSegment

        session.add(InferenceSegment(deployment="stats", path=str(odd), first_at=_at(base + 3)))

    until = _at(base + 600)
    stats = request_stats(store, "stats", window_s=600, buckets=10, until=until)
    logged = read_inference_log(store, "stats", since=stats.since, until=stats.until)
    assert stats.complete and stats.total == len(logged) == 122
    assert sum(b.by_role.get("challenger", 0) for b in stats.buckets) == 30
    first = [r.latency_ms for r in logged if r.timestamp < base + 60]
    assert stats.buckets[0].count == len(first)
    assert stats.buckets[0].p95_ms == pytest.approx(np.percentile(first, 95), abs=1e-3)
    assert stats.as_dict()["total"] == 122

    assert request_count(store, "stats", window_s=600, until=until) == 122
    narrow = request_count(store, "stats", window_s=100, until=_at(base + 300))
    assert narrow == len(
        read_inference_log(store, "stats", since=_at(base + 200), until=_at(base + 300))
    )

    bounded = request_stats(store, "stats", window_s=600, buckets=10, until=until, max_records=50)
    assert not bounded.complete and bounded.total < 122
    writer_open.close()


def test_bad_arguments_are_refused(make_settings: Callable[..., Settings]) -> None:
    with open_store(make_settings()) as store:
        _check_bad_arguments(store)


def _check_bad_arguments(store: Store) -> None:
    with pytest.raises(BadInput):
        request_stats(store, "stats", window_s=60, buckets=0)
    with pytest.raises(BadInput):
        request_stats(store, "stats", window_s=-1)
    empty = request_stats(store, "nobody", window_s=60, buckets=3)
    assert empty.total == 0 and [b.p50_ms for b in empty.buckets] == [None, None, None]
    assert empty.buckets[-1].end - empty.buckets[0].start == timedelta(seconds=60)
