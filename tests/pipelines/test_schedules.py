"""Pipeline schedules on SQLite and PostgreSQL: added only when everything checks, listed,
paused, resumed, due, run outcomes kept, removed, every change in the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from iml4e.audit import list_audit
from iml4e.errors import BadInput
from iml4e.pipelines.errors import (
    InvalidParameter,
    PipelineNotFound,
    ScheduleExists,
    ScheduleInvalid,
    UnknownExecutor,
    UnknownSchedule,
)
from iml4e.pipelines.schedules import (
    add_schedule,
    due_schedules,
    get_schedule,
    list_schedules,
    parse_interval,
    pause_schedule,
    record_schedule_run,
    remove_schedule,
    resume_schedule,
)
from iml4e.store import Store
from iml4e.store.models import PipelineSchedule

SAMPLE = "tests.pipelines.sample_pipelines"
T0 = datetime(2026, 11, 27, 12, 0, 0)


def _count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(PipelineSchedule)) or 0


def test_a_schedule_is_added_listed_paused_resumed_run_and_removed(store: Store) -> None:
    added = add_schedule(
        store,
        "nightly",
        f"{SAMPLE}:branching",
        params={"rows": "12"},
        every="1h",
        executor="local",
        actor="ana",
        first_run_at=T0,
    )
    assert added.interval_s == 3600 and added.every == "1h" and added.params == {"rows": "12"}
    assert added.next_run_at == T0 and added.last_status is None and not added.paused
    add_schedule(store, "often", f"{SAMPLE}:branching", every="15m", actor="ana")
    assert [s.name for s in list_schedules(store)] == ["nightly", "often"]

    assert due_schedules(store, T0 - timedelta(seconds=1)) == []
    assert [s.name for s in due_schedules(store, T0)] == ["nightly"]
    assert pause_schedule(store, "nightly", actor="ben").paused
    assert due_schedules(store, T0 + timedelta(minutes=5)) == []
    assert not resume_schedule(store, "nightly", actor="ben").paused
    assert [s.name for s in due_schedules(store, T0)] == ["nightly"]

    done = record_schedule_run(
        store, "nightly", run_id="abc", status="succeeded", error=None, now=T0
    )
    assert done.last_status == "succeeded" and done.last_run_id == "abc"
    assert done.next_run_at == T0 + timedelta(hours=1) and done.last_run_at == T0
    assert due_schedules(store, T0 + timedelta(minutes=59)) == []
    failed = record_schedule_run(
        store, "nightly", run_id=None, status="failed", error="step explode: boom", now=T0
    )
    assert failed.last_status == "failed" and failed.last_error == "step explode: boom"
    assert get_schedule(store, "nightly").as_dict()["last_error"] == "step explode: boom"

    removed = remove_schedule(store, "nightly", actor="ana")
    assert removed.name == "nightly"
    assert [s.name for s in list_schedules(store)] == ["often"]
    with pytest.raises(UnknownSchedule):
        get_schedule(store, "nightly")

    events = [(e.action, e.actor, e.outcome) for e in list_audit(store, limit=50)]
    for expected in [
        ("pipeline.schedule_add", "ana", "ok"),
        ("pipeline.schedule_pause", "ben", "ok"),
        ("pipeline.schedule_resume", "ben", "ok"),
        ("pipeline.schedule_run", "scheduler", "ok"),
        ("pipeline.schedule_run", "scheduler", "failed"),
        ("pipeline.schedule_remove", "ana", "ok"),
    ]:
        assert expected in events


BAD_INPUT: list[tuple[str, str, dict[str, str], str, str | None, type[BadInput]]] = [
    ("bad name!", f"{SAMPLE}:branching", {}, "1h", None, ScheduleInvalid),
    ("ok", f"{SAMPLE}:branching", {}, "5s", None, ScheduleInvalid),
    ("ok", f"{SAMPLE}:branching", {}, "100", None, ScheduleInvalid),
    ("ok", f"{SAMPLE}:branching", {}, "soon", None, ScheduleInvalid),
    ("ok", f"{SAMPLE}:no_such_pipeline", {}, "1h", None, PipelineNotFound),
    ("ok", "no_such_module_here:flow", {}, "1h", None, PipelineNotFound),
    ("ok", f"{SAMPLE}:branching", {"rows": "many"}, "1h", None, InvalidParameter),
    ("ok", f"{SAMPLE}:branching", {"colour": "red"}, "1h", None, InvalidParameter),
    ("ok", f"{SAMPLE}:branching", {}, "1h", "spark", UnknownExecutor),
]


def test_bad_input_is_refused_before_anything_is_written(store: Store) -> None:
    for name, pipeline, params, every, executor, error in BAD_INPUT:
        with pytest.raises(error):
            add_schedule(
                store, name, pipeline, params=params, every=every, executor=executor, actor="ana"
            )
    assert _count(store) == 0
    assert not [e for e in list_audit(store, limit=10) if e.action.startswith("pipeline.")]


def test_duplicates_and_unknown_names_are_refused(store: Store) -> None:
    add_schedule(store, "nightly", f"{SAMPLE}:branching", every="1d", actor="ana")
    with pytest.raises(ScheduleExists):
        add_schedule(store, "nightly", f"{SAMPLE}:failing", every="1h", actor="ana")
    assert get_schedule(store, "nightly").pipeline == f"{SAMPLE}:branching"
    for change in (pause_schedule, resume_schedule, remove_schedule):
        with pytest.raises(UnknownSchedule):
            change(store, "absent", actor="ana")
    with pytest.raises(UnknownSchedule):
        record_schedule_run(store, "absent", run_id=None, status="failed", error="x")
    with pytest.raises(ScheduleInvalid):
        record_schedule_run(store, "nightly", run_id=None, status="odd", error=None)  # type: ignore[arg-type]
    assert parse_interval("1d") == 86400 and parse_interval("10s") == 10
