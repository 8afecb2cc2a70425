"""Walk the lineage graph: from a model back to its data and code, from data forward to models.

Nodes are dataset versions, artifacts (by content hash), step runs and model versions.
Edges follow the data: a dataset or artifact is *read* by a step run, a step run *wrote* an
artifact or a dataset version, and *registered* a model version. Artifact edges are followed
within one pipeline run, so a widely shared artifact (say, a cached ``None``) does not tie
unrelated runs together; datasets and models connect runs.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from iml4e.errors import BadInput
from iml4e.pipelines.records import artifact_ref
from iml4e.store import Store
from iml4e.store.models import Artifact, ArtifactUse, LineageLink, PipelineRun, StepRun

Direction = Literal["upstream", "downstream", "both"]
_MODEL = re.compile(r"^(?P<name>[^@\s]+)@(?P<version>\d+)$")


class UnknownLineageTarget(BadInput):
    """The model, dataset or artifact to trace is not known to the lineage graph."""


@dataclass(frozen=True)
class LineageNode:
    """A dataset version, artifact, step run or model version."""

    id: str
    kind: str
    label: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageEdge:
    """``source`` → ``target``: ``read``, ``wrote`` or ``registered``."""

    source: str
    target: str
    relation: str


@dataclass
class LineageGraph:
    """What a lineage query found, reachable from ``root``."""

    root: str
    direction: Direction
    nodes: dict[str, LineageNode] = field(default_factory=dict)
    edges: list[LineageEdge] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[LineageNode]:
        """The nodes of one kind (``dataset``, ``artifact``, ``step``, ``model``)."""
        return [node for node in self.nodes.values() if node.kind == kind]

    def upstream_of(self, node_id: str) -> list[str]:
        return [edge.source for edge in self.edges if edge.target == node_id]

    def downstream_of(self, node_id: str) -> list[str]:
        return [edge.target for edge in self.edges if edge.source == node_id]

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "nodes": [asdict(node) for node in self.nodes.values()],
            "edges": [asdict(edge) for edge in self.edges],
        }


def trace_lineage(store: Store, reference: str, *, direction: Direction = "both") -> LineageGraph:
    """Lineage of ``model:NAME@VERSION``, ``dataset:NAME@VERSION``, ``artifact:HASH`` (a
    prefix of 8+ characters is enough) or ``step:ID``; a bare ``NAME@VERSION`` is tried as a
    model, then as a dataset."""
    kind, _, value = reference.partition(":")
    if not _ or kind not in ("model", "dataset", "artifact", "step"):
        kind, value = "", reference
    walker = _Walker(store)
    with store.session() as session:
        walker.session = session
        root = walker.resolve(kind, value, reference)
        if direction in ("upstream", "both"):
            walker.walk(root, upstream=True)
        if direction in ("downstream", "both"):
            walker.walk(root, upstream=False)
        walker.label_datasets()
    return LineageGraph(root, direction, walker.nodes, list(dict.fromkeys(walker.edges)))


class _Walker:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.session: Any = None
        self.nodes: dict[str, LineageNode] = {}
        self.edges: list[LineageEdge] = []

    # --- resolving the starting point ------------------------------------------------------

    def resolve(self, kind: str, value: str, reference: str) -> str:
        if kind in ("", "model"):
            match = _MODEL.match(value)
            if match and self._model_links(match["name"], match["version"]):
                return self._model_node(match["name"], match["version"])
            if kind == "model":
                raise UnknownLineageTarget(
                    "no pipeline step registered this model version", where=reference
                )
        if kind in ("", "dataset"):
            found = self._dataset_id(value, reference, quiet=kind == "")
            if found is not None:
                return self._dataset_node(found)
        if kind == "artifact":
            return self._artifact_node(self._artifact_by_prefix(value, reference))
        if kind == "step" and value.isdigit():
            row = self.session.get(StepRun, int(value))
            if row is not None:
                return self._step_node(row)
        raise UnknownLineageTarget(
            "not a known model@version, dataset@version, artifact:HASH or step:ID",
            where=reference,
        )

    def _dataset_id(self, value: str, reference: str, *, quiet: bool) -> int | None:
        from iml4e.data.catalog import get_dataset_version
        from iml4e.data.errors import DatasetNotFound
        from iml4e.data.ingest import parse_dataset_reference

        parsed = parse_dataset_reference(value)
        if parsed is None:
            if quiet:
                return None
            raise UnknownLineageTarget("expected dataset:NAME@VERSION", where=reference)
        try:
            return get_dataset_version(self.store, parsed[0], parsed[1]).id
        except (DatasetNotFound, BadInput):
            if quiet:
                return None
            raise UnknownLineageTarget("no such dataset version", where=reference) from None

    def _artifact_by_prefix(self, value: str, reference: str) -> Artifact:
        if len(value) < 8:
            raise UnknownLineageTarget("give at least 8 characters of the hash", where=reference)
        rows = self.session.scalars(
            select(Artifact).where(Artifact.content_hash.startswith(value.lower())).limit(2)
        ).all()
        if len(rows) != 1:
            problem = "no artifact has" if not rows else "several artifacts have"
            raise UnknownLineageTarget(f"{problem} this hash", where=reference)
        return rows[0]

    # --- nodes -------------------------------------------------------------------------------

    def _add(self, node: LineageNode) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def _model_node(self, name: str, version: str) -> str:
        return self._add(LineageNode(f"model:{name}@{version}", "model", f"{name}@{version}"))

    def _dataset_node(self, dataset_version_id: int) -> str:
        node_id = f"dataset:{dataset_version_id}"
        return self._add(LineageNode(node_id, "dataset", node_id, {"id": dataset_version_id}))

    def _artifact_node(self, artifact: Artifact) -> str:
        ref = artifact_ref(artifact)
        return self._add(
            LineageNode(
                f"artifact:{ref.content_hash}",
                "artifact",
                f"{ref.content_hash[:12]} ({ref.type_name.rsplit('.', 1)[-1]}, {ref.serializer})",
                {**asdict(ref), "artifact_id": artifact.id},
            )
        )

    def _step_node(self, row: StepRun) -> str:
        run = self.session.get(PipelineRun, row.pipeline_run_id)
        return self._add(
            LineageNode(
                f"step:{row.id}",
                "step",
                f"{row.name} (run {row.pipeline_run_id[:8]}, {row.status})",
                {
                    "step_run_id": row.id,
                    "name": row.name,
                    "status": row.status,
                    "pipeline": run.pipeline if run else None,
                    "pipeline_run_id": row.pipeline_run_id,
                    "step_ref": row.step_ref,
                    "code_hash": row.code_hash,
                    "cache_key": row.cache_key,
                    "cached_from": row.cached_from,
                    "params": row.params or {},
                    "mlflow_run_id": row.mlflow_run_id,
                    "started_at": row.started_at.isoformat() if row.started_at else None,
                },
            )
        )

    def label_datasets(self) -> None:
        from iml4e.data.catalog import dataset_versions_by_id

        ids = [node.details["id"] for node in self.nodes.values() if node.kind == "dataset"]
        for version_id, info in dataset_versions_by_id(self.store, ids).items():
            node_id = f"dataset:{version_id}"
            self.nodes[node_id] = LineageNode(
                node_id,
                "dataset",
                f"{info.name}@{info.version}",
                {
                    "id": version_id,
                    "name": info.name,
                    "version": info.version,
                    "content_hash": info.content_hash,
                    "rows": info.n_rows,
                    "source": info.source,
                },
            )

    # --- walking -----------------------------------------------------------------------------

    def walk(self, root: str, *, upstream: bool) -> None:
        queue: deque[str] = deque([root])
        seen = {root}
        while queue:
            current = queue.popleft()
            for neighbour in self._neighbours(current, upstream):
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append(neighbour)

    def _edge(self, source: str, target: str, relation: str) -> None:
        self.edges.append(LineageEdge(source, target, relation))

    def _neighbours(self, node_id: str, upstream: bool) -> list[str]:
        kind, _, key = node_id.partition(":")
        found: list[str] = []
        if kind == "model":
            name, _, version = key.rpartition("@")
            if upstream:
                for link in self._model_links(name, version):
                    step = self._step_node(self.session.get(StepRun, link.step_run_id))
                    self._edge(step, node_id, "registered")
                    found.append(step)
        elif kind == "dataset":
            role = "output" if upstream else "input"
            query = select(LineageLink).where(
                LineageLink.dataset_version_id == int(key), LineageLink.role == role
            )
            if upstream:  # the step that made it, not the cached copies that re-link it
                query = query.join(StepRun, StepRun.id == LineageLink.step_run_id).where(
                    StepRun.cached_from.is_(None)
                )
            links = self.session.scalars(query).all()
            for link in links:
                step = self._step_node(self.session.get(StepRun, link.step_run_id))
                if upstream:
                    self._edge(step, node_id, "wrote")
                else:
                    self._edge(node_id, step, "read")
                found.append(step)
        elif kind == "step":
            found += self._step_neighbours(int(key), node_id, upstream)
        elif kind == "artifact" and not upstream:
            # Only reached as a root: every step run that read it, in any run.
            for row in self._uses_of(key, "input"):
                step = self._step_node(row)
                self._edge(node_id, step, "read")
                found.append(step)
        elif kind == "artifact":
            for row in self._uses_of(key, "output"):
                if row.cached_from is None:
                    step = self._step_node(row)
                    self._edge(step, node_id, "wrote")
                    found.append(step)
        return found

    def _step_neighbours(self, step_id: int, node_id: str, upstream: bool) -> list[str]:
        row = self.session.get(StepRun, step_id)
        role = "input" if upstream else "output"
        found: list[str] = []
        uses = self.session.execute(
            select(ArtifactUse, Artifact)
            .join(Artifact, Artifact.id == ArtifactUse.artifact_id)
            .where(ArtifactUse.step_run_id == step_id, ArtifactUse.role == role)
        ).all()
        for _, artifact in uses:
            artifact_id = self._artifact_node(artifact)
            other_role = "output" if upstream else "input"
            partners = self.session.execute(
                select(StepRun)
                .join(ArtifactUse, ArtifactUse.step_run_id == StepRun.id)
                .where(
                    ArtifactUse.artifact_id == artifact.id,
                    ArtifactUse.role == other_role,
                    StepRun.pipeline_run_id == row.pipeline_run_id,
                )
            ).scalars()
            for partner in partners:
                partner_id = self._step_node(partner)
                if upstream:
                    self._edge(partner_id, artifact_id, "wrote")
                    self._edge(artifact_id, node_id, "read")
                else:
                    self._edge(node_id, artifact_id, "wrote")
                    self._edge(artifact_id, partner_id, "read")
                found.append(partner_id)
            if not found and upstream:
                self._edge(artifact_id, node_id, "read")
        links = self.session.scalars(
            select(LineageLink).where(LineageLink.step_run_id == step_id, LineageLink.role == role)
        ).all()
        for link in links:
            if link.kind == "dataset_version" and link.dataset_version_id is not None:
                target = self._dataset_node(link.dataset_version_id)
                relation = "read" if upstream else "wrote"
            elif link.kind == "model_version" and link.model_name:
                target = self._model_node(link.model_name, link.model_version or "")
                relation = "registered"
            else:
                continue
            if upstream:
                self._edge(target, node_id, relation)
            else:
                self._edge(node_id, target, relation)
            found.append(target)
        return found

    def _model_links(self, name: str, version: str) -> list[LineageLink]:
        return list(
            self.session.scalars(
                select(LineageLink)
                .join(StepRun, StepRun.id == LineageLink.step_run_id)
                .where(
                    LineageLink.kind == "model_version",
                    LineageLink.model_name == name,
                    LineageLink.model_version == version,
                    LineageLink.role == "output",
                    StepRun.cached_from.is_(None),
                )
            ).all()
        )

    def _uses_of(self, content_hash: str, role: str) -> list[StepRun]:
        return list(
            self.session.scalars(
                select(StepRun)
                .join(ArtifactUse, StepRun.id == ArtifactUse.step_run_id)
                .join(Artifact, Artifact.id == ArtifactUse.artifact_id)
                .where(Artifact.content_hash == content_hash, ArtifactUse.role == role)
            ).all()
        )
