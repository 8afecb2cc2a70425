"""What the pipeline-run and model pages show, read from the rooms' Python APIs (no HTML here).

Pipeline runs come from :mod:`iml4e.pipelines.records`, a run's DAG is drawn from the
artifacts its steps passed to each other, model versions, approvals and alias moves from the
registry room, a version's lineage from :func:`iml4e.registry.version_lineage`, and its
compliance status from the newest assessment of each AI system that uses the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from iml4e.server.ui_graph import GraphEdge, GraphNode, graph_svg
from iml4e.store import Store

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.pipelines.lineage import LineageGraph
    from iml4e.pipelines.records import RunRecord
    from iml4e.registry.events import RegistryChange

RUNS_PER_PAGE = 50
ALIAS_KINDS = ("alias_set", "alias_removed", "promoted", "rejected", "rolled_back")


@dataclass(frozen=True)
class RunRow:
    """A pipeline run in the list of runs."""

    id: str
    pipeline: str
    status: str
    started_at: datetime
    duration_s: float | None
    steps: int
    cache_hits: int


@dataclass(frozen=True)
class VersionRow:
    """A model version in the versions table."""

    version: str
    created_at: datetime | None
    registrant: str | None
    metrics: dict[str, float]
    approvers: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class AliasMove:
    """One change of where an alias points (or a refused promotion)."""

    at: datetime | None
    alias: str
    kind: str
    version: str | None
    previous_version: str | None
    actor: str


@dataclass(frozen=True)
class ComplianceRow:
    """The newest assessment of one version within one AI system (None: not assessed)."""

    system: str
    tier: str
    assessment_id: int | None = None
    assessed_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    blocking: tuple[str, ...] = ()
    stale_reasons: tuple[str, ...] = ()


# --- pipeline runs --------------------------------------------------------------------------


def pipeline_runs_page(store: Store, page: int) -> dict[str, Any]:
    """One page of runs, newest first; only that page's runs (and one more) are read."""
    from iml4e.pipelines.records import list_runs

    page = max(page, 1)
    runs = list_runs(store, limit=RUNS_PER_PAGE + 1, offset=(page - 1) * RUNS_PER_PAGE)
    rows = [
        RunRow(
            id=run.id,
            pipeline=run.pipeline,
            status=run.status,
            started_at=run.started_at,
            duration_s=run.duration_s,
            steps=len(run.steps),
            cache_hits=run.cache_hits,
        )
        for run in runs[:RUNS_PER_PAGE]
    ]
    return {
        "runs": rows,
        "page": page,
        "has_previous": page > 1,
        "has_next": len(runs) > RUNS_PER_PAGE,
    }


def run_graph(run: RunRecord) -> tuple[list[GraphNode], list[GraphEdge]]:
    """The run's DAG: a node per step, an edge where a step read what an earlier one wrote."""
    nodes = [
        GraphNode(
            id=f"step:{step.id}",
            label=step.name,
            status=step.status,
            kind="step",
            title=f"{step.name}: {step.status}"
            + (f" (from step run {step.cached_from})" if step.cached_from else "")
            + (f" — {step.error.splitlines()[0]}" if step.error else ""),
            href=f"#step-{step.id}",
        )
        for step in run.steps
    ]
    writers: dict[str, list[int]] = {}
    for step in run.steps:
        for ref in step.outputs.values():
            writers.setdefault(ref.content_hash, []).append(step.id)
    edges: dict[GraphEdge, None] = {}
    for step in run.steps:
        for ref in step.inputs.values():
            for writer in writers.get(ref.content_hash, []):
                if writer < step.id:  # a producer starts before its consumer
                    edges[GraphEdge(f"step:{writer}", f"step:{step.id}")] = None
    return nodes, list(edges)


def pipeline_run_page(store: Store, client: MlflowClient | None, run_id: str) -> dict[str, Any]:
    """One run: its record, the DAG as SVG, and the MLflow experiment of its tracking run."""
    from iml4e.pipelines.records import get_run

    run = get_run(store, run_id)
    nodes, edges = run_graph(run)
    return {
        "run": run,
        "dag": graph_svg(nodes, edges, label=f"Steps of pipeline run {run.id}", id_prefix="dag"),
        "experiment_id": _experiment_of(client, run.mlflow_run_id),
    }


def _experiment_of(client: MlflowClient | None, mlflow_run_id: str | None) -> str | None:
    """The experiment id of an MLflow run (None when MLflow does not know it)."""
    if client is None or not mlflow_run_id:
        return None
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_run(mlflow_run_id).info.experiment_id)
    except MlflowException:
        return None


