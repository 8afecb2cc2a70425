"""Running the due pipeline schedules: what the background scheduler of ``iml4e up`` does at
each check.

Each due, unpaused schedule runs as ``python -m iml4e pipeline run REF -p key=value … --json``
in its own process (through :func:`iml4e.monitoring.scheduler.run_iml4e`, as monitor runs do),
so a pipeline that fails, hangs or uses much memory cannot take the platform server down. Its
run id, status and error are kept on the schedule (:func:`record_schedule_run`), which also
sets the next run; a failure is recorded and the next schedule runs.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iml4e.config import Settings
from iml4e.monitoring.scheduler import run_iml4e
from iml4e.pipelines.errors import UnknownRun, UnknownSchedule
from iml4e.pipelines.schedules import (
    FAILED,
    SUCCEEDED,
    ScheduleRecord,
    due_schedules,
    record_schedule_run,
)
from iml4e.store import Store, open_store

PIPELINE_RUN_TIMEOUT_S = 6 * 3600.0
"""A scheduled pipeline run that takes longer is stopped and recorded failed."""
_FAILED_RUN = re.compile(r"\(run ([0-9a-f]{6,32}):")


@dataclass(frozen=True)
class ScheduledPipelineRun:
    """The outcome of one scheduled run of a pipeline."""

    schedule: str
    at: datetime
    status: str
    run_id: str | None
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "schedule": self.schedule,
            "at": self.at.isoformat(),
            "status": self.status,
            "run_id": self.run_id,
            "error": self.error,
        }


def pipeline_run_arguments(schedule: ScheduleRecord) -> list[str]:
    """The ``iml4e`` arguments of one run of ``schedule`` (``--json`` is added by the runner)."""
    arguments = ["pipeline", "run", schedule.pipeline]
    for key, value in sorted(schedule.params.items()):
        arguments += ["-p", f"{key}={value}"]
    if schedule.executor:
        arguments += ["--executor", schedule.executor]
    return arguments


def run_schedule(
    settings: Settings, store: Store, schedule: ScheduleRecord
) -> ScheduledPipelineRun:
    """Run ``schedule``'s pipeline once, now, in its own process, and record the outcome."""
    run = run_iml4e(
        settings,
        schedule.name,
        pipeline_run_arguments(schedule),
        timeout=PIPELINE_RUN_TIMEOUT_S,
    )
    if run.failed is None:
        printed = run.printed if isinstance(run.printed, dict) else {}
        run_id = printed.get("id") if isinstance(printed.get("id"), str) else None
        succeeded = printed.get("status") == SUCCEEDED and run_id is not None
        status, error = (
            (SUCCEEDED, None) if succeeded else (FAILED, f"the run ended {printed.get('status')}")
        )
    else:
        status, error = FAILED, run.failed.detail
        run_id = _failed_run_id(store, error)
    # removed while it ran: the run is in the pipeline records anyway
    with contextlib.suppress(UnknownSchedule):
        record_schedule_run(
            store, schedule.name, run_id=run_id, status=status, error=error, now=run.at
        )
    return ScheduledPipelineRun(schedule.name, run.at, status, run_id, error)


def run_due_schedules(
    settings: Settings,
    *,
    now: datetime | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> list[ScheduledPipelineRun]:
    """Run every due, unpaused schedule once, the longest waiting first; stop early when
    ``should_stop()`` says so (the server is shutting down)."""
    outcomes: list[ScheduledPipelineRun] = []
    with open_store(settings) as store:
        for schedule in due_schedules(store, now):
            if should_stop():
                break
            outcomes.append(run_schedule(settings, store, schedule))
    return outcomes


def _failed_run_id(store: Store, error: str) -> str | None:
    """The id of the failed run a ``pipeline run`` error names (``(run 1a2b3c4d5e6f: …``)."""
    from iml4e.pipelines.records import get_run

    found = _FAILED_RUN.search(error)
    if found is None:
        return None
    try:
        return get_run(store, found[1]).id
    except UnknownRun:
        return None
