"""The scheduler of one pipeline run: what runs when, from the cache, retried or timed out.

Executors only run attempts; the scheduler checks the cache, submits ready steps
(independent branches at once), retries with backoff, enforces timeouts, records outputs and
lineage, and hands the MLflow writes to the run's tracker. A failed step fails the run
(recorded, with its traceback and output), steps already running finish, steps below it are
recorded as skipped, and :class:`StepFailed` is raised.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from iml4e.config import Settings
from iml4e.pipelines.artifacts import ArtifactRef, artifact_store_for
from iml4e.pipelines.caching import cache_key
from iml4e.pipelines.errors import PipelineDefinitionError, StepFailed
from iml4e.pipelines.execute import StepOutcome, StepTask
from iml4e.pipelines.executors import Executor
from iml4e.pipelines.graph import PipelineGraph, StepNode
from iml4e.pipelines.records import (
    FINISHED_OK,
    RunDescription,
    RunRecord,
    RunRecorder,
    StepRecord,
    find_cached_step,
    finished_steps,
)
from iml4e.pipelines.run_tracking import RunTracker
from iml4e.store import Store

CLOCK_POLL_S = 0.05
"""How often to look whether an attempt with a timeout has started running."""

OnEvent = Callable[[str, str, str], None]
"""``on_event(step, status, detail)``: progress for a command line or a log."""


@dataclass
class _Attempt:
    node: StepNode
    step_id: int
    inputs: dict[str, ArtifactRef]
    attempt: int
    started: float
    deadline: float | None


class Scheduler:
    """Runs one pipeline graph (or one step of it) and records everything it does."""

    def __init__(
        self,
        graph: PipelineGraph,
        *,
        settings: Settings,
        store: Store,
        executor: Executor,
        cache: bool,
        no_cache_steps: frozenset[str],
        on_event: OnEvent,
        resume_from: RunRecord | None,
        run_id: str | None = None,
    ) -> None:
        self.graph = graph
        self.settings = settings
        self.store = store
        self.executor = executor
        self.cache = cache
        self.no_cache_steps = no_cache_steps
        self.on_event = on_event
        self.resume_from = resume_from
        self.recorder = RunRecorder(store)
        self.run_id = run_id or uuid.uuid4().hex
        self.executor_name = getattr(executor, "spec", executor.name)
        self.tracker = RunTracker(
            settings,
            store,
            graph.experiment,
            run_name=f"{graph.name}-{self.run_id[:8]}",
            tags={
                "iml4e.pipeline": graph.name,
                "iml4e.pipeline_run": self.run_id,
                "iml4e.pipeline_ref": graph.ref,
                "iml4e.executor": self.executor_name,
            },
            params=graph.params,
        )
        self.outputs: dict[str, dict[str, ArtifactRef]] = {}
        self.done: set[str] = set()
        self.running: dict[Future[StepOutcome], _Attempt] = {}
        self.retry_at: list[tuple[float, _Attempt]] = []
        self.failure: StepFailed | None = None

    # --- the loop ---------------------------------------------------------------------------

    def _description(self) -> RunDescription:
        return RunDescription(
            pipeline=self.graph.name,
            pipeline_ref=self.graph.ref,
            params=self.graph.params,
            executor=self.executor_name,
            options={
                "cache": self.cache,
                "no_cache_steps": sorted(self.no_cache_steps),
                "experiment": self.graph.experiment,
            },
            resumed_from=self.resume_from.id if self.resume_from else None,
        )

    def run(self) -> None:
        order = self.graph.order()
        self.recorder.start_run(self.run_id, self._description())
        status, error = "failed", None
        try:
            pending = list(order)
            while True:
                if self.failure is None:
                    pending = self._start_ready(pending)
                if not self.running and not self.retry_at:
                    break
                self._wait_and_collect()
            if self.failure is None:
                status = "succeeded"
            else:
                error = str(self.failure)
                self.recorder.record_skipped_steps(self.run_id, pending)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}".strip()
            self._abandon_running(error)
            raise
        finally:
            self.recorder.finish_run(self.run_id, status, error)
            self.tracker.finish(status)
            try:
                self.tracker.close()
            finally:
                self.recorder.set_step_mlflow_runs(self.tracker.step_runs)
        if self.failure is not None:
            raise self.failure

    def run_one(self, name: str) -> None:
        """Run just step ``name`` inside run ``self.run_id`` (one container of a KFP run).

        The run is created by whichever step gets there first; upstream outputs are those
        recorded under the same run id. The run is marked succeeded once every step is.
        """
        node = self.graph.nodes[name]
        parent = self.recorder.ensure_run(self.run_id, self._description(), self.tracker.start)
        if parent is not None:
            self.tracker.start(parent)
        finished = finished_steps(self.store, self.run_id)
        for upstream in sorted(node.upstream):
            if upstream not in finished:
                raise PipelineDefinitionError(
                    f"upstream step {upstream!r} has not finished in run {self.run_id}",
                    where=name,
                )
            self.outputs[upstream] = dict(finished[upstream].outputs)
            self.done.add(upstream)
        try:
            self._start_ready([name])
            while self.running or self.retry_at:
                self._wait_and_collect()
        except BaseException as exc:
            self._abandon_running(f"{type(exc).__name__}: {exc}".strip())
            self.recorder.finish_run(self.run_id, "failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if self.failure is not None:
                self.tracker.finish("failed")
            elif set(finished_steps(self.store, self.run_id)) >= set(self.graph.nodes):
                self.tracker.finish("succeeded")
            try:
                self.tracker.close()
            finally:
                self.recorder.set_step_mlflow_runs(self.tracker.step_runs)
        if self.failure is not None:
            self.recorder.finish_run(self.run_id, "failed", str(self.failure))
            raise self.failure
        if set(finished_steps(self.store, self.run_id)) >= set(self.graph.nodes):
            self.recorder.finish_run(self.run_id, "succeeded")

    def _start_ready(self, pending: list[str]) -> list[str]:
        """Start every pending step whose inputs are ready (in order); return the rest."""
        waiting: list[str] = []
        for name in pending:
            node = self.graph.nodes[name]
            if self.failure is None and node.upstream <= self.done:
                self._start(node)
            else:
                waiting.append(name)
        return waiting

    def _start(self, node: StepNode) -> None:
        inputs = {arg: self.outputs[out.step][out.name] for arg, out in node.inputs.items()}
        key = cache_key(node.step, node.params, inputs)
        reused = self._reusable(node, key)
        if reused is not None:
            status, source = reused
            step_id = self.recorder.record_reused_step(
                self.run_id,
                name=node.name,
                status=status,
                source=source,
                step_ref=node.step.ref,
                code_hash=node.step.code_hash,
                params=node.params,
                inputs=inputs,
            )
            now = time.time()
            self.tracker.step_finished(
                step_id,
                name=node.name,
                status=status,
                started_at=now,
                finished_at=now,
                params=node.params,
                metrics={},
                tags={
                    "iml4e.step": node.name,
                    "iml4e.cached_from": str(source.cached_from or source.id),
                },
            )
            self.outputs[node.name] = dict(source.outputs)
            self.done.add(node.name)
            self.on_event(node.name, status, f"from step run {source.cached_from or source.id}")
            return
        step_id = self.recorder.start_step(
            self.run_id,
            name=node.name,
            step_ref=node.step.ref,
            code_hash=node.step.code_hash,
            cache_key=key,
            params=node.params,
            inputs=inputs,
        )
        self._submit(_Attempt(node, step_id, inputs, 1, 0.0, None))
        self.on_event(node.name, "running", "")

    def _reusable(self, node: StepNode, key: str) -> tuple[str, StepRecord] | None:
        artifacts = artifact_store_for(self.settings.artifact_location_uri)
        if self.resume_from is not None:
            for old in self.resume_from.steps:
                matches = old.name == node.name and old.cache_key == key
                if matches and old.status in FINISHED_OK and _all_exist(artifacts, old):
                    return "reused", old
        if not (self.cache and node.step.options.cache) or node.name in self.no_cache_steps:
            return None
        found = find_cached_step(self.store, key)
        if found is None or set(found.outputs) != set(node.step.outputs):
            return None
        if not _all_exist(artifacts, found):
            return None
        return "cached", found

    def _ensure_tracking(self) -> None:
        """Start the MLflow parent run when the first step is about to really run."""
        if not self.tracker.started:
            parent = self.tracker.start()
            self.recorder.set_mlflow_run(self.run_id, parent)

    def _submit(self, attempt: _Attempt) -> None:
        self._ensure_tracking()
        task = StepTask(
            pipeline_run_id=self.run_id,
            step=attempt.node.step,
            inputs=attempt.inputs,
            params=dict(attempt.node.params),
            settings=self.settings,
            attempt=attempt.attempt,
            experiment_id=self.tracker.experiment_id,
            parent_mlflow_run_id=self.tracker.parent_run_id,
        )
        attempt.started = time.monotonic()
        attempt.deadline = None
        future = self.executor.submit(task)
        self.running[future] = attempt
        if not getattr(self.executor, "reports_running", False):
            self._start_clock(attempt, attempt.started)

    def _start_clock(self, attempt: _Attempt, now: float) -> None:
        """The timeout counts from when the attempt starts running, not while it waits.

        Executors whose futures say when they start (``reports_running``, like the local
        one) start the clock then; for the others (Ray) it counts from submission, so it also
        covers waiting for a worker.
        """
        timeout = attempt.node.step.options.timeout_s
        if timeout and attempt.deadline is None:
            attempt.deadline = now + timeout

    def _watch_clocks(self, now: float) -> bool:
        """Start the clocks of attempts that began running; whether any is still waiting."""
        waiting = False
        for future, attempt in self.running.items():
            if attempt.deadline is None and attempt.node.step.options.timeout_s:
                if future.running() or future.done():
                    self._start_clock(attempt, now)
                else:
                    waiting = True
        return waiting

    def _wait_and_collect(self) -> None:
        now = time.monotonic()
        due = [item for item in self.retry_at if item[0] <= now]
        for item in due:
            self.retry_at.remove(item)
            self._submit(item[1])
        if due:
            return
        clocks_waiting = self._watch_clocks(now)
        wakeups = [when for when, _ in self.retry_at]
        wakeups += [a.deadline for a in self.running.values() if a.deadline is not None]
        if clocks_waiting:
            wakeups.append(now + CLOCK_POLL_S)
        timeout = max(0.0, min(wakeups) - now) if wakeups else None
        finished, _ = wait(list(self.running), timeout=timeout, return_when=FIRST_COMPLETED)
        for future in finished:
            attempt = self.running.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the executor itself failed (e.g. a Ray worker died)
                outcome = StepOutcome(
                    error=f"{type(exc).__name__}: {exc}".strip(),
                    traceback=None,
                    duration_s=time.monotonic() - attempt.started,
                    started_at=time.time() - (time.monotonic() - attempt.started),
                )
            self._collect(attempt, outcome)
        now = time.monotonic()
        for future, attempt in list(self.running.items()):
            if attempt.deadline is not None and now >= attempt.deadline:
                del self.running[future]
                self.executor.abandon(future)
                limit = attempt.node.step.options.timeout_s
                self._collect(
                    attempt,
                    StepOutcome(
                        error=f"TimeoutError: the attempt ran longer than {limit:g} s",
                        duration_s=now - attempt.started,
                        started_at=time.time() - (now - attempt.started),
                    ),
                )

    def _collect(self, attempt: _Attempt, outcome: StepOutcome) -> None:
        node, options = attempt.node, attempt.node.step.options
        if outcome.succeeded:
            self.recorder.finish_step(
                attempt.step_id,
                status="succeeded",
                duration_s=outcome.duration_s,
                attempts=attempt.attempt,
                outputs=outcome.outputs,
                links=outcome.links,
                logs=outcome.logs,
            )
            self._track(node, attempt, outcome, "succeeded")
            self.outputs[node.name] = outcome.outputs
            self.done.add(node.name)
            self.on_event(node.name, "succeeded", f"{outcome.duration_s:.3f} s")
            return
        if attempt.attempt <= options.retries:
            delay = options.retry_backoff_s * 2 ** (attempt.attempt - 1)
            self.recorder.retrying_step(attempt.step_id, attempt.attempt + 1, outcome.error or "")
            self.on_event(node.name, "retrying", f"{outcome.error} (again in {delay:g} s)")
            retry = _Attempt(node, attempt.step_id, attempt.inputs, attempt.attempt + 1, 0.0, None)
            self.retry_at.append((time.monotonic() + delay, retry))
            return
        details = outcome.traceback or outcome.error
        self.recorder.finish_step(
            attempt.step_id,
            status="failed",
            duration_s=outcome.duration_s,
            attempts=attempt.attempt,
            error=details,
            logs=outcome.logs,
        )
        self._track(node, attempt, outcome, "failed")
        self.on_event(node.name, "failed", outcome.error or "")
        if self.failure is None:
            tries = f" after {attempt.attempt} attempts" if attempt.attempt > 1 else ""
            self.failure = StepFailed(
                f"{outcome.error}{tries} (run {self.run_id[:12]}: "
                f"`iml4e pipeline show {self.run_id[:12]}` has the traceback, "
                f"`iml4e pipeline resume {self.run_id[:12]}` continues from here)",
                step=node.name,
                run_id=self.run_id,
            )

    def _track(self, node: StepNode, attempt: _Attempt, outcome: StepOutcome, status: str) -> None:
        tags = {"iml4e.step": node.name, "iml4e.step_ref": node.step.ref, **outcome.tags}
        for name, ref in attempt.inputs.items():
            tags[f"iml4e.input.{name}"] = ref.content_hash
        for name, ref in outcome.outputs.items():
            tags[f"iml4e.output.{name}"] = ref.content_hash
        self.tracker.step_finished(
            attempt.step_id,
            name=node.name,
            status=status,
            started_at=outcome.started_at or time.time() - outcome.duration_s,
            finished_at=(outcome.started_at or time.time()) + outcome.duration_s,
            params={**node.params, **outcome.params},
            metrics=outcome.metrics,
            tags=tags,
            existing_run_id=outcome.mlflow_run_id,
        )

    def _abandon_running(self, reason: str) -> None:
        for future, attempt in list(self.running.items()):
            self.executor.abandon(future)
            self.recorder.finish_step(
                attempt.step_id,
                status="failed",
                duration_s=time.monotonic() - attempt.started,
                attempts=attempt.attempt,
                error=reason,
            )
        self.running.clear()


def _all_exist(artifacts: Any, record: StepRecord) -> bool:
    return all(artifacts.exists(ref) for ref in record.outputs.values())
