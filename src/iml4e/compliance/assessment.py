"""Assessments: one result per control for a model version of a system, with its evidence.

``assess`` gathers the evidence once (registry, lineage, data, the model's own tests, the
deployment, its log and monitors), runs every control of the system's tier and stores the
results in one transaction. An assessment rests on a *basis* (the intended purpose, the policy,
the catalogue, the dataset versions, the deployment); when any of it changes, or the deployment
is retrained, an alert fires or an incident is opened, the assessment is stale
(:mod:`iml4e.compliance.staleness`) and is assessed again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.compliance.attestations import AttestationInfo, attestations_covering
from iml4e.compliance.catalogue import Control, ControlCatalogue, load_catalogue
from iml4e.compliance.checks import (
    FAIL,
    NEEDS_ATTESTATION,
    NOT_APPLICABLE,
    PASS,
    CheckContext,
    Outcome,
    all_checks,
)
from iml4e.compliance.errors import ComplianceError
from iml4e.compliance.systems import SystemRecord, get_system
from iml4e.errors import BadInput
from iml4e.store import Store
from iml4e.store.models import ComplianceAssessment, ControlResult, utcnow

if TYPE_CHECKING:
    from iml4e.config import Settings

TAMPER_CONTROL = "ART12-TAMPER-EVIDENCE"
MODEL_FILE_CONTROL = "ART15-MODEL-FILE-SAFETY"


class ModelNotInSystem(BadInput, ComplianceError):
    """The model is not one the system uses, or the system uses several and none was named."""


@dataclass(frozen=True)
class ControlResultInfo:
    """One control's result, with the control's description and any attestation."""

    control_id: str
    title: str
    articles: tuple[str, ...]
    type: str
    required_for_promotion: bool
    status: str
    detail: str
    evidence: dict[str, Any]
    taken_at: datetime
    attested_by: str | None = None

    @property
    def blocks_promotion(self) -> bool:
        """A required control that fails or awaits an attestation."""
        return self.required_for_promotion and self.status in (FAIL, NEEDS_ATTESTATION)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "control": self.control_id,
            "title": self.title,
            "articles": list(self.articles),
            "type": self.type,
            "required_for_promotion": self.required_for_promotion,
            "status": self.status,
            "detail": self.detail,
            "attested_by": self.attested_by,
            "taken_at": self.taken_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class AssessmentInfo:
    """A stored assessment, its results, and whether it has gone stale."""

    id: int
    system: str
    model_name: str
    model_version: str
    deployment: str | None
    catalogue_version: str
    basis: dict[str, Any]
    actor: str
    duration_s: float
    created_at: datetime
    results: tuple[ControlResultInfo, ...]
    stale_reasons: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        """Whether something the assessment rests on changed since."""
        return bool(self.stale_reasons)

    def counts(self) -> dict[str, int]:
        """How many controls are in each status."""
        counts = {status: 0 for status in (PASS, FAIL, NEEDS_ATTESTATION, NOT_APPLICABLE)}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def blocking(self) -> list[ControlResultInfo]:
        """The required controls that fail or await an attestation."""
        return [result for result in self.results if result.blocks_promotion]

    def result(self, control_id: str) -> ControlResultInfo:
        """The result of one control; :class:`KeyError` if it was not assessed."""
        for result in self.results:
            if result.control_id == control_id:
                return result
        raise KeyError(control_id)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "system": self.system,
            "model": self.model_name,
            "version": self.model_version,
            "deployment": self.deployment,
            "catalogue_version": self.catalogue_version,
            "actor": self.actor,
            "duration_s": round(self.duration_s, 3),
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "stale": self.stale,
            "stale_reasons": list(self.stale_reasons),
            "counts": self.counts(),
            "blocking": [result.control_id for result in self.blocking()],
            "results": [result.as_dict() for result in self.results],
        }


def assess(
    settings: Settings,
    store: Store,
    system_name: str,
    *,
    actor: str,
    model_name: str | None = None,
    version: str | None = None,
    deployment: str | None = None,
    catalogue: ControlCatalogue | None = None,
) -> AssessmentInfo:
    """Assess a model version of ``system_name`` against every control of its tier.

    ``model_name`` defaults to the system's model when it uses one; ``version`` to the version
    the deployment serves, else the newest version. ``deployment`` defaults to the first
    deployment serving the model. Returns the stored assessment.
    """
    from iml4e.compliance.evidence_model import gather_model_evidence
    from iml4e.compliance.evidence_runtime import find_deployment, gather_runtime_evidence
    from iml4e.compliance.incidents import list_incidents
    from iml4e.compliance.records import document_records
    from iml4e.compliance.staleness import assessment_basis
    from iml4e.tracking import connect_tracking

    started = time.perf_counter()
    taken_at = utcnow()  # changes from here on are after the assessment
    catalogue = catalogue or load_catalogue()
    system = get_system(store, system_name)
    model_name = _model_of(system, model_name)
    client = connect_tracking(settings, store)
    served = find_deployment(store, model_name, deployment)
    version = str(version) if version is not None else _default_version(client, served, model_name)
    previous = _previous_evidence(store, system.name, model_name, version, served)
    model = gather_model_evidence(
        settings, store, client, model_name, version, system.definition.data
    )
    model.recorded_hashes = previous.get(MODEL_FILE_CONTROL, {}).get("files")
    runtime = gather_runtime_evidence(
        settings, store, served, previous.get(TAMPER_CONTROL, {}).get("sealed", [])
    )
    context = CheckContext(
        system=system,
        policy=system.policy,
        model=model,
        runtime=runtime,
        documents=document_records(store, system.name),
        incidents=list_incidents(store, system=system.name),
        attestations=attestations_covering(store, system.name, model_name, version),
        now=utcnow(),
    )
    checks = all_checks()
    rows = [
        _result_row(control, _evaluate(control, checks, context), context)
        for control in catalogue.for_tier(system.tier)
    ]
    basis = assessment_basis(system, model, served, catalogue)
    with store.session() as session:
        assessment = ComplianceAssessment(
            system=system.name,
            model_name=model_name,
            model_version=version,
            deployment=served.name if served else None,
            catalogue_version=catalogue.version,
            basis=basis,
            actor=actor,
            duration_s=time.perf_counter() - started,
            created_at=taken_at,
            results=rows,
        )
        session.add(assessment)
        session.flush()
        assessment_id = assessment.id
    info = get_assessment(store, assessment_id, catalogue=catalogue)
    record_audit(
        store,
        actor=actor,
        action="compliance.assess",
        target=f"system:{system.name}",
        detail={
            "assessment": assessment_id,
            "model": f"{model_name}@{version}",
            "counts": info.counts(),
            "blocking": len(info.blocking()),
        },
    )
    return info


def get_assessment(
    store: Store, assessment_id: int, *, catalogue: ControlCatalogue | None = None
) -> AssessmentInfo:
    """The stored assessment ``assessment_id``, with attestations since and staleness."""
    from iml4e.compliance.staleness import stale_reasons

    catalogue = catalogue or load_catalogue()
    with store.session() as session:
        row = session.get(ComplianceAssessment, assessment_id)
        if row is None:
            raise ComplianceError("no such assessment", where=f"assessment {assessment_id}")
        results = list(row.results)
        session.expunge_all()
    attestations = attestations_covering(store, row.system, row.model_name, row.model_version)
    added = _added_requirements(store, row.system)
    infos = tuple(_result_info(result, catalogue, attestations, added) for result in results)
    return AssessmentInfo(
        id=row.id,
        system=row.system,
        model_name=row.model_name,
        model_version=row.model_version,
        deployment=row.deployment,
        catalogue_version=row.catalogue_version,
        basis=dict(row.basis),
        actor=row.actor,
        duration_s=row.duration_s,
        created_at=row.created_at,
        results=infos,
        stale_reasons=tuple(stale_reasons(store, row, catalogue)),
    )


def latest_assessment(
    store: Store, system: str, model_name: str | None = None, version: str | None = None
) -> AssessmentInfo | None:
    """The newest assessment of ``system`` (of one model version when given), or None."""
    query = select(ComplianceAssessment.id).where(ComplianceAssessment.system == system)
    if model_name is not None:
        query = query.where(ComplianceAssessment.model_name == model_name)
    if version is not None:
        query = query.where(ComplianceAssessment.model_version == str(version))
    with store.session() as session:
        found = session.scalars(query.order_by(ComplianceAssessment.id.desc()).limit(1)).first()
    return None if found is None else get_assessment(store, found)


def list_assessments(store: Store, system: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest assessments of ``system`` as summaries (no results), newest first."""
    with store.session() as session:
        rows = session.scalars(
            select(ComplianceAssessment)
            .where(ComplianceAssessment.system == system)
            .order_by(ComplianceAssessment.id.desc())
            .limit(limit)
        ).all()
        return [
            {
                "id": row.id,
                "model": row.model_name,
                "version": row.model_version,
                "deployment": row.deployment,
                "created_at": row.created_at.isoformat(timespec="seconds"),
                "duration_s": round(row.duration_s, 3),
            }
            for row in rows
        ]


