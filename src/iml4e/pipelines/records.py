"""Pipeline runs, step runs and artifacts in the store: what ran, what it read and wrote."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from iml4e.pipelines.artifacts import ArtifactRef
from iml4e.pipelines.context import LinkRecord
from iml4e.pipelines.errors import UnknownRun
from iml4e.store import Store
from iml4e.store.models import (
    Artifact,
    ArtifactUse,
    LineageLink,
    PipelineRun,
    StepRun,
    utcnow,
)

FINISHED_OK = ("succeeded", "cached", "reused")


@dataclass(frozen=True)
class StepRecord:
    """One step of a recorded run, as ``iml4e pipeline show`` prints it."""

    id: int
    name: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    attempts: int
    cache_key: str | None
    cached_from: int | None
    mlflow_run_id: str | None
    params: dict[str, Any]
    error: str | None
    logs: str | None
    inputs: dict[str, ArtifactRef]
    outputs: dict[str, ArtifactRef]

    @property
    def cache_hit(self) -> bool:
        return self.status in ("cached", "reused")


@dataclass(frozen=True)
class RunRecord:
    """A recorded pipeline run and its steps."""

    id: str
    pipeline: str
    pipeline_ref: str | None
    status: str
    params: dict[str, Any]
    executor: str | None
    mlflow_run_id: str | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    resumed_from: str | None
    options: dict[str, Any]
    steps: list[StepRecord]

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def cache_hits(self) -> int:
        return sum(1 for step in self.steps if step.cache_hit)


@dataclass(frozen=True)
class RunDescription:
    """What a new pipeline run row says about the run."""

    pipeline: str
    pipeline_ref: str
    params: Mapping[str, Any]
    executor: str
    options: Mapping[str, Any]
    resumed_from: str | None = None


class RunRecorder:
    """Writes one pipeline run's rows; one short transaction per event."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._artifact_ids: dict[tuple[str, str], int] = {}

    def start_run(self, run_id: str, description: RunDescription) -> None:
        with self.store.session() as session:
            session.add(
                PipelineRun(
                    id=run_id,
                    pipeline=description.pipeline,
                    pipeline_ref=description.pipeline_ref,
                    status="running",
                    params=dict(description.params),
                    executor=description.executor,
                    options=dict(description.options),
                    resumed_from=description.resumed_from,
                )
            )

    def ensure_run(
        self, run_id: str, description: RunDescription, create_mlflow_run: Callable[[], str]
    ) -> str | None:
        """Create run ``run_id`` unless another process did; return its MLflow run id."""
        from sqlalchemy.exc import IntegrityError

        with self.store.session() as session:
            existing = session.get(PipelineRun, run_id)
            if existing is not None:
                return existing.mlflow_run_id
        try:
            self.start_run(run_id, description)
        except IntegrityError:  # another step of the run created it meanwhile
            for _ in range(50):
                with self.store.session() as session:
                    row = session.get(PipelineRun, run_id)
                    if row is not None and row.mlflow_run_id:
                        return row.mlflow_run_id
                time.sleep(0.1)
            return None
        parent = create_mlflow_run()
        self.set_mlflow_run(run_id, parent)
        return parent

    def set_mlflow_run(self, run_id: str, mlflow_run_id: str) -> None:
        with self.store.session() as session:
            row = session.get(PipelineRun, run_id)
            if row is not None:
                row.mlflow_run_id = mlflow_run_id

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self.store.session() as session:
            row = session.get(PipelineRun, run_id)
            if row is not None:
                row.status, row.error, row.finished_at = status, error, utcnow()

    def start_step(
        self,
        run_id: str,
        *,
        name: str,
        step_ref: str,
        code_hash: str,
        cache_key: str,
        params: Mapping[str, Any],
        inputs: Mapping[str, ArtifactRef],
    ) -> int:
        """Record a step as running, with the artifacts it reads; returns its id."""
        with self.store.session() as session:
            step_id = session.execute(
                insert(StepRun)
                .values(
                    pipeline_run_id=run_id,
                    name=name,
                    status="running",
                    step_ref=step_ref,
                    code_hash=code_hash,
                    cache_key=cache_key,
                    params=dict(params),
                    attempts=1,
                    started_at=utcnow(),
                )
                .returning(StepRun.id)
            ).scalar_one()
            self._add_uses(session, step_id, "input", inputs)
            return step_id

    def retrying_step(self, step_id: int, attempt: int, error: str) -> None:
        with self.store.session() as session:
            row = session.get(StepRun, step_id)
            if row is not None:
                row.attempts = attempt
                row.error = error

    def finish_step(
        self,
        step_id: int,
        *,
        status: str,
        duration_s: float,
        attempts: int,
        outputs: Mapping[str, ArtifactRef] | None = None,
        links: Iterable[LinkRecord] = (),
        error: str | None = None,
        logs: str | None = None,
    ) -> None:
        with self.store.session() as session:
            session.execute(
                update(StepRun)
                .where(StepRun.id == step_id)
                .values(
                    status=status,
                    duration_s=duration_s,
                    attempts=attempts,
                    finished_at=utcnow(),
                    error=error,
                    logs=logs or None,
                )
            )
            self._add_uses(session, step_id, "output", outputs or {})
            self._add_links(session, step_id, links)

    def record_reused_step(
        self,
        run_id: str,
        *,
        name: str,
        status: str,
        source: StepRecord,
        step_ref: str,
        code_hash: str,
        params: Mapping[str, Any],
        inputs: Mapping[str, ArtifactRef],
    ) -> int:
        """Record a step answered from an earlier run (``cached`` or ``reused`` on resume)."""
        original = source.cached_from or source.id
        with self.store.session() as session:
            now = utcnow()
            row = StepRun(
                pipeline_run_id=run_id,
                name=name,
                status=status,
                step_ref=step_ref,
                code_hash=code_hash,
                cache_key=source.cache_key,
                params=dict(params),
                attempts=0,
                cached_from=original,
                started_at=now,
                finished_at=now,
                duration_s=0.0,
            )
            session.add(row)
            session.flush()
            self._add_uses(session, row.id, "input", inputs)
            self._add_uses(session, row.id, "output", source.outputs)
            links = session.scalars(
                select(LineageLink).where(LineageLink.step_run_id == original)
            ).all()
            self._add_links(
                session,
                row.id,
                [
                    LinkRecord(
                        link.kind,
                        link.role,
                        link.dataset_version_id,
                        link.model_name,
                        link.model_version,
                    )
                    for link in links
                ],
            )
            return row.id

    def record_skipped_steps(self, run_id: str, names: Iterable[str]) -> None:
        with self.store.session() as session:
            for name in names:
                session.add(
                    StepRun(
                        pipeline_run_id=run_id,
                        name=name,
                        status="skipped",
                        attempts=0,
                        finished_at=utcnow(),
                        error="not run: an upstream step failed",
                    )
                )

    def set_step_mlflow_runs(self, mlflow_runs: Mapping[int, str]) -> None:
        if not mlflow_runs:
            return
        with self.store.session() as session:
            for step_id, mlflow_run_id in mlflow_runs.items():
                row = session.get(StepRun, step_id)
                if row is not None:
                    row.mlflow_run_id = mlflow_run_id

    def _artifact_id(self, session: Any, ref: ArtifactRef) -> int:
        key = (ref.content_hash, ref.serializer)
        known = self._artifact_ids.get(key)
        if known is not None:
            return known
        found = session.scalar(
            select(Artifact.id).where(
                Artifact.content_hash == ref.content_hash, Artifact.serializer == ref.serializer
            )
        )
        if found is None:
            found = self._insert_artifact(session, ref)
        self._artifact_ids[key] = found
        return found

    def _insert_artifact(self, session: Any, ref: ArtifactRef) -> int:
        """Insert the artifact row; another writer may insert the same content meanwhile."""
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:  # pragma: no cover - other databases are not supported as stores yet
            dialect_insert = insert
        statement = dialect_insert(Artifact).values(
            content_hash=ref.content_hash,
            serializer=ref.serializer,
            uri=ref.uri,
            type_name=ref.type_name,
            size_bytes=ref.size_bytes,
            created_at=utcnow(),
        )
        if hasattr(statement, "on_conflict_do_nothing"):
            statement = statement.on_conflict_do_nothing(
                index_elements=["content_hash", "serializer"]
            )
        inserted = session.execute(statement.returning(Artifact.id)).scalar_one_or_none()
        if inserted is not None:
            return inserted
        return session.scalar(
            select(Artifact.id).where(
                Artifact.content_hash == ref.content_hash, Artifact.serializer == ref.serializer
            )
        )

    def _add_uses(
        self, session: Any, step_id: int, role: str, refs: Mapping[str, ArtifactRef]
    ) -> None:
        rows = [
            {
                "step_run_id": step_id,
                "artifact_id": self._artifact_id(session, ref),
                "role": role,
                "name": name,
            }
            for name, ref in refs.items()
        ]
        if rows:
            session.execute(insert(ArtifactUse), rows)

    @staticmethod
    def _add_links(session: Any, step_id: int, links: Iterable[LinkRecord]) -> None:
        for link in links:
            session.add(
                LineageLink(
                    step_run_id=step_id,
                    kind=link.kind,
                    role=link.role,
                    dataset_version_id=link.dataset_version_id,
                    model_name=link.model_name,
                    model_version=link.model_version,
                )
            )


