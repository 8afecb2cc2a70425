"""Pipeline schedules: a pipeline, its parameters and how often the scheduler of ``iml4e up``
runs it.

A schedule is checked before it is written: its name, its interval (at least
:data:`MIN_INTERVAL_S`), the pipeline reference (loaded as ``iml4e pipeline run`` loads it), the
executor's name and the parameters (typed and checked against the pipeline's signature, and the
graph built once). Parameters are kept as the ``key=value`` text a command line gives, because
each run is ``python -m iml4e pipeline run REF -p key=value …`` in its own process
(:mod:`iml4e.pipelines.scheduled_runs`). Every change is an audit event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from iml4e.audit import record_audit
from iml4e.errors import BadInput
from iml4e.pipelines.errors import ScheduleExists, ScheduleInvalid, UnknownSchedule
from iml4e.store import Store
from iml4e.store.models import PipelineSchedule, naive_utc

MIN_INTERVAL_S = 10.0
"""The shortest interval a schedule may have: the scheduler checks every few seconds at best."""
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
SUCCEEDED = "succeeded"
FAILED = "failed"
RunStatus = Literal["succeeded", "failed"]


@dataclass(frozen=True)
class ScheduleRecord:
    """One pipeline schedule as stored, with its last outcome."""

    name: str
    pipeline: str
    params: dict[str, str]
    executor: str | None
    interval_s: float
    paused: bool
    created_by: str
    created_at: datetime
    next_run_at: datetime
    last_run_at: datetime | None
    last_run_id: str | None
    last_status: str | None
    last_error: str | None

    @property
    def every(self) -> str:
        """The interval as a duration (``30m``, ``1h``, ``90s``)."""
        return format_interval(self.interval_s)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "params": dict(self.params),
            "executor": self.executor,
            "interval_s": self.interval_s,
            "every": self.every,
            "paused": self.paused,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "next_run_at": self.next_run_at.isoformat(),
            "last_run_at": None if self.last_run_at is None else self.last_run_at.isoformat(),
            "last_run_id": self.last_run_id,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


def parse_interval(every: str) -> float:
    """Seconds in a duration like ``30m``, ``1h`` or ``1d``; at least :data:`MIN_INTERVAL_S`."""
    from iml4e.monitoring.windows import parse_window

    try:
        window = parse_window(every, where="--every")
    except BadInput:
        window = None
    if window is None or window.seconds is None:
        raise ScheduleInvalid(f"expected a duration like 30m, 1h or 1d, got {every!r}", where=every)
    if window.seconds < MIN_INTERVAL_S:
        raise ScheduleInvalid(
            f"the interval must be at least {MIN_INTERVAL_S:g} seconds", where=every
        )
    return window.seconds


def format_interval(seconds: float) -> str:
    """``3600.0`` → ``1h``; ``90.0`` → ``90s``."""
    from iml4e.monitoring.windows import Window

    return str(Window(seconds=seconds))


def check_pipeline(
    pipeline: str, params: Mapping[str, str], *, cwd: Path | None = None
) -> dict[str, Any]:
    """The typed parameters a run of ``pipeline`` with ``params`` gets, or the pipelines room's
    error (:class:`PipelineNotFound`, :class:`InvalidParameter`, a definition error)."""
    from iml4e.pipelines.loading import load_pipeline

    definition = load_pipeline(pipeline, cwd=cwd)
    typed = definition.parse_params(dict(params))
    definition.build(typed)  # the graph is traced and checked once, as a run would
    return definition.resolve_params(typed)


def add_schedule(
    store: Store,
    name: str,
    pipeline: str,
    *,
    params: Mapping[str, str] | None = None,
    every: str,
    executor: str | None = None,
    actor: str,
    first_run_at: datetime | None = None,
    cwd: Path | None = None,
) -> ScheduleRecord:
    """Schedule ``pipeline`` (``module:pipeline`` or ``path/file.py:pipeline``) to run
    ``every`` (``30m``, ``1h``, ``1d``) with ``params`` (``key=value`` text).

    Everything is checked before anything is written; the first run is due at
    ``first_run_at`` (default: one interval from now). Audit event ``pipeline.schedule_add``.
    """
    if not NAME_PATTERN.fullmatch(name):
        raise ScheduleInvalid(
            "a schedule name is 1 to 63 letters, digits, '.', '_' or '-' (starting with a "
            "letter or digit)",
            where=name,
        )
    interval_s = parse_interval(every)
    raw = {str(key): str(value) for key, value in (params or {}).items()}
    if executor is not None:
        _check_executor(executor)
    check_pipeline(pipeline, raw, cwd=cwd)
    created = naive_utc(None)
    with store.session() as session:
        if session.scalars(
            select(PipelineSchedule.id).where(PipelineSchedule.name == name)
        ).first():
            raise ScheduleExists("a schedule of this name exists already", where=name)
        row = PipelineSchedule(
            name=name,
            pipeline=pipeline,
            params=raw,
            executor=executor,
            interval_s=interval_s,
            paused=False,
            created_by=actor,
            created_at=created,
            next_run_at=naive_utc(first_run_at)
            if first_run_at is not None
            else created + timedelta(seconds=interval_s),
        )
        session.add(row)
        try:
            session.flush()
        except IntegrityError:  # added by someone else a moment ago
            raise ScheduleExists("a schedule of this name exists already", where=name) from None
        record = _record(row)
    record_audit(
        store,
        actor=actor,
        action="pipeline.schedule_add",
        target=f"schedule:{name}",
        detail={"pipeline": pipeline, "params": raw, "every": record.every, "executor": executor},
    )
    return record


def list_schedules(store: Store) -> list[ScheduleRecord]:
    """Every pipeline schedule, by name."""
    with store.session() as session:
        rows = session.scalars(select(PipelineSchedule).order_by(PipelineSchedule.name)).all()
        return [_record(row) for row in rows]


def get_schedule(store: Store, name: str) -> ScheduleRecord:
    """The schedule ``name``, or :class:`UnknownSchedule`."""
    with store.session() as session:
        return _record(_row(session, name))


def remove_schedule(store: Store, name: str, *, actor: str) -> ScheduleRecord:
    """Delete the schedule ``name`` (its past runs stay); audit ``pipeline.schedule_remove``."""
    with store.session() as session:
        row = _row(session, name)
        record = _record(row)
        session.delete(row)
    record_audit(
        store,
        actor=actor,
        action="pipeline.schedule_remove",
        target=f"schedule:{name}",
        detail={"pipeline": record.pipeline},
    )
    return record


def pause_schedule(store: Store, name: str, *, actor: str, paused: bool = True) -> ScheduleRecord:
    """Stop running ``name`` until it is resumed (``paused=False`` resumes it); audit
    ``pipeline.schedule_pause`` / ``pipeline.schedule_resume``."""
    with store.session() as session:
        row = _row(session, name)
        row.paused = paused
        record = _record(row)
    record_audit(
        store,
        actor=actor,
        action="pipeline.schedule_pause" if paused else "pipeline.schedule_resume",
        target=f"schedule:{name}",
        detail={"pipeline": record.pipeline},
    )
    return record


def resume_schedule(store: Store, name: str, *, actor: str) -> ScheduleRecord:
    """Run ``name`` again at its next due time; audit ``pipeline.schedule_resume``."""
    return pause_schedule(store, name, actor=actor, paused=False)


def due_schedules(store: Store, now: datetime | None = None) -> list[ScheduleRecord]:
    """The unpaused schedules whose next run is at or before ``now``, the longest waiting
    first."""
    moment = naive_utc(now)
    with store.session() as session:
        rows = session.scalars(
            select(PipelineSchedule)
            .where(PipelineSchedule.paused.is_(False), PipelineSchedule.next_run_at <= moment)
            .order_by(PipelineSchedule.next_run_at, PipelineSchedule.name)
        ).all()
        return [_record(row) for row in rows]


def record_schedule_run(
    store: Store,
    name: str,
    *,
    run_id: str | None,
    status: RunStatus,
    error: str | None = None,
    now: datetime | None = None,
) -> ScheduleRecord:
    """Keep the outcome of a scheduled run and set the next one an interval after ``now``;
    audit ``pipeline.schedule_run`` (outcome ``ok`` or ``failed``) by the scheduler."""
    if status not in (SUCCEEDED, FAILED):
        raise ScheduleInvalid("a run's status is succeeded or failed", where=str(status))
    moment = naive_utc(now)
    with store.session() as session:
        row = _row(session, name)
        row.last_run_at = moment
        row.last_run_id = run_id
        row.last_status = status
        row.last_error = None if status == SUCCEEDED else (error or "the run failed")[:4000]
        row.next_run_at = moment + timedelta(seconds=row.interval_s)
        record = _record(row)
    record_audit(
        store,
        actor="scheduler",
        action="pipeline.schedule_run",
        target=f"schedule:{name}",
        outcome="ok" if status == SUCCEEDED else "failed",
        detail={"pipeline": record.pipeline, "run_id": run_id, "error": record.last_error},
    )
    return record


def _check_executor(executor: str) -> None:
    from iml4e.pipelines.errors import UnknownExecutor
    from iml4e.pipelines.executors import EXECUTORS, executor_scheme

    if executor_scheme(executor) not in EXECUTORS:
        raise UnknownExecutor(f"no such executor (known: {', '.join(EXECUTORS)})", where=executor)


def _row(session: Any, name: str) -> PipelineSchedule:
    row = session.scalars(select(PipelineSchedule).where(PipelineSchedule.name == name)).first()
    if row is None:
        raise UnknownSchedule("no pipeline schedule has this name", where=name)
    return row


def _record(row: PipelineSchedule) -> ScheduleRecord:
    return ScheduleRecord(
        name=row.name,
        pipeline=row.pipeline,
        params={str(k): str(v) for k, v in (row.params or {}).items()},
        executor=row.executor,
        interval_s=float(row.interval_s),
        paused=bool(row.paused),
        created_by=row.created_by,
        created_at=row.created_at,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        last_run_id=row.last_run_id,
        last_status=row.last_status,
        last_error=row.last_error,
    )