def reassess_stale(settings: Settings, store: Store, *, actor: str) -> list[AssessmentInfo]:
    """Assess again every system whose latest assessment of a version went stale."""
    from iml4e.compliance.systems import list_systems

    fresh = []
    for system in list_systems(store):
        for model_name in system.models:
            latest = latest_assessment(store, system.name, model_name)
            if latest is not None and latest.stale:
                fresh.append(
                    assess(
                        settings,
                        store,
                        system.name,
                        actor=actor,
                        model_name=model_name,
                        version=_version_to_reassess(store, latest),
                        deployment=latest.deployment,
                    )
                )
    return fresh


def _version_to_reassess(store: Store, latest: AssessmentInfo) -> str:
    """A deployment's assessment follows the version it serves now."""
    from iml4e.serving.deployments import get_deployment

    if latest.deployment is None:
        return latest.model_version
    try:
        return get_deployment(store, latest.deployment).model_version
    except BadInput:
        return latest.model_version


def _model_of(system: SystemRecord, model_name: str | None) -> str:
    if model_name is None:
        if len(system.models) != 1:
            raise ModelNotInSystem(
                f"the system uses {len(system.models)} models; name one", where="--model"
            )
        return system.models[0]
    if model_name not in system.models:
        raise ModelNotInSystem(
            f"system {system.name!r} does not use model {model_name!r} "
            f"(it uses {', '.join(system.models)})",
            where="--model",
        )
    return model_name


