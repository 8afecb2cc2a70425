"""The background scheduler of ``iml4e up``: monitor every serving deployment every N seconds,
and run the due pipeline schedules (:mod:`iml4e.pipelines.scheduled_runs`) in between.

Each run is ``python -m iml4e monitor run NAME --window W --json`` in its own process, so a
run's memory (a window of a busy deployment can hold millions of rows) is returned when it
ends, and a run that fails cannot take the platform server down: its error is kept as the
deployment's last outcome and the scheduler goes on with the next one. After the monitors, a
``python -m iml4e comply reassess --json`` process assesses again every AI system whose
assessment went stale (a retraining, an alert, a new dataset version): continuous compliance.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from iml4e.audit import record_audit
from iml4e.config import Settings
from iml4e.monitoring.errors import SchedulerNotRunning
from iml4e.serving.deployments import list_deployments
from iml4e.serving.process import server_environment
from iml4e.store import Store, open_store

if TYPE_CHECKING:
    from iml4e.pipelines.scheduled_runs import ScheduledPipelineRun

RUN_TIMEOUT_S = 600.0
PIPELINE_CHECK_S = 30.0
"""How often (at most) the scheduler looks for due pipeline schedules between monitor rounds."""


@dataclass
class ScheduledOutcome:
    """The last monitoring run of one deployment."""

    deployment: str
    at: datetime
    ok: bool
    report_id: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "deployment": self.deployment,
            "at": self.at.isoformat(),
            "ok": self.ok,
            "report_id": self.report_id,
            "detail": self.detail,
        }


@dataclass
class SchedulerStatus:
    """What the scheduler is doing, for the platform server and its UI."""

    interval_s: float
    window: str
    paused: bool
    runs: int
    last: dict[str, ScheduledOutcome] = field(default_factory=dict)
    compliance: ScheduledOutcome | None = None
    """The last reassessment of stale compliance assessments."""
    pipeline_runs: dict[str, ScheduledPipelineRun] = field(default_factory=dict)
    """The last scheduled run of each pipeline schedule since the server started."""
    check_s: float = PIPELINE_CHECK_S

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "interval_s": self.interval_s,
            "window": self.window,
            "paused": self.paused,
            "runs": self.runs,
            "last": {name: outcome.as_dict() for name, outcome in sorted(self.last.items())},
            "compliance": None if self.compliance is None else self.compliance.as_dict(),
            "check_s": self.check_s,
            "pipeline_runs": {
                name: run.as_dict() for name, run in sorted(self.pipeline_runs.items())
            },
        }


class MonitorScheduler:
    """Runs the monitoring job of every serving deployment every ``interval_s`` seconds, and
    every due pipeline schedule, looked for every ``min(check_s, interval_s)`` seconds."""

    def __init__(
        self,
        settings: Settings,
        *,
        interval_s: float,
        window: str,
        check_s: float = PIPELINE_CHECK_S,
    ) -> None:
        self.settings = settings
        self.interval_s = interval_s
        self.window = window
        self.check_s = check_s
        self._pipeline_runs: dict[str, ScheduledPipelineRun] = {}
        self._paused = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs = 0
        self._last: dict[str, ScheduledOutcome] = {}
        self._compliance: ScheduledOutcome | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the schedule on a daemon thread (the first round after one interval)."""
        self._thread = threading.Thread(target=self._loop, name="iml4e-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the run in progress (waits up to ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def pause(self) -> None:
        """Skip rounds until :meth:`resume`."""
        self._paused.set()

    def resume(self) -> None:
        """Run rounds again."""
        self._paused.clear()

    def status(self) -> SchedulerStatus:
        """The schedule and the last outcome per deployment."""
        with self._lock:
            return SchedulerStatus(
                interval_s=self.interval_s,
                window=self.window,
                paused=self._paused.is_set(),
                runs=self._runs,
                last=dict(self._last),
                compliance=self._compliance,
                pipeline_runs=dict(self._pipeline_runs),
                check_s=self.check_s,
            )

    def run_round(self) -> list[ScheduledOutcome]:
        """Monitor every deployment recorded ``serving`` or ``paused`` once, now."""
        with open_store(self.settings) as store:
            names = [d.name for d in list_deployments(store) if d.state in ("serving", "paused")]
        outcomes = [self._run_one(name) for name in names if not self._stop.is_set()]
        compliance = None if self._stop.is_set() else self._reassess()
        with self._lock:
            self._runs += 1
            self._last.update({outcome.deployment: outcome for outcome in outcomes})
            self._compliance = compliance or self._compliance
        return outcomes

    def run_pipeline_schedules(self, now: datetime | None = None) -> list[ScheduledPipelineRun]:
        """Run every due, unpaused pipeline schedule once, now (each in its own process)."""
        from iml4e.pipelines.scheduled_runs import run_due_schedules

        runs = run_due_schedules(self.settings, now=now, should_stop=self._stop.is_set)
        with self._lock:
            self._pipeline_runs.update({run.schedule: run for run in runs})
        return runs

    def _loop(self) -> None:
        next_round = time.monotonic() + self.interval_s
        while not self._stop.wait(max(0.0, min(self.check_s, next_round - time.monotonic()))):
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + self.interval_s
                if not self._paused.is_set():
                    self._guarded("monitoring round", self.run_round)
            if not self._paused.is_set() and not self._stop.is_set():
                self._guarded("pipeline schedules", self.run_pipeline_schedules)

    @staticmethod
    def _guarded(what: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # the store is unreachable: try again at the next check
            print(f"iml4e up: {what} failed: {exc}", file=sys.stderr, flush=True)

    def _run_one(self, deployment: str) -> ScheduledOutcome:
        run = run_iml4e(
            self.settings, deployment, ["monitor", "run", deployment, "--window", self.window]
        )
        if run.failed is not None:
            return run.failed
        report = run.printed if isinstance(run.printed, dict) else {}
        return ScheduledOutcome(
            deployment, run.at, True, report_id=report.get("report_id"), detail=f"{run.took:.1f}s"
        )

    def _reassess(self) -> ScheduledOutcome:
        run = run_iml4e(self.settings, "compliance", ["comply", "reassess"])
        if run.failed is not None:
            return run.failed
        fresh = run.printed if isinstance(run.printed, list) else []
        detail = f"{len(fresh)} stale assessments assessed again in {run.took:.1f}s"
        return ScheduledOutcome("compliance", run.at, True, detail=detail)


def running_scheduler(scheduler: MonitorScheduler | None) -> MonitorScheduler:
    """``scheduler``, or :class:`SchedulerNotRunning` when the server runs none."""
    if scheduler is None:
        raise SchedulerNotRunning(
            "this server runs no monitoring scheduler: it starts with `iml4e up` when "
            "monitor_interval_s is above 0",
            where="scheduler",
        )
    return scheduler


def pause_scheduler(
    scheduler: MonitorScheduler | None, store: Store, *, actor: str, paused: bool = True
) -> SchedulerStatus:
    """Pause (or, with ``paused=False``, resume) the scheduler's rounds, with an audit event
    ``scheduler.pause`` / ``scheduler.resume``."""
    running = running_scheduler(scheduler)
    if paused:
        running.pause()
    else:
        running.resume()
    record_audit(
        store,
        actor=actor,
        action="scheduler.pause" if paused else "scheduler.resume",
        target="scheduler:monitor",
        detail={"interval_s": running.interval_s, "window": running.window},
    )
    return running.status()


@dataclass(frozen=True)
class Iml4eRun:
    """One ``python -m iml4e … --json`` process: when it started, how long it took, the JSON it
    printed, or (``failed``) why it did not succeed."""

    at: datetime
    took: float = 0.0
    printed: object = None
    failed: ScheduledOutcome | None = None


def run_iml4e(
    settings: Settings, what: str, arguments: list[str], *, timeout: float = RUN_TIMEOUT_S
) -> Iml4eRun:
    """Run ``python -m iml4e ARGUMENTS --json`` in its own process; ``what`` names it in a
    failed outcome. Used for monitor runs, the reassessment and scheduled pipeline runs."""
    started = time.monotonic()
    at = datetime.now(UTC).replace(tzinfo=None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "iml4e", *arguments, "--json"],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=server_environment(settings),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Iml4eRun(at, failed=_failed(what, at, f"timed out after {timeout:.0f}s"))
    except OSError as exc:  # the interpreter could not be started
        return Iml4eRun(at, failed=_failed(what, at, str(exc)))
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return Iml4eRun(at, failed=_failed(what, at, reason))
    try:
        printed = json.loads(done.stdout)
    except ValueError:  # one deployment's odd output must not cost the round
        return Iml4eRun(at, failed=_failed(what, at, "the run printed no JSON report"))
    return Iml4eRun(at, took=time.monotonic() - started, printed=printed)


def _failed(what: str, at: datetime, detail: str) -> ScheduledOutcome:
    return ScheduledOutcome(what, at, False, detail=detail)
