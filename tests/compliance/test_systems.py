"""AI systems, attestations, document records and incidents on both backends: what is
registered round-trips through the JSON columns, and everything refused writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from iml4e.compliance.attestations import attest, attestations_covering, list_attestations
from iml4e.compliance.catalogue import Control, load_catalogue
from iml4e.compliance.errors import (
    AttestationInvalid,
    CatalogueInvalid,
    IncidentInvalid,
    QuestionnaireIncomplete,
    UnknownControl,
    UnknownSystem,
)
from iml4e.compliance.gate import check_promotion
from iml4e.compliance.incidents import (
    close_incident,
    freezing_incidents,
    get_incident,
    list_incidents,
    open_incident,
    override_freeze,
    report_incident,
)
from iml4e.compliance.policy import CompliancePolicy, load_compliance_policy, policy_template_text
from iml4e.compliance.records import document_records, record_document
from iml4e.compliance.systems import (
    SystemDefinition,
    SystemRecord,
    get_system,
    list_systems,
    load_system_file,
    register_system,
    set_system_policy,
    system_example_path,
    systems_using_model,
)
from iml4e.config import Settings
from iml4e.serving.deployments import deployment_events, record_deployment
from iml4e.store import Store
from iml4e.tracking import connect_tracking

SYSTEM = "credit-scoring"
MODEL = "credit-default"
OFFICER = "Colm Compliance"


def _example() -> dict[str, Any]:
    return yaml.safe_load(system_example_path("credit_scoring").read_text(encoding="utf-8"))


def _write(folder: Path, name: str, raw: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _policy(folder: Path, **changes: Any) -> CompliancePolicy:
    raw = yaml.safe_load(policy_template_text())
    raw.update(system=SYSTEM, signed_off_by="Rita Risk", signed_off_at="2026-01-01T00:00:00Z")
    raw.update(changes)
    path = _write(folder, "policy.yaml", raw)
    if changes:  # a policy for another system or tier: built as the file says, not loaded
        return CompliancePolicy.model_validate(raw)
    return load_compliance_policy(path, load_catalogue())


def _snapshot(store: Store) -> list[tuple[Any, ...]]:
    return [
        (
            record.name,
            record.definition,
            record.classification,
            record.policy,
            record.created_at,
            record.updated_at,
        )
        for record in list_systems(store)
    ]


def _registered(store: Store, tmp_path: Path) -> SystemRecord:
    return register_system(
        store, load_system_file(system_example_path("credit_scoring")), policy=_policy(tmp_path)
    )


def test_the_shipped_system_registers_as_high_risk_and_round_trips(
    store: Store, tmp_path: Path
) -> None:
    definition = load_system_file(system_example_path("credit_scoring"))
    record = register_system(store, definition, policy=_policy(tmp_path))
    assert record.tier == "high-risk"
    assert record.classification.annex_iii == ["5(b)"]
    assert any("5(b)" in reason for reason in record.classification.reasons)
    assert record.models == (MODEL,)

    stored = get_system(store, SYSTEM)
    assert stored.definition == definition
    assert stored.classification == record.classification
    assert stored.policy == record.policy and stored.policy is not None
    assert stored.policy_digest() == record.policy_digest()
    assert [entry.risk for entry in stored.definition.risk_register] == [
        entry["risk"] for entry in _example()["risk_register"]
    ]
    assert stored.definition.risk_register[0].covers("17")
    assert stored.definition.data is not None
    assert [spec.column for spec in stored.definition.data.sensitive_features] == ["sex"]
    assert stored.definition.datasheets["credit-applications"]["labelling"].startswith(
        "Default within 12 months"
    )
    assert stored.definition.human_parts()["oversight"]["staff"] == [
        "Head of credit risk",
        "Credit officers on duty",
    ]
    assert [system.name for system in list_systems(store)] == [SYSTEM]
    assert [system.name for system in systems_using_model(store, MODEL)] == [SYSTEM]
    assert systems_using_model(store, "wine-quality") == []
    with pytest.raises(UnknownSystem) as unknown:
        get_system(store, "no-such-system")
    assert unknown.value.where == "no-such-system"


def test_another_intended_purpose_reclassifies_the_same_row(store: Store, tmp_path: Path) -> None:
    first = _registered(store, tmp_path)
    raw = _example()
    raw["answers"]["intended_purpose"] = "Score applicants for consumer loans of a credit union."
    changed = register_system(store, load_system_file(_write(tmp_path, "s.yaml", raw)))
    assert changed.classification.purpose_digest != first.classification.purpose_digest
    assert changed.definition.intended_purpose == raw["answers"]["intended_purpose"]
    assert changed.tier == "high-risk"
    assert changed.policy == first.policy  # kept when registering without one, same tier
    assert changed.created_at == first.created_at
    systems = list_systems(store)
    assert len(systems) == 1
    assert systems[0].classification.purpose_digest == changed.classification.purpose_digest


def test_an_incomplete_questionnaire_names_the_question_and_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    _registered(store, tmp_path)
    before = _snapshot(store)
    raw = _example()
    del raw["answers"]["profiling"]
    raw["answers"]["intended_purpose"] = "Something else entirely."
    with pytest.raises(QuestionnaireIncomplete) as missing:
        register_system(store, load_system_file(_write(tmp_path, "s.yaml", raw)))
    assert missing.value.where == "profiling"
    assert "answer missing" in str(missing.value)
    assert _snapshot(store) == before

    other = _example()
    other["name"] = "other-system"
    del other["answers"]["annex_iii_area"]
    with pytest.raises(QuestionnaireIncomplete) as missing:
        register_system(store, load_system_file(_write(tmp_path, "o.yaml", other)))
    assert missing.value.where == "annex_iii_area"
    assert _snapshot(store) == before


def test_a_policy_for_another_system_or_tier_is_refused_and_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    definition = load_system_file(system_example_path("credit_scoring"))
    for changes, where, words in (
        ({"system": "fraud-check"}, "policy: system", "'fraud-check', not 'credit-scoring'"),
        ({"tier": "limited"}, "policy: tier", "tier limited, the system is classified high-risk"),
    ):
        wrong = _policy(tmp_path, **changes)
        with pytest.raises(CatalogueInvalid) as refused:
            register_system(store, definition, policy=wrong)
        assert refused.value.where == where
        assert words in str(refused.value)
        assert list_systems(store) == []  # a new system is not half-registered

    record = _registered(store, tmp_path)
    before = _snapshot(store)
    for changes in ({"system": "fraud-check"}, {"tier": "limited"}):
        with pytest.raises(CatalogueInvalid):
            register_system(store, definition, policy=_policy(tmp_path, **changes))
        with pytest.raises(CatalogueInvalid):
            set_system_policy(store, SYSTEM, _policy(tmp_path, **changes))
    assert _snapshot(store) == before
    assert get_system(store, SYSTEM).policy == record.policy
    with pytest.raises(UnknownSystem):
        set_system_policy(store, "fraud-check", _policy(tmp_path, system="fraud-check"))


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (lambda raw: raw.update(colour="red"), "colour", "Extra inputs are not permitted"),
        (lambda raw: raw.update(models=["bad/name"]), "models", "cannot contain '/'"),
        (lambda raw: raw.update(models=[]), "models", "at least 1 item"),
        (lambda raw: raw.update(role="owner"), "role", "'provider' or 'deployer'"),
        (
            lambda raw: raw["risk_register"][1].update(owner="me"),
            "risk_register.1.owner",
            "Extra inputs are not permitted",
        ),
        (lambda raw: raw["data"].pop("target"), "data.target", "Field required"),
    ],
)
def test_system_file_errors_name_the_file_and_the_key(
    tmp_path: Path, change: Any, key: str, words: str
) -> None:
    raw = _example()
    change(raw)
    path = _write(tmp_path, "system.yaml", raw)
    with pytest.raises(CatalogueInvalid) as refused:
        load_system_file(path)
    assert refused.value.where == f"{path}: {key}"
    assert words in str(refused.value)


def test_a_system_file_that_is_no_mapping_or_no_yaml_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- name\n- models\n", encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as refused:
        load_system_file(listed)
    assert refused.value.where == str(listed)
    assert "mapping" in str(refused.value)

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nprovider: y\nmodels: [a\nrole: provider\n", encoding="utf-8")
    with pytest.raises(CatalogueInvalid) as refused:
        load_system_file(broken)
    assert refused.value.where == f"{broken}:4"
    assert "not valid YAML" in str(refused.value)

    missing = tmp_path / "missing.yaml"
    with pytest.raises(CatalogueInvalid) as refused:
        load_system_file(missing)
    assert refused.value.where == str(missing)
    assert isinstance(load_system_file(system_example_path("credit_scoring")), SystemDefinition)


def _control(kind: str) -> Control:
    return next(c for c in load_catalogue().for_tier("high-risk") if c.type == kind)


def test_attestations_are_checked_before_anything_is_written(
    store: Store, backend_settings: Settings, tmp_path: Path
) -> None:
    _registered(store, tmp_path)
    client = connect_tracking(backend_settings, store)
    catalogue = load_catalogue()
    attestation_control = _control("attestation")
    semi = _control("semi-automatic")

    every = attest(
        store,
        client,
        catalogue,
        system=SYSTEM,
        control_id=attestation_control.id,
        actor=OFFICER,
        statement="  Oversight staff are assigned and trained.  ",
    )
    assert every.model_name is None and every.model_version is None
    assert every.statement == "Oversight staff are assigned and trained."
    assert every.covers(MODEL, "1") and every.covers(MODEL, "42")
    assert every.as_dict()["version"] == "all"
    attest(
        store, client, catalogue, system=SYSTEM, control_id=semi.id, actor=OFFICER, statement="ok"
    )
    before = list_attestations(store, SYSTEM)
    assert [(info.id, info.control_id) for info in before] == [
        (every.id, attestation_control.id),
        (every.id + 1, semi.id),
    ]
    assert set(attestations_covering(store, SYSTEM, MODEL, "3")) == {
        attestation_control.id,
        semi.id,
    }

    refusals: list[tuple[dict[str, Any], type[Exception], str, str]] = [
        (
            {"control_id": _control("automatic").id},
            AttestationInvalid,
            _control("automatic").id,
            "measured by the platform",
        ),
        ({"control_id": "ART99-NOTHING"}, UnknownControl, "ART99-NOTHING", "no such control"),
        ({"statement": "   "}, AttestationInvalid, "statement", "the statement is empty"),
        ({"actor": " "}, AttestationInvalid, "actor", "nobody is named"),
        ({"version": "7"}, AttestationInvalid, "version 7", f"model {MODEL!r} has no version 7"),
        (
            {"model_name": "wine-quality", "version": "1"},
            AttestationInvalid,
            "model",
            "does not use model 'wine-quality'",
        ),
        ({"model_name": MODEL}, AttestationInvalid, "model", "a model needs a version"),
        ({"system": "fraud-check"}, UnknownSystem, "fraud-check", "no such AI system"),
    ]
    for changes, error, where, words in refusals:
        arguments: dict[str, Any] = {
            "system": SYSTEM,
            "control_id": attestation_control.id,
            "actor": OFFICER,
            "statement": "Reviewed.",
            **changes,
        }
        with pytest.raises(error) as refused:
            attest(store, client, catalogue, **arguments)
        assert refused.value.where == where, changes
        assert words in str(refused.value), changes
        assert list_attestations(store, SYSTEM) == before


def test_document_records_round_trip(store: Store, tmp_path: Path) -> None:
    _registered(store, tmp_path)
    assert document_records(store, SYSTEM) == []
    facts = {"accuracy": 0.81, "features": ["age", "income"], "nested": {"ci": [0.79, 0.83]}}
    first = record_document(
        store,
        system=SYSTEM,
        kind="instructions",
        model_name=MODEL,
        model_version="3",
        fmt="markdown",
        path=str(tmp_path / "instructions.md"),
        sha256="ab" * 32,
        facts=facts,
        actor=OFFICER,
    )
    second = record_document(
        store,
        system=SYSTEM,
        kind="annex-iv",
        model_name=None,
        model_version=None,
        fmt="html",
        path=str(tmp_path / "annex.html"),
        sha256="cd" * 32,
        facts={},
        actor=OFFICER,
    )
    stored = document_records(store, SYSTEM)
    assert stored == [first, second]
    assert stored[0].facts == facts
    assert stored[0].as_dict()["version"] == "3" and stored[1].as_dict()["model"] is None
    assert document_records(store, "fraud-check") == []


def test_incidents_open_freeze_and_clear(store: Store, tmp_path: Path) -> None:
    _registered(store, tmp_path)
    record_deployment(
        store, "credit-live", model_name=MODEL, model_version="1", url=None, actor=OFFICER
    )
    with pytest.raises(IncidentInvalid) as refused:
        open_incident(
            store,
            system=SYSTEM,
            deployment="credit-live",
            severity="serious",
            title="  ",
            actor=OFFICER,
        )
    assert refused.value.where == "title"
    assert list_incidents(store) == []

    incident = open_incident(
        store,
        system=SYSTEM,
        deployment="credit-live",
        severity="serious",
        title="Refusals of one group doubled",
        actor=OFFICER,
        description="Seen in the override log.",
    )
    assert incident.state == "open" and incident.model_version == "1"
    assert (incident.due_at - incident.opened_at).days <= 15
    assert [found.id for found in list_incidents(store, system=SYSTEM)] == [incident.id]
    assert [found.id for found in list_incidents(store, open_only=True)] == [incident.id]
    assert list_incidents(store, system="fraud-check") == []
    assert [found.id for found in freezing_incidents(store, SYSTEM)] == [incident.id]
    frozen = [c for c in check_promotion(store, MODEL, "1", "champion") if not c.passed]
    assert [c.name for c in frozen] == [
        f"compliance {SYSTEM} incident #{incident.id}",
        f"compliance {SYSTEM}",
    ]
    assert "Art. 73(6)" in frozen[0].detail
    assert "has not been assessed" in frozen[1].detail
    assert check_promotion(store, MODEL, "1", "candidate") == []

    lifted = override_freeze(store, incident.id, actor=OFFICER, reason="The fix must ship.")
    assert lifted.freeze_override is not None and lifted.freeze_override["actor"] == OFFICER
    assert freezing_incidents(store, SYSTEM) == []
    reported = report_incident(store, incident.id, actor=OFFICER)
    assert reported.state == "reported"
    assert list_incidents(store, open_only=True) == []
    closed = close_incident(store, incident.id, actor=OFFICER, note="Cause fixed.")
    assert get_incident(store, incident.id).state == "closed" == closed.state
    kinds = [event["kind"] for event in deployment_events(store, "credit-live")]
    assert kinds == ["deployed", "incident_opened", "incident_reported", "incident_closed"]