# --- reading ----------------------------------------------------------------------------------


def artifact_ref(artifact: Artifact) -> ArtifactRef:
    """The :class:`ArtifactRef` of a stored artifact row."""
    return ArtifactRef(
        content_hash=artifact.content_hash,
        serializer=artifact.serializer,
        uri=artifact.uri,
        type_name=artifact.type_name,
        size_bytes=artifact.size_bytes,
    )


def _step_records(session: Any, rows: list[StepRun]) -> list[StepRecord]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    uses = session.execute(
        select(ArtifactUse.step_run_id, ArtifactUse.role, ArtifactUse.name, Artifact)
        .join(Artifact, Artifact.id == ArtifactUse.artifact_id)
        .where(ArtifactUse.step_run_id.in_(ids))
        .order_by(ArtifactUse.id)
    ).all()
    by_step: dict[int, dict[str, dict[str, ArtifactRef]]] = {
        i: {"input": {}, "output": {}} for i in ids
    }
    for step_id, role, name, artifact in uses:
        by_step[step_id][role][name] = artifact_ref(artifact)
    return [
        StepRecord(
            id=row.id,
            name=row.name,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_s=row.duration_s,
            attempts=row.attempts,
            cache_key=row.cache_key,
            cached_from=row.cached_from,
            mlflow_run_id=row.mlflow_run_id,
            params=dict(row.params or {}),
            error=row.error,
            logs=row.logs,
            inputs=by_step[row.id]["input"],
            outputs=by_step[row.id]["output"],
        )
        for row in rows
    ]


