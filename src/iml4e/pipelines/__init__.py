"""The pipelines room: steps and pipelines as plain Python, cached, traced, run anywhere.

``@step`` and ``@pipeline`` define; :func:`run_pipeline` runs (locally or on Ray);
:func:`current_step` lets a running step log metrics and record lineage links.
"""

from iml4e.pipelines.context import StepContext, current_step
from iml4e.pipelines.dsl import PipelineDefinition, StepDefinition, StepOutput, pipeline, step
from iml4e.pipelines.errors import (
    CycleError,
    InvalidParameter,
    PipelineDefinitionError,
    PipelineError,
    PipelineNotFound,
    StepFailed,
    UnknownExecutor,
    UnknownRun,
)
from iml4e.pipelines.graph import PipelineGraph, StepNode
from iml4e.pipelines.loading import load_pipeline
from iml4e.pipelines.records import RunRecord, StepRecord, get_run, list_runs
from iml4e.pipelines.runner import PipelineRunResult, resume_pipeline, run_pipeline

__all__ = [
    "CycleError",
    "InvalidParameter",
    "PipelineDefinition",
    "PipelineDefinitionError",
    "PipelineError",
    "PipelineGraph",
    "PipelineNotFound",
    "PipelineRunResult",
    "RunRecord",
    "StepContext",
    "StepDefinition",
    "StepFailed",
    "StepNode",
    "StepOutput",
    "StepRecord",
    "UnknownExecutor",
    "UnknownRun",
    "current_step",
    "get_run",
    "list_runs",
    "load_pipeline",
    "pipeline",
    "resume_pipeline",
    "run_pipeline",
    "step",
]
