"""Build :class:`DocumentFacts` for a system from the store: the newest assessment of a
version and what the registry, lineage, serving, monitoring and incidents hold about it.

The newest assessment supplies the measured parts (accuracy with its interval, fairness,
robustness, model-file hashes) from the evidence stored with its results, so a document says
exactly what was assessed.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from iml4e.compliance.assessment import AssessmentInfo, latest_assessment
from iml4e.compliance.document_facts import (
    AssessmentFacts,
    ControlFacts,
    DatasetFacts,
    DeploymentFacts,
    DocumentFacts,
    EvaluationFacts,
    IncidentFacts,
    ModelFacts,
    ObligationFacts,
    StepFacts,
    SystemFacts,
)
from iml4e.compliance.systems import SystemRecord, get_system
from iml4e.store.models import utcnow

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.store import Store


def document_facts(
    store: Store,
    client: MlflowClient,
    system_name: str,
    *,
    model_name: str | None = None,
    version: str | None = None,
    on: date | None = None,
) -> DocumentFacts:
    """The facts about ``system_name`` and one model version (the newest assessed one)."""
    system = get_system(store, system_name)
    assessment = latest_assessment(store, system.name, model_name, version)
    model_name = model_name or (assessment.model_name if assessment else system.models[0])
    version = version or (assessment.model_version if assessment else None)
    now = utcnow()
    on = on or now.date()
    model = _model_facts(store, client, model_name, version, assessment) if version else None
    datasets, steps = _lineage_facts(store, system, model_name, version)
    return DocumentFacts(
        system=_system_facts(system),
        generated_at=now,
        on=on,
        model=model,
        datasets=datasets,
        steps=steps,
        evaluation=_evaluation_facts(assessment),
        assessment=_assessment_facts(assessment),
        controls=_control_facts(assessment),
        deployments=_deployment_facts(store, model_name),
        incidents=_incident_facts(store, system.name),
        obligations=_obligations(system, on),
        human=system.definition.human_parts(),
        catalogue_version=assessment.catalogue_version if assessment else "",
        policy_signed_off_by=system.policy.signed_off_by if system.policy else None,
        policy_signed_off_at=system.policy.signed_off_at if system.policy else None,
    )


def _system_facts(system: SystemRecord) -> SystemFacts:
    definition, classification = system.definition, system.classification
    return SystemFacts(
        name=system.name,
        intended_purpose=definition.intended_purpose,
        provider=definition.provider,
        role=definition.role,
        users_affected=definition.users_affected,
        models=definition.models,
        tier=classification.tier,
        reasons=tuple(classification.reasons),
        articles=tuple(classification.articles),
        annex_iii=tuple(classification.annex_iii),
        transparency=tuple(classification.transparency),
        gpai=classification.gpai,
    )


def _model_facts(
    store: Store,
    client: MlflowClient,
    name: str,
    version: str,
    assessment: AssessmentInfo | None,
) -> ModelFacts:
    from iml4e.registry.events import registry_events
    from iml4e.registry.promotion import model_version

    detail = model_version(client, store, name, version)
    events = registry_events(store, name, version=str(version))
    registered = next((event for event in events if event.kind == "registered"), None)
    found = client.get_model_version(name, str(version))
    params: dict[str, str] = {}
    inputs: tuple[dict[str, Any], ...] = ()
    outputs: tuple[dict[str, Any], ...] = ()
    flavors: tuple[str, ...] = ()
    if detail.run_id:
        params = dict(client.get_run(detail.run_id).data.params)
        inputs, outputs, flavors = _signature(found)
    return ModelFacts(
        name=name,
        version=str(version),
        run_id=detail.run_id,
        registered_at=registered.created_at if registered else None,
        aliases=detail.aliases,
        metrics=dict(detail.metrics),
        params=params,
        flavors=flavors,
        inputs=inputs,
        outputs=outputs,
        artifact_files=_artifact_files(assessment),
        approvals=tuple(
            {"actor": event.actor, "at": event.created_at, "note": event.detail.get("note", "")}
            for event in events
            if event.kind == "approved"
        ),
        registered_by=registered.actor if registered else None,
    )


def _artifact_files(assessment: AssessmentInfo | None) -> tuple[dict[str, Any], ...]:
    """The model files and hashes the assessment's model-file check recorded."""
    if assessment is None:
        return ()
    try:
        files = assessment.result("ART15-MODEL-FILE-SAFETY").evidence.get("files") or {}
    except KeyError:
        return ()
    return tuple(
        {"path": path, "sha256": digest, "size_bytes": None} for path, digest in files.items()
    )


