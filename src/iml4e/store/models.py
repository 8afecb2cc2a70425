"""SQLAlchemy models of iml4e's own tables.

Every table is prefixed ``iml4e_`` and the migration history lives in ``iml4e_alembic_version``
so iml4e shares one database with MLflow (which owns ``alembic_version`` and its unprefixed
tables) without either touching the other's tables. Each room reads and writes only its own
tables; other rooms go through that room's Python API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TABLE_PREFIX = "iml4e_"
VERSION_TABLE = "iml4e_alembic_version"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC, as stored in every timestamp column."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime | None) -> datetime:
    """``moment`` (now if None) as naive UTC, the form every stored timestamp has."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --- data room --------------------------------------------------------------------------------


class Dataset(Base):
    __tablename__ = "iml4e_dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[DatasetVersion]] = relationship(back_populates="dataset")


class DatasetVersion(Base):
    __tablename__ = "iml4e_dataset_version"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("iml4e_dataset.id"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    n_rows: Mapped[int]
    n_columns: Mapped[int]
    source: Mapped[str] = mapped_column(Text)
    columns: Mapped[dict[str, Any]] = mapped_column(JSON)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    contract: Mapped[str | None] = mapped_column(Text)
    snapshot_uri: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


# --- pipelines room ---------------------------------------------------------------------------


class PipelineRun(Base):
    __tablename__ = "iml4e_pipeline_run"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    pipeline: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    pipeline_ref: Mapped[str | None] = mapped_column(Text)
    executor: Mapped[str | None] = mapped_column(String(200))
    resumed_from: Mapped[str | None] = mapped_column(String(32))
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)

    steps: Mapped[list[StepRun]] = relationship(
        back_populates="pipeline_run", order_by="StepRun.id"
    )


class StepRun(Base):
    __tablename__ = "iml4e_step_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_run_id: Mapped[str] = mapped_column(ForeignKey("iml4e_pipeline_run.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    step_ref: Mapped[str | None] = mapped_column(Text)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    cache_key: Mapped[str | None] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    cached_from: Mapped[int | None] = mapped_column(ForeignKey("iml4e_step_run.id"))
    logs: Mapped[str | None] = mapped_column(Text)

    pipeline_run: Mapped[PipelineRun] = relationship(back_populates="steps")


