"""The scheduler of ``iml4e up`` really runs due pipeline schedules in their own processes: a
succeeding one records its run, a failing one records its error and the loop goes on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from iml4e.config import Settings
from iml4e.monitoring.scheduler import MonitorScheduler
from iml4e.pipelines.records import get_run
from iml4e.pipelines.scheduled_runs import pipeline_run_arguments
from iml4e.pipelines.schedules import add_schedule, get_schedule, pause_schedule
from iml4e.store import open_store
from iml4e.store.models import utcnow

SAMPLE = "tests.pipelines.sample_pipelines"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(ROOT)  # the run processes import the sample pipelines from here
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    return make_settings()


def test_the_loop_runs_due_schedules_and_goes_on_after_a_failure(settings: Settings) -> None:
    with open_store(settings) as store:
        past = utcnow() - timedelta(seconds=1)
        common = {"every": "1h", "actor": "ana", "first_run_at": past}
        add_schedule(store, "a-fails", f"{SAMPLE}:failing", params={"rows": "4"}, **common)
        add_schedule(store, "b-works", f"{SAMPLE}:branching", params={"rows": "6"}, **common)
        add_schedule(store, "c-paused", f"{SAMPLE}:branching", **common)
        pause_schedule(store, "c-paused", actor="ana")
        assert pipeline_run_arguments(get_schedule(store, "b-works")) == [
            "pipeline", "run", f"{SAMPLE}:branching", "-p", "rows=6",
        ]  # fmt: skip

    scheduler = MonitorScheduler(settings, interval_s=3600, window="1h", check_s=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 120
        while len(scheduler.status().pipeline_runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.stop(timeout=120)

    status = scheduler.status()
    assert sorted(status.pipeline_runs) == ["a-fails", "b-works"]
    assert status.runs == 0  # the monitor round waits for its own interval
    with open_store(settings) as store:
        works = get_schedule(store, "b-works")
        assert works.last_status == "succeeded" and works.last_error is None
        assert works.last_run_id is not None
        run = get_run(store, works.last_run_id)
        assert run.status == "succeeded" and run.params == {"rows": 6, "seed": 0}
        assert works.next_run_at == works.last_run_at + timedelta(hours=1)  # type: ignore[operator]

        fails = get_schedule(store, "a-fails")
        assert fails.last_status == "failed" and "boom" in (fails.last_error or "")
        assert fails.last_run_id is not None
        assert get_run(store, fails.last_run_id).status == "failed"
        assert fails.next_run_at > utcnow() + timedelta(minutes=59)

        paused = get_schedule(store, "c-paused")
        assert paused.last_run_at is None and paused.last_status is None
    assert status.as_dict()["pipeline_runs"]["b-works"]["run_id"] == works.last_run_id