# --- models ---------------------------------------------------------------------------------


def models_page(client: MlflowClient) -> dict[str, Any]:
    """Every registered model with its aliases and newest version."""
    from iml4e.registry import list_models

    return {"models": list_models(client)}


def model_page(client: MlflowClient, store: Store, name: str) -> dict[str, Any]:
    """A model's versions (who registered and approved each), its aliases and their history."""
    from iml4e.registry import model_versions, registry_events

    details = model_versions(client, store, name)
    events = registry_events(store, name)
    registered = {e.model_version: e for e in events if e.kind == "registered"}
    approvals: dict[str | None, dict[str, None]] = {}
    for event in events:
        if event.kind == "approved":
            approvals.setdefault(event.model_version, {})[event.actor] = None
    versions = [
        VersionRow(
            version=detail.version,
            created_at=registered[detail.version].created_at
            if detail.version in registered
            else None,
            registrant=registered[detail.version].actor if detail.version in registered else None,
            metrics=detail.metrics,
            approvers=tuple(approvals.get(detail.version, {})),
            aliases=detail.aliases,
        )
        for detail in reversed(details)
    ]
    aliases = {alias: d.version for d in details for alias in d.aliases}
    return {
        "name": name,
        "versions": versions,
        "aliases": dict(sorted(aliases.items())),
        "metric_names": sorted({m for row in versions for m in row.metrics}),
        "history": alias_moves(events),
    }


def alias_moves(events: list[RegistryChange]) -> list[AliasMove]:
    """The events that touched an alias, newest first."""
    return [
        AliasMove(
            at=event.created_at,
            alias=event.alias or "",
            kind=event.kind,
            version=event.model_version,
            previous_version=event.previous_version,
            actor=event.actor,
        )
        for event in reversed(events)
        if event.alias is not None and event.kind in ALIAS_KINDS
    ]


def version_page(
    client: MlflowClient, store: Store, name: str, version: str, *, runs_at: str
) -> dict[str, Any]:
    """One version: metrics, approvals, lineage graph (SVG) and compliance per AI system.

    A step of the graph links to its pipeline run's page, ``runs_at`` + the run id.
    """
    from iml4e.registry import model_version, registry_events, version_lineage

    detail = model_version(client, store, name, version)
    events = registry_events(store, name, version=detail.version)
    lineage = version_lineage(store, name, detail.version)
    return {
        "name": name,
        "detail": detail,
        "registered": next((e for e in events if e.kind == "registered"), None),
        "approvals": [e for e in events if e.kind == "approved"],
        "lineage": lineage,
        "graph": None
        if lineage is None
        else lineage_svg(
            lineage.graph, label=f"Lineage of {name} version {detail.version}", runs_at=runs_at
        ),
        "compliance": version_compliance(store, name, detail.version),
    }


def lineage_graph(
    graph: LineageGraph, *, runs_at: str = ""
) -> tuple[list[GraphNode], list[GraphEdge]]:
    """Nodes and edges of a lineage graph; steps link to their pipeline run's page."""
    nodes = []
    for node in graph.nodes.values():
        details = node.details
        run_id = details.get("pipeline_run_id") if node.kind == "step" else None
        nodes.append(
            GraphNode(
                id=node.id,
                label=details.get("name", node.label) if node.kind == "step" else node.label,
                status=details.get("status", "") if node.kind == "step" else "",
                kind=node.kind,
                title=f"{node.kind} {node.label}",
                href=f"{runs_at}{quote(run_id, safe='')}" if run_id and runs_at else None,
            )
        )
    edges = [GraphEdge(edge.source, edge.target) for edge in graph.edges]
    return nodes, edges


def lineage_svg(graph: LineageGraph, *, label: str, runs_at: str = "") -> Markup:
    """The lineage graph drawn left (data) to right (the model)."""
    nodes, edges = lineage_graph(graph, runs_at=runs_at)
    return graph_svg(nodes, edges, label=label, id_prefix="lineage")


def version_compliance(store: Store, name: str, version: str) -> list[ComplianceRow]:
    """For each AI system using the model: the newest assessment of this version, if any."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.systems import systems_using_model

    rows = []
    for system in systems_using_model(store, name):
        found = latest_assessment(store, system.name, name, version)
        if found is None:
            rows.append(ComplianceRow(system.name, system.tier))
            continue
        rows.append(
            ComplianceRow(
                system=system.name,
                tier=system.tier,
                assessment_id=found.id,
                assessed_at=found.created_at,
                counts=found.counts(),
                blocking=tuple(result.control_id for result in found.blocking()),
                stale_reasons=found.stale_reasons,
            )
        )
    return rows
