"""One attempt of one step, as any executor runs it: load inputs, call, check, store outputs.

:func:`execute_step` is a plain function of a picklable :class:`StepTask`, so a thread, a Ray
worker or a container runs exactly the same code. It never raises for a failing step: the
traceback and the captured output come back in the :class:`StepOutcome`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from iml4e.config import Settings
from iml4e.pipelines.artifacts import ArtifactRef, artifact_store_for
from iml4e.pipelines.capture import capture_step_output
from iml4e.pipelines.context import _CURRENT, LinkRecord, StepContext
from iml4e.pipelines.dsl import SINGLE_OUTPUT, StepDefinition
from iml4e.pipelines.serializers import NotSerializable
from iml4e.pipelines.typechecks import describe, value_matches


@dataclass(frozen=True)
class StepTask:
    """Everything a worker needs to run one attempt of one step."""

    pipeline_run_id: str
    step: StepDefinition[Any, Any]
    inputs: dict[str, ArtifactRef]
    params: dict[str, Any]
    settings: Settings
    attempt: int = 1
    experiment_id: str | None = None
    parent_mlflow_run_id: str | None = None

    @property
    def name(self) -> str:
        return self.step.name


@dataclass
class StepOutcome:
    """What one attempt produced: output artifacts, or the error and its traceback."""

    outputs: dict[str, ArtifactRef] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    links: list[LinkRecord] = field(default_factory=list)
    logs: str = ""
    error: str | None = None
    traceback: str | None = None
    started_at: float = 0.0
    duration_s: float = 0.0
    mlflow_run_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class StepOutputError(Exception):
    """A step returned something that does not match its declared outputs."""


def execute_step(task: StepTask, values: MutableMapping[str, Any] | None = None) -> StepOutcome:
    """Run one attempt of ``task``'s step and store its outputs in the artifact root.

    ``values`` maps content hashes to objects already in memory (the local executor passes
    its own), so an in-process run never reloads what an earlier step just produced.
    """
    outcome = StepOutcome(started_at=time.time())
    context = StepContext(
        settings=task.settings,
        pipeline_run_id=task.pipeline_run_id,
        step_name=task.name,
        attempt=task.attempt,
        experiment_id=task.experiment_id,
        parent_mlflow_run_id=task.parent_mlflow_run_id,
    )
    token = _CURRENT.set(context)
    started = time.perf_counter()
    try:
        with capture_step_output() as log:
            try:
                outcome.outputs = _run(task, values)
            except Exception as exc:
                outcome.error = _one_line(exc)
                outcome.traceback = traceback.format_exc()
        outcome.logs = log.text()
    finally:
        _CURRENT.reset(token)
        context.close()
    outcome.duration_s = time.perf_counter() - started
    outcome.metrics, outcome.params, outcome.tags = context.metrics, context.params, context.tags
    outcome.links = context.links
    outcome.mlflow_run_id = context.created_mlflow_run_id
    return outcome


def _run(task: StepTask, values: MutableMapping[str, Any] | None) -> dict[str, ArtifactRef]:
    store = artifact_store_for(task.settings.artifact_location_uri)
    arguments = dict(task.params)
    for name, ref in task.inputs.items():
        if values is not None and ref.content_hash in values:
            arguments[name] = values[ref.content_hash]
        else:
            arguments[name] = store.load(ref)
    result = task.step.func(**arguments)
    outputs = _split_outputs(task.step, result)
    refs: dict[str, ArtifactRef] = {}
    for name, value in outputs.items():
        annotation = task.step.output_annotation(name)
        if not value_matches(value, annotation):
            label = "" if name == SINGLE_OUTPUT else f" as {name!r}"
            raise StepOutputError(
                f"returned {type(value).__name__}{label}, but the step declares "
                f"{describe(annotation)}"
            )
        try:
            ref = store.save(value, serializer=task.step.options.serializer)
        except NotSerializable as exc:
            raise StepOutputError(f"output {name!r} cannot be stored: {exc.message}") from None
        refs[name] = ref
        if values is not None:
            values[ref.content_hash] = value
    return refs


def _split_outputs(step: StepDefinition[Any, Any], result: Any) -> dict[str, Any]:
    names = list(step.outputs)
    if names == [SINGLE_OUTPUT]:
        return {SINGLE_OUTPUT: result}
    if not isinstance(result, tuple) or len(result) != len(names):
        raise StepOutputError(
            f"declares {len(names)} outputs ({', '.join(names)}) but returned "
            f"{type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, tuple) else "")
        )
    return dict(zip(names, result, strict=True))


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
