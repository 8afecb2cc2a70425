"""Evidence about a model version: registry, tracking, lineage, data, and the room's own tests.

Everything here is read through the other rooms' Python APIs (registry, pipelines, data,
tracking); the fairness, robustness and data tests are run by this room on the version's own
training and test rows, found in its lineage.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from iml4e.compliance.data_checks import (
    AccuracyInterval,
    accuracy_interval,
    duplicate_rate,
    missing_rate,
)
from iml4e.compliance.errors import ComplianceError
from iml4e.compliance.fairness import FairnessResult, SensitiveFeature, sensitive_groups
from iml4e.compliance.model_files import ModelFileScan
from iml4e.compliance.robustness import RobustnessResult
from iml4e.compliance.systems import SystemData
from iml4e.errors import Iml4eError
from iml4e.registry.events import RegistryChange

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.config import Settings
    from iml4e.registry.promotion import VersionDetail
    from iml4e.registry.provenance import VersionLineage
    from iml4e.store import Store


@dataclass(frozen=True)
class DatasetCheck:
    """A dataset version of the lineage and whether its snapshot still has its content hash."""

    name: str
    version: int
    content_hash: str
    rows: int | None
    matches: bool | None
    """Whether the snapshot still hashes to ``content_hash``; None when it could not be read
    (``problem`` says why)."""
    newest_version: int
    missing_rate: float | None = None
    duplicate_rate: float | None = None
    problem: str | None = None


@dataclass
class ModelEvidence:
    """What the platform knows about one model version, gathered once per assessment."""

    detail: VersionDetail
    events: list[RegistryChange]
    lineage: VersionLineage | None
    run_started_at: datetime | None
    datasets: list[DatasetCheck] = field(default_factory=list)
    train: pd.DataFrame | None = None
    test: pd.DataFrame | None = None
    predictions: Any = None
    accuracy: AccuracyInterval | None = None
    fairness: list[FairnessResult] | None = None
    robustness: RobustnessResult | None = None
    scan: ModelFileScan | None = None
    recorded_hashes: dict[str, str] | None = None
    """Model file hashes recorded at the version's first assessment (None: this is it)."""
    promotions: list[RegistryChange] = field(default_factory=list)
    """Every promotion of the model (any version), for the Art. 73(6) change freeze."""
    audit_links: list[str] = field(default_factory=list)
    """The audit trail's events on the version (``#id action hash``), newest first, so an
    approval in the evidence can be checked against the hash-chained trail."""
    problems: dict[str, str] = field(default_factory=dict)
    """Evidence key → why that evidence could not be gathered."""

    @property
    def registered_by(self) -> str | None:
        """Who registered the version (from the ``registered`` registry event)."""
        for event in self.events:
            if event.kind == "registered":
                return event.actor
        return None

    @property
    def approvals(self) -> list[RegistryChange]:
        """The version's approval events, in order."""
        return [event for event in self.events if event.kind == "approved"]

    def groups(self, frame: pd.DataFrame, data: SystemData) -> dict[str, pd.Series]:
        """The sensitive groups of each row of ``frame``."""
        return {
            spec.column: sensitive_groups(frame, SensitiveFeature(spec.column, spec.bins))
            for spec in data.sensitive_features
        }


def audit_links(store: Store, target: str, limit: int = 20) -> list[str]:
    """``#id action hash-prefix`` of the newest audit events on ``target`` (what the evidence
    rests on, to be found and verified in ``iml4e audit list``/``verify``)."""
    from iml4e.audit import list_audit

    return [
        f"#{event.id} {event.action} {event.hash[:12]}"
        for event in list_audit(store, target=target, outcome="ok", limit=limit)
    ]


def gather_model_evidence(
    settings: Settings,
    store: Store,
    client: MlflowClient,
    name: str,
    version: str,
    data: SystemData | None,
) -> ModelEvidence:
    """Collect the registry, lineage and data evidence of ``name`` version ``version`` and run
    the accuracy, fairness, robustness and model-file tests on it."""
    from iml4e.registry.events import registry_events
    from iml4e.registry.promotion import model_version
    from iml4e.registry.provenance import version_lineage

    detail = model_version(client, store, name, version)
    evidence = ModelEvidence(
        detail=detail,
        events=registry_events(store, name, version=str(version)),
        lineage=version_lineage(store, name, str(version)),
        run_started_at=_run_started_at(client, detail.run_id),
        promotions=registry_events(store, name, kinds=("promoted",)),
        audit_links=audit_links(store, f"model:{name}@{version}"),
    )
    if evidence.lineage is None:
        evidence.problems["lineage"] = "no pipeline step recorded this version"
    else:
        evidence.datasets = _check_datasets(store, evidence.lineage)
    if data is None:
        evidence.problems["test_rows"] = "the system file has no data section"
    elif evidence.lineage is not None:
        _find_rows(settings, store, evidence, evidence.lineage, data)
    _scan_and_test(settings, evidence, name, version, data)
    return evidence