def _default_version(client: Any, served: Any, model_name: str) -> str:
    from iml4e.registry.names import search_versions
    from iml4e.registry.versions import current_alias_version

    if served is not None and served.model_name == model_name:
        return str(served.model_version)
    champion = current_alias_version(client, model_name, "champion")
    if champion is not None:
        return champion
    versions = [int(found.version) for found in search_versions(client, model_name)]
    if not versions:
        raise ModelNotInSystem(f"model {model_name!r} has no registered version", where="--model")
    return str(max(versions))


def _previous_evidence(
    store: Store, system: str, model_name: str, version: str, served: Any
) -> dict[str, dict[str, Any]]:
    """The newest stored evidence of the seal and the model-file hashes to carry forward.

    The seal belongs to the deployment (any version); the first recorded model-file hashes
    belong to the version.
    """
    carried: dict[str, dict[str, Any]] = {}
    with store.session() as session:
        if served is not None:
            seal = session.scalars(
                select(ControlResult)
                .join(ComplianceAssessment)
                .where(
                    ComplianceAssessment.deployment == served.name,
                    ControlResult.control_id == TAMPER_CONTROL,
                    ControlResult.status == PASS,
                )
                .order_by(ControlResult.id.desc())
                .limit(1)
            ).first()
            if seal is not None:
                carried[TAMPER_CONTROL] = dict(seal.evidence)
        first_files = session.scalars(
            select(ControlResult)
            .join(ComplianceAssessment)
            .where(
                ComplianceAssessment.system == system,
                ComplianceAssessment.model_name == model_name,
                ComplianceAssessment.model_version == version,
                ControlResult.control_id == MODEL_FILE_CONTROL,
                ControlResult.status == PASS,
            )
            .order_by(ControlResult.id)
            .limit(1)
        ).first()
        if first_files is not None:
            carried[MODEL_FILE_CONTROL] = dict(first_files.evidence)
    return carried