def _signature(found: Any) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...], tuple]:
    """The logged model's input and output columns and flavors (from its MLmodel file)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        info = mlflow.models.get_model_info(found.source)
    except (MlflowException, OSError):
        return (), (), ()
    signature = info.signature
    flavors = tuple(sorted(info.flavors))
    if signature is None:
        return (), (), flavors
    inputs = tuple(_column(spec) for spec in signature.inputs.inputs)
    outputs = tuple(_column(spec) for spec in signature.outputs.inputs) if signature.outputs else ()
    return inputs, outputs, flavors


def _column(spec: Any) -> dict[str, Any]:
    kind = getattr(spec, "type", None)
    return {
        "name": getattr(spec, "name", None) or "(unnamed)",
        "type": getattr(kind, "name", str(kind)),
        "required": bool(getattr(spec, "required", True)),
    }


def _lineage_facts(
    store: Store, system: SystemRecord, model_name: str, version: str | None
) -> tuple[tuple[DatasetFacts, ...], tuple[StepFacts, ...]]:
    from iml4e.data.catalog import get_dataset_version
    from iml4e.registry.provenance import version_lineage

    lineage = version_lineage(store, model_name, version) if version else None
    if lineage is None:
        return (), ()
    sheets = system.definition.datasheets
    datasets = tuple(
        DatasetFacts(
            name=dataset.name,
            version=dataset.version,
            content_hash=dataset.content_hash,
            rows=dataset.rows,
            source=get_dataset_version(store, dataset.name, dataset.version).source,
            datasheet=dict(sheets.get(dataset.name, {})),
        )
        for dataset in lineage.datasets
    )
    steps = tuple(
        StepFacts(step.name, step.pipeline, step.pipeline_run_id, step.code_hash, step.status)
        for step in lineage.steps
    )
    return datasets, steps


def _evaluation_facts(assessment: AssessmentInfo | None) -> EvaluationFacts | None:
    if assessment is None:
        return None
    try:
        accuracy = assessment.result("ART15-ACCURACY-CI").evidence
        fairness = assessment.result("ART15-FAIRNESS").evidence
        robustness = assessment.result("ART15-ROBUSTNESS").evidence
    except KeyError:
        return None
    if "accuracy" not in accuracy:
        return None
    return EvaluationFacts(
        n_test_rows=int(accuracy.get("n", 0)),
        accuracy=float(accuracy["accuracy"]),
        accuracy_low=float(accuracy["low"]),
        accuracy_high=float(accuracy["high"]),
        fairness=tuple(fairness.get("features", [])),
        robustness=robustness or None,
    )


def _assessment_facts(assessment: AssessmentInfo | None) -> AssessmentFacts | None:
    if assessment is None:
        return None
    return AssessmentFacts(
        id=assessment.id,
        created_at=assessment.created_at,
        stale=assessment.stale,
        stale_reasons=assessment.stale_reasons,
        counts=assessment.counts(),
    )


def _control_facts(assessment: AssessmentInfo | None) -> tuple[ControlFacts, ...]:
    if assessment is None:
        return ()
    return tuple(
        ControlFacts(
            id=result.control_id,
            title=result.title,
            articles=result.articles,
            type=result.type,
            status=result.status,
            detail=result.detail,
            required_for_promotion=result.required_for_promotion,
            taken_at=result.taken_at,
            attested_by=result.attested_by,
        )
        for result in assessment.results
    )


def _deployment_facts(store: Store, model_name: str) -> tuple[DeploymentFacts, ...]:
    from iml4e.monitoring.alerts import alert_states
    from iml4e.monitoring.reports import latest_reports, reports_of
    from iml4e.serving.deployments import list_deployments

    latest = {report.deployment: report for report in latest_reports(store)}
    facts = []
    for deployment in list_deployments(store):
        if deployment.model_name != model_name:
            continue
        states = alert_states(store, deployment.name)
        reports = tuple(_report(report) for report in reports_of(store, deployment.name))
        facts.append(
            DeploymentFacts(
                name=deployment.name,
                model_version=deployment.model_version,
                state=deployment.state,
                url=deployment.url,
                logging_enabled=True,
                latest_report=_report(latest[deployment.name])
                if deployment.name in latest
                else None,
                firing_alerts=tuple(state.rule for state in states if state.state == "firing"),
                alert_rules=tuple(state.rule for state in states),
                reports=reports,
            )
        )
    return tuple(facts)


def _report(report: Any) -> dict[str, Any]:
    drifted = sorted(
        name.removeprefix("drift.drifted.")
        for name, value in report.metrics.items()
        if name.startswith("drift.drifted.") and value
    )
    return {
        "id": report.report_id,
        "created_at": report.created_at,
        "n_rows": report.n_rows,
        "drifted": drifted,
        "metrics": {
            name: value
            for name, value in report.metrics.items()
            if name.startswith(("performance.", "drift.share", "latency."))
        },
    }


def _incident_facts(store: Store, system: str) -> tuple[IncidentFacts, ...]:
    from iml4e.compliance.incidents import list_incidents

    return tuple(
        IncidentFacts(
            id=incident.id,
            deployment=incident.deployment,
            severity=incident.severity,
            title=incident.title,
            description=incident.description,
            opened_at=incident.opened_at,
            due_at=incident.due_at,
            reported_at=incident.reported_at,
            state=incident.state,
        )
        for incident in list_incidents(store, system=system)
    )


def _obligations(system: SystemRecord, on: date) -> tuple[ObligationFacts, ...]:
    from iml4e.compliance.legal_calendar import obligations_in_force

    classification = system.classification
    annex: Literal["III", "I"] | None = None
    if classification.annex_iii:
        annex = "III"
    elif "Art. 6(1)" in classification.articles:
        annex = "I"
    return tuple(
        ObligationFacts(
            obligation.name, tuple(obligation.articles), obligation.applies_from, obligation.status
        )
        for obligation in obligations_in_force(
            on,
            tier=classification.tier,
            annex=annex,
            gpai=classification.gpai,
            transparency=bool(classification.transparency),
        )
    )