def find_cached_step(store: Store, cache_key: str) -> StepRecord | None:
    """The newest step run that succeeded with ``cache_key`` (its outputs can be reused)."""
    with store.session() as session:
        row = session.scalars(
            select(StepRun)
            .where(StepRun.cache_key == cache_key, StepRun.status == "succeeded")
            .order_by(StepRun.id.desc())
            .limit(1)
        ).first()
        return _step_records(session, [row])[0] if row is not None else None


def finished_steps(store: Store, run_id: str) -> dict[str, StepRecord]:
    """Steps of run ``run_id`` that finished well (succeeded, cached or reused), by name."""
    with store.session() as session:
        rows = session.scalars(
            select(StepRun)
            .where(StepRun.pipeline_run_id == run_id, StepRun.status.in_(FINISHED_OK))
            .order_by(StepRun.id)
        ).all()
        return {record.name: record for record in _step_records(session, list(rows))}


def get_run(store: Store, run_id: str) -> RunRecord:
    """The run ``run_id`` (a unique prefix is enough); :class:`UnknownRun` otherwise."""
    with store.session() as session:
        row = session.get(PipelineRun, run_id)
        if row is None and run_id:
            matches = session.scalars(
                select(PipelineRun).where(PipelineRun.id.startswith(run_id)).limit(2)
            ).all()
            if len(matches) == 1:
                row = matches[0]
            elif len(matches) > 1:
                raise UnknownRun(
                    "more than one run starts with this; give more of the id", where=run_id
                )
        if row is None:
            raise UnknownRun("no pipeline run with this id", where=run_id)
        steps = session.scalars(
            select(StepRun).where(StepRun.pipeline_run_id == row.id).order_by(StepRun.id)
        ).all()
        return _run_record(row, _step_records(session, list(steps)))


def list_runs(
    store: Store, *, pipeline: str | None = None, limit: int = 50, offset: int = 0
) -> list[RunRecord]:
    """The newest runs first (steps included), optionally of one pipeline; ``offset`` skips
    that many of the newest (a page of a long history reads only its own rows)."""
    with store.session() as session:
        query = select(PipelineRun).order_by(PipelineRun.started_at.desc(), PipelineRun.id)
        if pipeline:
            query = query.where(PipelineRun.pipeline == pipeline)
        rows = session.scalars(query.limit(limit).offset(max(offset, 0))).all()
        if not rows:
            return []
        steps = session.scalars(
            select(StepRun)
            .where(StepRun.pipeline_run_id.in_([row.id for row in rows]))
            .order_by(StepRun.id)
        ).all()
        grouped: dict[str, list[StepRun]] = {row.id: [] for row in rows}
        for step_row in steps:
            grouped[step_row.pipeline_run_id].append(step_row)
        return [_run_record(row, _step_records(session, grouped[row.id])) for row in rows]


def _run_record(row: PipelineRun, steps: list[StepRecord]) -> RunRecord:
    return RunRecord(
        id=row.id,
        pipeline=row.pipeline,
        pipeline_ref=row.pipeline_ref,
        status=row.status,
        params=dict(row.params or {}),
        executor=row.executor,
        mlflow_run_id=row.mlflow_run_id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        resumed_from=row.resumed_from,
        options=dict(row.options or {}),
        steps=steps,
    )
