"""Run a pipeline, resume a failed run, or run one step of a shared run (a KFP container).

These are the entry points; :mod:`iml4e.pipelines.scheduler` does the work of one run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from iml4e.config import Settings, load_settings
from iml4e.pipelines.artifacts import artifact_store_for
from iml4e.pipelines.dsl import SINGLE_OUTPUT, PipelineDefinition
from iml4e.pipelines.errors import PipelineDefinitionError
from iml4e.pipelines.executors import Executor, open_executor
from iml4e.pipelines.graph import PipelineGraph
from iml4e.pipelines.loading import load_pipeline
from iml4e.pipelines.records import (
    RunRecord,
    StepRecord,
    get_run,
)
from iml4e.pipelines.scheduler import OnEvent, Scheduler
from iml4e.store import open_store


@dataclass
class PipelineRunResult:
    """A finished run: its record (steps, statuses, timings, cache hits) and its outputs."""

    record: RunRecord
    settings: Settings = field(repr=False)
    experiment_id: str | None = None
    """The MLflow experiment, or ``None`` when nothing ran (a run answered from the cache)."""

    @property
    def run_id(self) -> str:
        return self.record.id

    @property
    def status(self) -> str:
        return self.record.status

    def step(self, name: str) -> StepRecord:
        """The record of step ``name``."""
        for record in self.record.steps:
            if record.name == name:
                return record
        raise KeyError(name)

    def output(self, step: str, name: str = SINGLE_OUTPUT) -> Any:
        """Load output ``name`` of step ``step`` from the artifact root."""
        ref = self.step(step).outputs[name]
        return artifact_store_for(self.settings.artifact_location_uri).load(ref)


def run_pipeline(
    pipeline: PipelineDefinition | str,
    params: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    executor: str | Executor | None = None,
    cache: bool = True,
    no_cache_steps: Iterable[str] = (),
    experiment: str | None = None,
    on_event: OnEvent | None = None,
) -> PipelineRunResult:
    """Run ``pipeline`` (a definition or ``module:attribute``) with ``params``.

    ``executor`` is a name/URI (``local``, ``local:4``, ``ray``, ``ray://…``; default from
    settings) or an open :class:`Executor`. ``cache=False`` runs every step;
    ``no_cache_steps`` runs just those. ``experiment`` overrides the MLflow experiment the
    run is logged to (default: the pipeline's). Raises :class:`PipelineDefinitionError` or
    :class:`InvalidParameter` before anything is recorded, :class:`StepFailed` after
    recording a failed run.
    """
    definition = load_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    graph = definition.build(params)
    if experiment:
        graph = replace(graph, experiment=experiment)
    unknown = sorted(set(no_cache_steps) - set(graph.nodes))
    if unknown:
        raise PipelineDefinitionError(
            f"--no-cache names a step the pipeline does not have ({', '.join(graph.nodes)})",
            where=unknown[0],
        )
    return _run_graph(
        graph,
        settings=settings or load_settings().settings,
        executor=executor,
        cache=cache,
        no_cache_steps=frozenset(no_cache_steps),
        on_event=on_event,
        resume_from=None,
    )


def resume_pipeline(
    run_id: str,
    *,
    settings: Settings | None = None,
    executor: str | Executor | None = None,
    on_event: OnEvent | None = None,
) -> PipelineRunResult:
    """Run a failed run again as a new run, reusing every step that succeeded in it.

    A step is reused when it succeeded (or was cached) in the old run with the same cache key,
    so a step whose code was fixed since runs again, and so does everything below it.
    """
    settings = settings or load_settings().settings
    store = open_store(settings)
    try:
        old = get_run(store, run_id)
    finally:
        store.close()
    if old.pipeline_ref is None:
        raise PipelineDefinitionError("this run was not made by a @pipeline", where=old.id)
    definition = load_pipeline(old.pipeline_ref)
    graph = definition.build(old.params)
    if old.options.get("experiment"):
        graph = replace(graph, experiment=old.options["experiment"])
    return _run_graph(
        graph,
        settings=settings,
        executor=executor,
        cache=bool(old.options.get("cache", True)),
        no_cache_steps=frozenset(old.options.get("no_cache_steps", [])),
        on_event=on_event,
        resume_from=old,
    )


def run_step_in_run(
    pipeline: PipelineDefinition | str,
    step_name: str,
    run_id: str,
    params: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    cache: bool = True,
    retries: bool = True,
    on_event: OnEvent | None = None,
) -> PipelineRunResult:
    """Run one step of ``pipeline`` as part of run ``run_id`` (how a KFP container runs it).

    ``run_id`` is shared by every step of one run (a KFP job id; a UUID's dashes are
    dropped). Upstream steps must have finished in the same run. ``retries=False`` runs the
    step once whatever its options say (when the orchestrator retries the container).
    """

    definition = load_pipeline(pipeline) if isinstance(pipeline, str) else pipeline
    graph = definition.build(params)
    if step_name not in graph.nodes:
        raise PipelineDefinitionError(
            f"the pipeline has no such step (steps: {', '.join(graph.nodes)})", where=step_name
        )
    if not retries:
        node = graph.nodes[step_name]
        single = replace(node, step=node.step.with_options(retries=0))
        graph = replace(graph, nodes={**graph.nodes, step_name: single})
    return _run_graph(
        graph,
        settings=settings or load_settings().settings,
        executor="local:1",
        cache=cache,
        no_cache_steps=frozenset(),
        on_event=on_event,
        resume_from=None,
        only_step=step_name,
        run_id=normalize_run_id(run_id),
    )


def normalize_run_id(run_id: str) -> str:
    """A run id as stored: a UUID loses its dashes; otherwise ≤ 32 letters, digits, ``_-``."""
    text = run_id.strip()
    try:
        return uuid.UUID(text).hex
    except ValueError:
        pass
    if not text or len(text) > 32 or not text.replace("-", "").replace("_", "").isalnum():
        raise PipelineDefinitionError(
            "a run id is a UUID or up to 32 letters, digits, '-' and '_'", where=run_id
        )
    return text


def _run_graph(
    graph: PipelineGraph,
    *,
    settings: Settings,
    executor: str | Executor | None,
    cache: bool,
    no_cache_steps: frozenset[str],
    on_event: OnEvent | None,
    resume_from: RunRecord | None,
    only_step: str | None = None,
    run_id: str | None = None,
) -> PipelineRunResult:
    from iml4e.platform import initialize

    initialize(settings)
    owned = executor is None or isinstance(executor, str)
    engine = open_executor(executor, settings) if owned else executor  # type: ignore[arg-type]
    try:
        store = open_store(settings)
    except BaseException:
        if owned:
            engine.close()
        raise
    try:
        scheduler = Scheduler(
            graph,
            settings=settings,
            store=store,
            executor=engine,
            cache=cache,
            no_cache_steps=no_cache_steps,
            on_event=on_event or (lambda step, status, detail: None),
            resume_from=resume_from,
            run_id=run_id,
        )
        if only_step is None:
            scheduler.run()
        else:
            scheduler.run_one(only_step)
        return PipelineRunResult(
            get_run(store, scheduler.run_id), settings, scheduler.tracker.experiment_id
        )
    finally:
        if owned:
            engine.close()
        store.close()
