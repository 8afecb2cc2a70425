"""Each pipeline run as an MLflow parent run with one nested run per step.

MLflow's SQL store takes several milliseconds per call, so step runs are written by one
background thread while the pipeline goes on: a step never waits for MLflow. The thread
writes when the pipeline has been quiet for a moment (no step finished for ``QUIET_S``), so
with long steps the writes overlap them, and a burst of short steps is not slowed by a thread
competing for the interpreter lock; whatever is left is written at the end. Every step run
costs at most three calls (create with its tags, one ``log_batch``, terminate); nothing is
logged one value at a time. :meth:`RunTracker.close` waits for the writes and reports the
first error MLflow raised.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from iml4e.tracking import log_run_data
from iml4e.tracking.client import TrackingError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.config import Settings
    from iml4e.store import Store

MAX_PARAM_CHARS = 6000  # MLflow's limit on one parameter value
QUIET_S = 0.05
MLFLOW_STATUS = {"succeeded": "FINISHED", "cached": "FINISHED", "reused": "FINISHED"}


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 1] + "…"


class RunTracker:
    """Writes one pipeline run to MLflow: a parent run, then one nested run per step.

    MLflow is connected only when a step is about to run (:meth:`start`): a run answered
    entirely from the cache is kept in iml4e's store but not logged to MLflow again, which
    already holds the runs that computed those results (and importing MLflow alone takes
    about two seconds).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        experiment: str,
        *,
        run_name: str,
        tags: Mapping[str, str],
        params: Mapping[str, Any],
    ) -> None:
        self.settings = settings
        self.store = store
        self.experiment = experiment
        self.run_name = run_name
        self.tags = dict(tags)
        self.params = {key: _param_value(value) for key, value in params.items()}
        self.client: MlflowClient | None = None
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.step_runs: dict[int, str] = {}
        self.metrics: dict[str, float] = {}
        self._held: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._errors: list[BaseException] = []
        self._last_queued = time.monotonic()
        self._closing = False
        self._thread = threading.Thread(target=self._write, name="iml4e-mlflow", daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self.parent_run_id is not None

    def _put(self, job: Callable[[], None]) -> None:
        with self._lock:
            if not self.started:
                self._held.append(job)
                return
        self._last_queued = time.monotonic()
        self._queue.put(job)

    def _write(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            while not self._closing and time.monotonic() - self._last_queued < QUIET_S:
                time.sleep(QUIET_S / 5)
            if self._errors:
                continue  # MLflow already failed: report the first error, not a cascade
            try:
                job()
            except BaseException as exc:
                self._errors.append(exc)

    def start(self, parent_run_id: str | None = None) -> str:
        """Connect to MLflow and create the parent run (or adopt ``parent_run_id``); once."""
        with self._lock:
            if self.parent_run_id is not None:
                return self.parent_run_id
            from iml4e.tracking import connect_tracking, ensure_experiment

            try:
                self.client = connect_tracking(self.settings, self.store)
                self.experiment_id = ensure_experiment(self.client, self.settings, self.experiment)
                if parent_run_id is None:
                    run = self.client.create_run(
                        self.experiment_id, run_name=self.run_name, tags=self.tags
                    )
                    parent_run_id = run.info.run_id
                    if self.params:
                        params = dict(self.params)
                        self._held.insert(
                            0, lambda: log_run_data(self._mlflow, parent, params=params)
                        )
            except TrackingError:
                raise
            except Exception as exc:
                raise TrackingError(f"cannot start the MLflow run ({exc})") from None
            parent = parent_run_id
            self.parent_run_id = parent
            held, self._held = self._held, []
        for job in held:
            self._put(job)
        return parent

    @property
    def _mlflow(self) -> MlflowClient:
        if self.client is None:
            raise TrackingError("MLflow was not started for this run")
        return self.client

    def step_finished(
        self,
        step_id: int,
        *,
        name: str,
        status: str,
        started_at: float,
        finished_at: float,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str],
        existing_run_id: str | None = None,
    ) -> None:
        """Queue the nested run of a finished step (or finish the one the step created)."""
        self.metrics.update(metrics)
        values = {key: _param_value(value) for key, value in params.items()}

        def write() -> None:
            client = self._mlflow
            all_tags = {"mlflow.parentRunId": self.parent_run_id or "", **tags}
            run_id = existing_run_id
            if run_id is None:
                run = client.create_run(
                    self.experiment_id or "0",
                    start_time=int(started_at * 1000),
                    tags=all_tags,
                    run_name=name,
                )
                run_id = run.info.run_id
                if values or metrics:
                    log_run_data(client, run_id, params=values, metrics=metrics)
            else:
                log_run_data(client, run_id, params=values, metrics=metrics, tags=all_tags)
            client.set_terminated(
                run_id, MLFLOW_STATUS.get(status, "FAILED"), end_time=int(finished_at * 1000)
            )
            self.step_runs[step_id] = run_id

        self._put(write)

    def finish(self, status: str) -> None:
        """Queue the parent's metrics (the steps' last values) and its end status."""
        parent = self.parent_run_id
        if parent is None:
            return  # nothing ran: the run was answered from the cache and is not logged
        metrics = dict(self.metrics)

        def write() -> None:
            if metrics:
                log_run_data(self._mlflow, parent, metrics=metrics)
            self._mlflow.set_terminated(
                parent, MLFLOW_STATUS.get(status, "FAILED"), end_time=int(time.time() * 1000)
            )

        self._put(write)

    def close(self) -> None:
        """Wait for every queued write; raise :class:`TrackingError` if one failed."""
        self._closing = True
        self._held.clear()
        self._queue.put(None)
        self._thread.join()
        if self._errors:
            raise TrackingError(f"MLflow refused a write ({self._errors[0]})")
