"""What a compliance document says, as plain data: the facts gathered from the other rooms.

The templates (``templates/*.j2``) read only these objects, so a document can be rendered
from facts built by hand in a test as well as from the store (:mod:`iml4e.compliance.gather`).
Parts a person has to write are ``None`` or empty until they are written; templates mark them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class SystemFacts:
    """The AI system: who provides it, what it is for and how it was classified."""

    name: str
    intended_purpose: str
    provider: str
    role: str
    """``provider`` or ``deployer``."""
    users_affected: str
    models: tuple[str, ...]
    tier: str
    """``prohibited``, ``high-risk``, ``limited`` or ``minimal``."""
    reasons: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    annex_iii: tuple[str, ...] = ()
    transparency: tuple[str, ...] = ()
    gpai: bool = False


@dataclass(frozen=True)
class ModelFacts:
    """The model version the document is about, from the registry and tracking."""

    name: str
    version: str
    run_id: str | None
    registered_at: datetime | None
    aliases: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    flavors: tuple[str, ...] = ()
    inputs: tuple[dict[str, Any], ...] = ()
    """The signature's input columns: ``{"name", "type", "required"}``."""
    outputs: tuple[dict[str, Any], ...] = ()
    artifact_files: tuple[dict[str, Any], ...] = ()
    """``{"path", "sha256", "size_bytes"}`` of each file of the logged model."""
    approvals: tuple[dict[str, Any], ...] = ()
    """``{"actor", "at", "note"}`` of each approval."""
    registered_by: str | None = None


@dataclass(frozen=True)
class DatasetFacts:
    """A dataset version in the model version's lineage."""

    name: str
    version: int
    content_hash: str
    rows: int | None
    source: str | None
    datasheet: dict[str, str] = field(default_factory=dict)
    """Human-written datasheet fields (origin, purpose, collection, labelling, cleaning,
    assumptions); missing fields are absent."""


@dataclass(frozen=True)
class StepFacts:
    """A pipeline step run on the way to the model version."""

    name: str
    pipeline: str | None
    pipeline_run_id: str
    code_hash: str | None
    status: str


@dataclass(frozen=True)
class EvaluationFacts:
    """How the model version performed on its test rows, measured by the compliance room."""

    n_test_rows: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    fairness: tuple[dict[str, Any], ...] = ()
    """Per sensitive feature: ``{"feature", "demographic_parity_difference",
    "equalized_odds_difference", "groups": [{"group", "n", "selection_rate", "accuracy",
    "true_positive_rate", "false_positive_rate"}]}``."""
    robustness: dict[str, Any] | None = None
    """``{"clean_accuracy", "perturbed_accuracy", "accuracy_drop", "perturbations"}``."""


@dataclass(frozen=True)
class ControlFacts:
    """One control's latest result in the assessment of the version."""

    id: str
    title: str
    articles: tuple[str, ...]
    type: str
    status: str
    """``pass``, ``fail``, ``needs_attestation`` or ``not_applicable``."""
    detail: str
    required_for_promotion: bool
    taken_at: datetime | None = None
    attested_by: str | None = None


@dataclass(frozen=True)
class AssessmentFacts:
    """The assessment the control results come from."""

    id: int
    created_at: datetime
    stale: bool
    stale_reasons: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    """How many controls are in each status."""


@dataclass(frozen=True)
class DeploymentFacts:
    """A deployment serving one of the system's models, with its latest monitoring."""

    name: str
    model_version: str
    state: str
    url: str | None
    logging_enabled: bool
    latest_report: dict[str, Any] | None = None
    """``{"id", "created_at", "n_rows", "drifted": [...], "metrics": {...}}``."""
    firing_alerts: tuple[str, ...] = ()
    alert_rules: tuple[str, ...] = ()
    reports: tuple[dict[str, Any], ...] = ()
    """Every report in the period of a periodic monitoring report, newest first."""


@dataclass(frozen=True)
class IncidentFacts:
    """A serious incident (Art. 73) and its reporting clock."""

    id: int
    deployment: str
    severity: str
    title: str
    description: str
    opened_at: datetime
    due_at: datetime
    reported_at: datetime | None
    state: str


@dataclass(frozen=True)
class ObligationFacts:
    """An obligation of the legal calendar and whether it applies on the document's date."""

    name: str
    articles: tuple[str, ...]
    applies_from: date
    status: str


@dataclass(frozen=True)
class DocumentFacts:
    """Everything one compliance document may say about one system and model version.

    ``human`` holds the parts a person writes in the system file, keyed by
    ``risk_register`` (list of ``{"risk", "mitigation", "residual"}``),
    ``instructions_for_use`` (dict), ``oversight`` (dict), ``monitoring_plan`` (dict),
    ``standards`` (list of str), ``changes`` (list of str), ``cybersecurity`` (str),
    ``hardware`` (str); absent keys are not yet written.
    """

    system: SystemFacts
    generated_at: datetime
    on: date
    """The date the legal calendar is read on."""
    model: ModelFacts | None = None
    datasets: tuple[DatasetFacts, ...] = ()
    steps: tuple[StepFacts, ...] = ()
    evaluation: EvaluationFacts | None = None
    assessment: AssessmentFacts | None = None
    controls: tuple[ControlFacts, ...] = ()
    deployments: tuple[DeploymentFacts, ...] = ()
    incidents: tuple[IncidentFacts, ...] = ()
    obligations: tuple[ObligationFacts, ...] = ()
    human: dict[str, Any] = field(default_factory=dict)
    catalogue_version: str = ""
    policy_signed_off_by: str | None = None
    policy_signed_off_at: datetime | None = None
