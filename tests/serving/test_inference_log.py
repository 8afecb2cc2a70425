"""The inference log keeps every record whose append returned, even through SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

from iml4e.config import Settings
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log
from iml4e.store import Store


def _record(i: int, timestamp: float | None = None) -> InferenceRecord:
    return InferenceRecord(
        request_id=f"r{i}",
        timestamp=timestamp or time.time(),
        deployment="d",
        model_name="m",
        model_version="1",
        protocol="mlflow",
        inputs=[{"x": i}],
        outputs=[i % 2],
        latency_ms=0.5,
    )


def test_segments_rotate_and_windows_select_by_time(store: Store, tmp_path) -> None:
    writer = InferenceLogWriter(store, tmp_path / "log", "d", max_records_per_segment=10)
    base = float(int(time.time()) - 100)
    for i in range(25):
        writer.append(_record(i, base + i))
    writer.close()
    every = read_inference_log(store, "d")
    assert [r.request_id for r in every] == [f"r{i}" for i in range(25)]
    assert len(list((tmp_path / "log" / "d").glob("*.jsonl"))) == 3
    since = datetime.fromtimestamp(base + 5, UTC).replace(tzinfo=None)
    until = datetime.fromtimestamp(base + 14, UTC).replace(tzinfo=None)
    window = read_inference_log(store, "d", since=since, until=until)
    assert [r.request_id for r in window] == [f"r{i}" for i in range(5, 15)]
    assert read_inference_log(store, "other") == []
    later = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    assert read_inference_log(store, "d", since=later) == []


WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from iml4e.config import Settings
    from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord
    from iml4e.store import open_store

    settings = Settings.model_validate_json(sys.argv[1])
    writer = InferenceLogWriter(open_store(settings), settings.inference_log_root, "killed")
    i = 0
    while True:
        writer.append(InferenceRecord(f"k{i}", time.time(), "killed", "m", "1", "mlflow",
                                      [{"x": i}], [0], 0.1))
        sys.stdout.write(f"k{i}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def test_nothing_acknowledged_is_lost_when_the_writer_is_killed(
    backend_settings: Settings, store: Store
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, backend_settings.model_dump_json()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    acknowledged = [process.stdout.readline().strip() for _ in range(500)]
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    acknowledged += [line.strip() for line in process.stdout if line.strip()]
    process.stdout.close()
    logged = {record.request_id for record in read_inference_log(store, "killed")}
    assert len(acknowledged) >= 500
    assert set(acknowledged) <= logged