def _evaluate(control: Control, checks: dict[str, Any], context: CheckContext) -> Outcome:
    """The control's status: measured, or completed by an attestation where a person decides."""
    if control.id not in checks:
        raise ComplianceError("the platform has no check for this control", where=control.id)
    outcome: Outcome = checks[control.id](context, control)
    if control.type == "automatic" or outcome.status in (FAIL, NOT_APPLICABLE):
        return outcome
    attestation = context.attestations.get(control.id)
    if attestation is None:
        prefix = "" if control.type == "attestation" else f"{outcome.detail}; "
        return Outcome(
            NEEDS_ATTESTATION, f"{prefix}awaits a person's attestation", outcome.evidence
        )
    return Outcome(PASS, _attested(outcome, control, attestation), outcome.evidence)


def _attested(outcome: Outcome, control: Control, attestation: AttestationInfo) -> str:
    said = f"attested by {attestation.actor} on {attestation.created_at:%Y-%m-%d}"
    return said if control.type == "attestation" else f"{outcome.detail}; {said}"


def _result_row(control: Control, outcome: Outcome, context: CheckContext) -> ControlResult:
    return ControlResult(
        control_id=control.id,
        status=outcome.status,
        detail=outcome.detail,
        evidence=_json_ready(outcome.evidence),
        taken_at=context.now,
    )


def _added_requirements(store: Store, system: str) -> frozenset[str]:
    """The controls the system's policy adds to those required before a promotion."""
    try:
        policy = get_system(store, system).policy
    except BadInput:
        return frozenset()
    return frozenset(policy.require_for_promotion) if policy else frozenset()


def _result_info(
    row: ControlResult,
    catalogue: ControlCatalogue,
    attestations: dict[str, AttestationInfo],
    added: frozenset[str],
) -> ControlResultInfo:
    try:
        control = catalogue.get(row.control_id)
        title, articles, kind = control.title, control.articles, control.type
        required = control.required_for_promotion or control.id in added
    except KeyError:  # a control of an older catalogue
        title, articles, kind, required = row.control_id, (), "automatic", False
    status, detail, attested_by = row.status, row.detail, None
    attestation = attestations.get(row.control_id)
    if attestation is not None and kind != "automatic":
        attested_by = attestation.actor
        if status == NEEDS_ATTESTATION:
            status = PASS
            detail = f"attested by {attestation.actor} on {attestation.created_at:%Y-%m-%d}"
    return ControlResultInfo(
        control_id=row.control_id,
        title=title,
        articles=tuple(articles),
        type=kind,
        required_for_promotion=required,
        status=status,
        detail=detail,
        evidence=dict(row.evidence or {}),
        taken_at=row.taken_at,
        attested_by=attested_by,
    )


def _json_ready(value: Any) -> Any:
    """Evidence as JSON: numpy numbers as floats, timestamps as ISO text, tuples as lists."""
    import numpy as np

    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return value