def _run_started_at(client: MlflowClient, run_id: str | None) -> datetime | None:
    if not run_id:
        return None
    from mlflow.exceptions import MlflowException

    try:
        started_ms = client.get_run(run_id).info.start_time
    except MlflowException:
        return None
    return datetime.fromtimestamp(started_ms / 1000, UTC).replace(tzinfo=None)


def _check_datasets(store: Store, lineage: VersionLineage) -> list[DatasetCheck]:
    from iml4e.data.catalog import (
        content_hash,
        get_dataset_version,
        list_dataset_versions,
        read_dataset_version,
    )

    checks = []
    for dataset in lineage.datasets:
        newest = max(info.version for info in list_dataset_versions(store, dataset.name))
        pinned = (dataset.name, dataset.version, dataset.content_hash, dataset.rows)
        try:
            frame = read_dataset_version(get_dataset_version(store, dataset.name, dataset.version))
        except Iml4eError as error:
            checks.append(DatasetCheck(*pinned, None, newest, problem=str(error)))
            continue
        checks.append(
            DatasetCheck(
                *pinned,
                content_hash(frame) == dataset.content_hash,
                newest,
                missing_rate=missing_rate(frame),
                duplicate_rate=duplicate_rate(frame),
            )
        )
    return checks


def _find_rows(
    settings: Settings,
    store: Store,
    evidence: ModelEvidence,
    lineage: VersionLineage,
    data: SystemData,
) -> None:
    """Read the training and test rows the lineage's steps took as inputs."""
    from iml4e.pipelines.artifacts import artifact_store_for
    from iml4e.pipelines.records import get_run

    refs: dict[str, Any] = {}
    for run_id in lineage.pipeline_run_ids:
        for step in get_run(store, run_id).steps:
            for role, input_name in (("train", data.train_input), ("test", data.test_input)):
                if input_name in step.inputs and role not in refs:
                    refs[role] = step.inputs[input_name]
    artifacts = artifact_store_for(settings.artifact_location_uri)
    for role in ("train", "test"):
        key = f"{role}_rows"
        if role not in refs:
            input_name = data.train_input if role == "train" else data.test_input
            evidence.problems[key] = f"no step in the lineage took an input named {input_name!r}"
            continue
        try:
            frame = artifacts.load(refs[role])
        except Iml4eError as error:
            evidence.problems[key] = str(error)
            continue
        if not isinstance(frame, pd.DataFrame) or data.target not in frame.columns:
            evidence.problems[key] = f"the {role} rows hold no column {data.target!r}"
            continue
        setattr(evidence, role, frame)


def _scan_and_test(
    settings: Settings,
    evidence: ModelEvidence,
    name: str,
    version: str,
    data: SystemData | None,
) -> None:
    """Download the model files once: scan them, load the model, test it on the test rows."""
    import mlflow

    from iml4e.compliance.model_files import scan_model_files
    from iml4e.tracking.client import activate_tracking

    activate_tracking(settings)
    with tempfile.TemporaryDirectory(prefix="iml4e-assess-") as folder:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=folder
            )
        except Exception as error:  # MLflow raises several unrelated types here
            evidence.problems["model_artifacts"] = f"cannot download the model files: {error}"
            return
        evidence.scan = scan_model_files(Path(local))
        if evidence.test is None or data is None:
            return
        if evidence.scan.unsafe:
            evidence.problems["evaluation_metrics"] = "not loaded: the model files are unsafe"
            return
        model = mlflow.pyfunc.load_model(local)
        _test_model(evidence, model, evidence.test, data)


def _test_model(evidence: ModelEvidence, model: Any, test: pd.DataFrame, data: SystemData) -> None:
    from iml4e.compliance.fairness import fairness_report
    from iml4e.compliance.robustness import robustness_report

    features = test.drop(columns=[data.target])
    labels = test[data.target]
    predictions = pd.Series(_as_labels(model.predict(features)), index=labels.index)
    evidence.predictions = predictions
    evidence.accuracy = accuracy_interval(labels, predictions)
    try:
        evidence.fairness = fairness_report(
            labels,
            predictions,
            evidence.groups(test, data),
            positive_label=data.positive_label,
        )
    except ComplianceError as error:
        evidence.problems["fairness_report"] = str(error)
    evidence.robustness = robustness_report(model, features, labels)


def _as_labels(predicted: Any) -> Any:
    """A pyfunc answer as one label per row (a one-column frame becomes its column)."""
    if isinstance(predicted, pd.DataFrame):
        return predicted.iloc[:, 0].to_numpy()
    return predicted
