"""Every state change made through iml4e's Python APIs leaves its audit event, and the chain
still verifies. One test per room, with the real APIs on a real store."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from iml4e.audit import AuditRecord, list_audit, verify_audit
from iml4e.compliance.policy import CompliancePolicy
from iml4e.config import Settings
from iml4e.ports import find_free_port
from iml4e.registry import PromotionRejected, approve, promote, remove_alias, rollback, set_alias
from iml4e.registry.policy import PromotionPolicy
from iml4e.store import Store, open_store
from tests.registry.conftest import MODEL, open_registry
from tests.serving.conftest import RegisteredModel


def _trail(store: Store) -> list[tuple[str, str, str, str]]:
    """(actor, action, target, outcome) of every event, oldest first."""
    return [(r.actor, r.action, r.target, r.outcome) for r in _events(store)]


def _events(store: Store) -> list[AuditRecord]:
    return list_audit(store, limit=10_000)[::-1]


def _intact(store: Store) -> None:
    result = verify_audit(store)
    assert result.ok, result.problem


def test_registry_changes_are_audited(backend_settings: Settings) -> None:
    registry = open_registry(backend_settings)
    store, client = registry.store, registry.client
    try:
        v1 = registry.add_version({"accuracy": 0.9})
        v2 = registry.add_version({"accuracy": 0.5})
        set_alias(client, MODEL, "candidate", v1, store=store, actor="alice")
        assert remove_alias(client, MODEL, "candidate", store=store, actor="alice") == v1
        assert remove_alias(client, MODEL, "candidate", store=store, actor="alice") is None
        approve(client, store, MODEL, v1, actor="bob", note="looks right")
        policy = PromotionPolicy(model=MODEL, to="champion", thresholds=("accuracy>=0.8",))
        promote(client, store, MODEL, v1, policy=policy, actor="carol")
        with pytest.raises(PromotionRejected):
            promote(client, store, MODEL, v2, policy=policy, actor="mallory")
        rollback(client, store, MODEL, actor="carol")

        assert _trail(store) == [
            ("pipeline", "registry.register", f"model:{MODEL}@{v1}", "ok"),
            ("pipeline", "registry.register", f"model:{MODEL}@{v2}", "ok"),
            ("alice", "registry.alias_set", f"model:{MODEL}@{v1}", "ok"),
            ("alice", "registry.alias_removed", f"model:{MODEL}@{v1}", "ok"),  # once: 2nd no-op
            ("bob", "registry.approve", f"model:{MODEL}@{v1}", "ok"),
            ("carol", "registry.promote", f"model:{MODEL}@{v1}", "ok"),
            ("mallory", "registry.promote", f"model:{MODEL}@{v2}", "denied"),
            ("carol", "registry.rollback", f"model:{MODEL}@{v1}", "ok"),
        ]
        events = _events(store)
        assert events[2].detail == {"alias": "candidate", "previous_version": None}
        assert events[5].detail == {"alias": "champion", "previous_version": None}
        denied = events[6].detail
        assert denied["alias"] == "champion" and denied["previous_version"] == v1
        assert any("accuracy" in failure for failure in denied["failures"])
        assert events[7].detail["restored_version"] is None
        _intact(store)
    finally:
        store.close()


def test_operator_actions_are_audited(store: Store, backend_settings: Settings) -> None:
    from iml4e.serving.deployments import record_deployment
    from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord
    from iml4e.serving.operator import pause_deployment, record_override, resume_deployment

    record_deployment(store, "credit", model_name="m", model_version="3", url=None, actor="t")
    writer = InferenceLogWriter(store, backend_settings.inference_log_root, "credit")
    writer.append(
        InferenceRecord("r1", time.time(), "credit", "m", "3", "mlflow", [{"x": 1}], [1], 1.0)
    )
    writer.close()
    pause_deployment(store, "credit", actor="olga", reason="drift alert")
    resume_deployment(store, "credit", actor="olga")
    record_override(store, "credit", request_id="r1", value=0, actor="olga", reason="appeal")

    assert _trail(store) == [
        ("olga", "deployment.pause", "deployment:credit", "ok"),
        ("olga", "deployment.resume", "deployment:credit", "ok"),
        ("olga", "deployment.override", "deployment:credit", "ok"),
    ]
    events = _events(store)
    assert events[0].detail == {"reason": "drift alert"}
    assert events[2].detail == {"request_id": "r1", "model_version": "3", "reason": "appeal"}
    _intact(store)


@pytest.mark.slow
def test_deployments_created_and_stopped_are_audited(registered_model: RegisteredModel) -> None:
    from iml4e.serving.manager import create_deployment, stop_deployment

    settings = registered_model.settings
    create_deployment(
        settings, "audited", model=f"{registered_model.name}/1", port=find_free_port()
    )
    stop_deployment(settings, "audited", actor="alice")
    stop_deployment(settings, "audited", actor="alice")  # not running: nothing changes
    with open_store(settings) as store:
        mine = [r for r in _events(store) if r.target == "deployment:audited"]
        assert [(r.actor, r.action) for r in mine] == [
            (settings.user, "deployment.create"),
            ("alice", "deployment.stop"),
        ]
        assert mine[0].detail["model"] == f"{registered_model.name}@1"
        _intact(store)


def test_acknowledging_an_alert_is_audited(store: Store) -> None:
    from iml4e.monitoring.alert_rules import parse_alert_rules
    from iml4e.monitoring.alerts import acknowledge_alert, evaluate_alerts

    rule = {"name": "drift", "metric": "drift.share", "op": ">=", "threshold": 0.3}
    rules = parse_alert_rules(
        {"deployment": "credit", "rules": [{**rule, "window": "1h", "for": 1}]}, source="t"
    )
    evaluate_alerts(store, rules, {"drift.share": 0.9})
    acknowledge_alert(store, "credit", "drift", actor="ops", note="retraining")

    assert _trail(store) == [("ops", "monitor.acknowledge", "alert:credit/drift", "ok")]
    assert _events(store)[0].detail["alert_state"] == "firing"
    _intact(store)


def test_a_new_dataset_version_is_audited_once(store: Store) -> None:
    from iml4e.data.catalog import register_dataset_version

    frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    first = register_dataset_version(store, "loans", frame, source="test", actor="dora")
    again = register_dataset_version(store, "loans", frame, source="test", actor="dora")
    assert again.version == first.version  # the same content: nothing new, nothing audited
    register_dataset_version(store, "loans", frame.head(2), source="test", actor="dora")

    assert _trail(store) == [
        ("dora", "data.register", "dataset:loans@1", "ok"),
        ("dora", "data.register", "dataset:loans@2", "ok"),
    ]
    assert _events(store)[0].detail == {
        "content_hash": first.content_hash,
        "rows": 3,
        "source": "test",
    }
    _intact(store)


def _policy(tmp_path: Path, signed_off_by: str = "Rita Risk") -> CompliancePolicy:
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.compliance.policy import load_compliance_policy, policy_template_text

    values = yaml.safe_load(policy_template_text())
    values.update(
        system="credit-scoring", signed_off_by=signed_off_by, signed_off_at="2026-01-01T00:00:00Z"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return load_compliance_policy(path, load_catalogue())


def test_compliance_changes_are_audited(backend_settings: Settings, tmp_path: Path) -> None:
    from iml4e.compliance.assessment import assess
    from iml4e.compliance.attestations import attest
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.compliance.incidents import (
        close_incident,
        open_incident,
        override_freeze,
        report_incident,
    )
    from iml4e.compliance.reports import generate_document
    from iml4e.compliance.systems import (
        load_system_file,
        register_system,
        set_system_policy,
        system_example_path,
    )
    from iml4e.serving.deployments import record_deployment

    registry = open_registry(backend_settings)
    store, client = registry.store, registry.client
    try:
        version = registry.add_version({"accuracy": 0.9})  # the credit-scoring system's model
        before = len(_events(store))
        definition = load_system_file(system_example_path("credit_scoring"))
        system = register_system(store, definition, actor="rita").name
        set_system_policy(store, system, _policy(tmp_path), actor="rita")
        catalogue = load_catalogue()
        control = next(c for c in catalogue.for_tier("high-risk") if c.type != "automatic")
        attest(
            store,
            client,
            catalogue,
            system=system,
            control_id=control.id,
            actor="otto",
            statement="Reviewed.",
            version=version,
        )
        record_deployment(
            store, "credit-prod", model_name=MODEL, model_version=version, url=None, actor="t"
        )
        incident = open_incident(
            store,
            system=system,
            deployment="credit-prod",
            severity="serious",
            title="Refusals for one postcode",
            actor="otto",
        ).id
        override_freeze(store, incident, actor="rita", reason="the fix for this incident")
        report_incident(store, incident, actor="otto")
        close_incident(store, incident, actor="otto", note="fixed in the next version")
        assessment = assess(backend_settings, store, system, actor="otto", version=version)
        document = generate_document(
            backend_settings,
            store,
            system,
            actor="otto",
            kind="annex-iv",
            fmt="md",
            version=version,
        )

        events = _events(store)[before:]
        assert [(r.actor, r.action, r.target, r.outcome) for r in events] == [
            ("rita", "compliance.register", f"system:{system}", "ok"),
            ("rita", "compliance.policy", f"system:{system}", "ok"),
            ("otto", "compliance.attest", f"system:{system}", "ok"),
            ("otto", "compliance.incident_open", f"incident:{incident}", "ok"),
            ("rita", "compliance.freeze_override", f"incident:{incident}", "ok"),
            ("otto", "compliance.incident_report", f"incident:{incident}", "ok"),
            ("otto", "compliance.incident_close", f"incident:{incident}", "ok"),
            ("otto", "compliance.assess", f"system:{system}", "ok"),
            ("otto", "compliance.document", f"system:{system}", "ok"),
        ]
        assert events[1].detail["signed_off_by"] == "Rita Risk"
        assert events[2].detail["control"] == control.id
        assert events[7].detail["assessment"] == assessment.id
        assert events[7].detail["counts"] == assessment.counts()
        assert events[8].detail["kind"] == "annex-iv"
        assert events[8].detail["sha256"] == document.sha256
        _intact(store)
    finally:
        store.close()