class Artifact(Base):
    """A step output stored once under the artifact root, addressed by its content hash."""

    __tablename__ = "iml4e_artifact"
    __table_args__ = (UniqueConstraint("content_hash", "serializer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    serializer: Mapped[str] = mapped_column(String(60))
    uri: Mapped[str] = mapped_column(Text)
    type_name: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArtifactUse(Base):
    """An edge of the lineage graph: a step run read (``input``) or wrote (``output``) it."""

    __tablename__ = "iml4e_artifact_use"
    __table_args__ = (Index("ix_iml4e_artifact_use_artifact_id_role", "artifact_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("iml4e_step_run.id"), index=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("iml4e_artifact.id"))
    role: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))


class LineageLink(Base):
    """A step run's link to a dataset version or model version it read or made."""

    __tablename__ = "iml4e_lineage_link"
    __table_args__ = (Index("ix_iml4e_lineage_link_model", "model_name", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("iml4e_step_run.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(10))
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("iml4e_dataset_version.id"), index=True
    )
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))


# --- registry room ----------------------------------------------------------------------------


class ModelRecord(Base):
    __tablename__ = "iml4e_model_record"
    __table_args__ = (UniqueConstraint("model_name", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(32))
    mlflow_run_id: Mapped[str] = mapped_column(String(64))
    pipeline_run_id: Mapped[str | None] = mapped_column(ForeignKey("iml4e_pipeline_run.id"))
    dataset_version_id: Mapped[int | None] = mapped_column(ForeignKey("iml4e_dataset_version.id"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistryEvent(Base):
    """One change to the registry (registered, alias moved, approved, promoted, …), in order."""

    __tablename__ = "iml4e_registry_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(40))
    alias: Mapped[str | None] = mapped_column(String(200))
    previous_version: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- serving room -----------------------------------------------------------------------------


class Deployment(Base):
    __tablename__ = "iml4e_deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Written by the deployment manager (``iml4e deploy``); empty for ``iml4e serve`` run by hand.
    pid: Mapped[int | None]
    port: Mapped[int | None]
    host: Mapped[str | None] = mapped_column(String(255))
    log_path: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    events: Mapped[list[DeploymentEvent]] = relationship(
        back_populates="deployment", order_by="DeploymentEvent.id"
    )


class DeploymentEvent(Base):
    __tablename__ = "iml4e_deployment_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("iml4e_deployment.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deployment: Mapped[Deployment] = relationship(back_populates="events")


class InferenceSegment(Base):
    """One append-only file of the inference log, indexed for queries by deployment and time."""

    __tablename__ = "iml4e_inference_segment"
    __table_args__ = (
        Index("ix_iml4e_inference_segment_deployment_first_at", "deployment", "first_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text, unique=True)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime | None]
    n_records: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=False)


class MonitorReference(Base):
    """The reference profile monitoring compares live data with, one per model version."""

    __tablename__ = "iml4e_monitor_reference"
    __table_args__ = (UniqueConstraint("model_name", "model_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(32))
    dataset_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("iml4e_dataset_version.id", name="fk_iml4e_monitor_reference_dataset_version"),
        nullable=True,
    )
    path: Mapped[str] = mapped_column(Text)
    n_rows: Mapped[int]
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedbackLabel(Base):
    """A ground-truth label for one answered request, joined to the inference log."""

    __tablename__ = "iml4e_feedback_label"
    __table_args__ = (UniqueConstraint("deployment", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[Any] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MonitorReport(Base):
    """One monitoring run over a window of a deployment's traffic."""

    __tablename__ = "iml4e_monitor_report"
    __table_args__ = (
        Index("ix_iml4e_monitor_report_deployment_created_at", "deployment", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    n_rows: Mapped[int] = mapped_column(default=0)
    model_versions: Mapped[list[str]] = mapped_column(JSON, default=list)
    drift: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    performance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    html_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """The current state of one alert rule of a deployment."""

    __tablename__ = "iml4e_alert"
    __table_args__ = (UniqueConstraint("deployment", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id"
    )


class AlertEvent(Base):
    """A state change of an alert (pending, firing, resolved, acknowledged)."""

    __tablename__ = "iml4e_alert_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("iml4e_alert.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="events")


# --- compliance room --------------------------------------------------------------------------


class AISystem(Base):
    """An AI system (a use case that owns models), its classification and its system file."""

    __tablename__ = "iml4e_ai_system"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    intended_purpose: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    classification: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ComplianceAssessment(Base):
    """One assessment of a model version of a system: what it rested on and when it went stale."""

    __tablename__ = "iml4e_assessment"
    __table_args__ = (
        Index("ix_iml4e_assessment_system_model", "system", "model_name", "model_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(200))
    model_name: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str] = mapped_column(String(32))
    deployment: Mapped[str | None] = mapped_column(String(200))
    catalogue_version: Mapped[str] = mapped_column(String(40))
    basis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    results: Mapped[list[ControlResult]] = relationship(
        back_populates="assessment", order_by="ControlResult.id"
    )


class ControlResult(Base):
    """The result of one control in one assessment, with the evidence it read."""

    __tablename__ = "iml4e_control_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("iml4e_assessment.id"), index=True)
    control_id: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[ComplianceAssessment] = relationship(back_populates="results")


class Attestation(Base):
    """A person's signed statement for a control, covering one model version or all of them."""

    __tablename__ = "iml4e_attestation"
    __table_args__ = (Index("ix_iml4e_attestation_system_control", "system", "control_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(200))
    control_id: Mapped[str] = mapped_column(String(80))
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """A serious incident (Art. 73) against a deployment, with its reporting clock."""

    __tablename__ = "iml4e_incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(200), index=True)
    deployment: Mapped[str] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    opened_by: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    reported_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    freeze_override: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ComplianceDocument(Base):
    """A generated document (Annex IV, instructions for use, …) kept with its hash (Art. 18)."""

    __tablename__ = "iml4e_compliance_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    model_name: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[str | None] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- pipelines room: schedules ---------------------------------------------------------------


class PipelineSchedule(Base):
    """A pipeline the background scheduler of ``iml4e up`` runs every ``interval_s`` seconds."""

    __tablename__ = "iml4e_pipeline_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    pipeline: Mapped[str] = mapped_column(String(500))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    executor: Mapped[str | None] = mapped_column(String(200))
    interval_s: Mapped[float] = mapped_column(Float)
    paused: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    last_run_at: Mapped[datetime | None]
    last_run_id: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)


# --- audit room -------------------------------------------------------------------------------


class AuditEvent(Base):
    """One state change or denied attempt, chained to the one before by its hash."""

    __tablename__ = "iml4e_audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


# --- server room: people, tokens, sessions ----------------------------------------------------


class User(Base):
    """A person who uses the platform, with one role."""

    __tablename__ = "iml4e_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    """A token for the CLI and scripts: only its hash is kept, found by its prefix."""

    __tablename__ = "iml4e_api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("iml4e_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginSession(Base):
    """A browser login: the cookie's hash, its CSRF token and how long it lasts."""

    __tablename__ = "iml4e_login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("iml4e_user.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
