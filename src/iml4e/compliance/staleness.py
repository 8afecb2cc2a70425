"""When an assessment goes stale: what it rested on changed, or something happened since.

The basis recorded with each assessment names the intended purpose (by digest), the policy,
the catalogue version, the dataset versions of the lineage and the deployment with the version
it served. An assessment is stale when any of those differ now, when a newer version of one of
its datasets is registered, or when, after it was taken, the deployment was retrained, one of
its alerts started firing, or an incident was opened against the system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iml4e.compliance.catalogue import ControlCatalogue
from iml4e.compliance.systems import SystemRecord, get_system
from iml4e.errors import BadInput
from iml4e.store import Store
from iml4e.store.models import naive_utc

if TYPE_CHECKING:
    from iml4e.compliance.evidence_model import ModelEvidence
    from iml4e.serving.deployments import DeploymentInfo
    from iml4e.store.models import ComplianceAssessment


def assessment_basis(
    system: SystemRecord,
    model: ModelEvidence,
    served: DeploymentInfo | None,
    catalogue: ControlCatalogue,
) -> dict[str, Any]:
    """What an assessment rests on, recorded with it."""
    return {
        "purpose_digest": system.classification.purpose_digest,
        "policy_digest": system.policy_digest(),
        "catalogue_version": catalogue.version,
        "datasets": {check.name: check.version for check in model.datasets},
        "deployment_version": served.model_version if served else None,
    }


def stale_reasons(
    store: Store, row: ComplianceAssessment, catalogue: ControlCatalogue
) -> list[str]:
    """Why the assessment ``row`` no longer holds (empty while it does)."""
    try:
        system = get_system(store, row.system)
    except BadInput:
        return ["the system is no longer registered"]
    basis = row.basis or {}
    reasons = _changed_basis(system, basis, catalogue)
    reasons += _newer_datasets(store, basis.get("datasets") or {}, row)
    if row.deployment is not None:
        reasons += _deployment_changes(store, row, basis.get("deployment_version"))
    reasons += [
        f"incident #{incident.id} ({incident.severity}) opened {incident.opened_at:%Y-%m-%d %H:%M}"
        for incident in _incidents_since(store, system.name, row)
    ]
    return reasons


def _changed_basis(
    system: SystemRecord, basis: dict[str, Any], catalogue: ControlCatalogue
) -> list[str]:
    reasons = []
    if basis.get("purpose_digest") != system.classification.purpose_digest:
        reasons.append("the intended purpose changed: the system was reclassified")
    if basis.get("policy_digest") != system.policy_digest():
        reasons.append("the compliance policy changed")
    if basis.get("catalogue_version") != catalogue.version:
        reasons.append(
            f"the control catalogue is now {catalogue.version} "
            f"(assessed with {basis.get('catalogue_version')})"
        )
    return reasons


def _newer_datasets(store: Store, datasets: dict[str, int], row: ComplianceAssessment) -> list[str]:
    """Versions of the lineage's datasets registered after the assessment was taken."""
    from iml4e.data.catalog import list_dataset_versions

    reasons = []
    for name, version in datasets.items():
        newer = [
            info
            for info in list_dataset_versions(store, name)
            if info.version > version and naive_utc(info.created_at) > row.created_at
        ]
        if newer:
            newest = max(info.version for info in newer)
            reasons.append(f"a new dataset version {name}@{newest} (assessed on {name}@{version})")
    return reasons


def _deployment_changes(
    store: Store, row: ComplianceAssessment, served_version: str | None
) -> list[str]:
    from iml4e.monitoring.alerts import alert_history
    from iml4e.serving.deployments import deployment_events, get_deployment

    name = row.deployment
    try:
        deployment = get_deployment(store, name)
    except BadInput:
        return [f"deployment {name} no longer exists"]
    reasons = []
    if served_version is not None and deployment.model_version != served_version:
        reasons.append(
            f"{name} now serves version {deployment.model_version} (assessed: {served_version})"
        )
    for event in deployment_events(store, name):
        if event["kind"] == "retrained" and event["at"] > row.created_at:
            reasons.append(f"{name} was retrained at {event['at']:%Y-%m-%d %H:%M}")
    for event in alert_history(store, name):
        if event.state == "firing" and event.created_at and event.created_at > row.created_at:
            reasons.append(f"alert {event.rule} fired at {event.created_at:%Y-%m-%d %H:%M}")
    return reasons


def _incidents_since(store: Store, system: str, row: ComplianceAssessment) -> list[Any]:
    from iml4e.compliance.incidents import list_incidents

    return [
        incident
        for incident in list_incidents(store, system=system)
        if incident.opened_at > row.created_at
    ]
