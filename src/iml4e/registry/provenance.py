"""Where a model version came from: the pipeline run, its steps and the dataset versions.

The lineage graph (:func:`iml4e.pipelines.lineage.trace_lineage`) knows it when a pipeline step
recorded the model (``current_step().record_model``); this module reads it for one version
and summarises what a person looks for first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from iml4e.registry.names import check_model_name
from iml4e.store import Store

if TYPE_CHECKING:
    from iml4e.pipelines.lineage import LineageGraph


@dataclass(frozen=True)
class LineageStep:
    """A step run on the way to the model version."""

    name: str
    step_run_id: int
    pipeline: str | None
    pipeline_run_id: str
    status: str
    code_hash: str | None


@dataclass(frozen=True)
class LineageDataset:
    """A dataset version the model version was made from, with its content hash."""

    name: str
    version: int
    content_hash: str
    rows: int | None


@dataclass(frozen=True)
class VersionLineage:
    """The pipeline runs, steps and dataset versions upstream of a model version."""

    pipeline_run_ids: tuple[str, ...]
    steps: tuple[LineageStep, ...]
    datasets: tuple[LineageDataset, ...]
    graph: LineageGraph

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, the whole upstream graph included."""
        return {
            "pipeline_run_ids": list(self.pipeline_run_ids),
            "steps": [asdict(step) for step in self.steps],
            "datasets": [asdict(dataset) for dataset in self.datasets],
            "graph": self.graph.as_dict(),
        }


def version_lineage(store: Store, name: str, version: str) -> VersionLineage | None:
    """The upstream lineage of ``name`` version ``version``; None when no step recorded it."""
    from iml4e.pipelines.lineage import UnknownLineageTarget, trace_lineage

    check_model_name(name)
    try:
        graph = trace_lineage(store, f"model:{name}@{version}", direction="upstream")
    except UnknownLineageTarget:
        return None
    steps = sorted(
        (
            LineageStep(
                name=node.details["name"],
                step_run_id=node.details["step_run_id"],
                pipeline=node.details.get("pipeline"),
                pipeline_run_id=node.details["pipeline_run_id"],
                status=node.details["status"],
                code_hash=node.details.get("code_hash"),
            )
            for node in graph.of_kind("step")
        ),
        key=lambda step: step.step_run_id,
    )
    datasets = sorted(
        (
            LineageDataset(
                name=node.details["name"],
                version=node.details["version"],
                content_hash=node.details["content_hash"],
                rows=node.details.get("rows"),
            )
            for node in graph.of_kind("dataset")
            if "content_hash" in node.details  # a catalog row that still exists
        ),
        key=lambda dataset: (dataset.name, dataset.version),
    )
    runs = tuple(dict.fromkeys(step.pipeline_run_id for step in steps))
    return VersionLineage(runs, tuple(steps), tuple(datasets), graph)
