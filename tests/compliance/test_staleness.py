"""Staleness end to end on a real trained model and a recorded deployment: each thing an
assessment rests on, changed or happening after it was taken, makes it stale with a reason
naming it; the gate refuses promotion on it; ``reassess_stale`` assesses again.

The cases run in file order on one module-scoped platform, so that two trainings serve them all:
each starts from a fresh latest assessment, which the previous case left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from iml4e.compliance.assessment import AssessmentInfo, assess, get_assessment, latest_assessment
from iml4e.compliance.assessment import reassess_stale as _reassess_stale
from iml4e.compliance.catalogue import ControlCatalogue, load_catalogue
from iml4e.compliance.gate import check_promotion
from iml4e.compliance.incidents import close_incident, open_incident
from iml4e.compliance.policy import (
    CompliancePolicy,
    load_compliance_policy,
    policy_template_text,
)
from iml4e.compliance.systems import (
    get_system,
    load_system_file,
    register_system,
    set_system_policy,
    system_example_path,
)
from iml4e.config import Settings, load_settings
from iml4e.monitoring.alert_rules import parse_alert_rules
from iml4e.monitoring.alerts import evaluate_alerts
from iml4e.monitoring.jobs import RETRAINING_ACTOR
from iml4e.pipelines import run_pipeline
from iml4e.scenarios.training import train_case
from iml4e.serving.deployments import add_deployment_event, record_deployment
from iml4e.store import Store, open_store

SYSTEM = "credit-scoring"
MODEL = "credit-default"
DATASET = "credit-applications"
DEPLOYMENT = "credit-live"
OFFICER = "Colm Compliance"
SCHEDULER = "iml4e-scheduler"


@dataclass
class Platform:
    settings: Settings
    store: Store
    catalogue: ControlCatalogue
    folder: Path
    policy: CompliancePolicy
    first: AssessmentInfo
    version: str
    second_version: str | None = None


def _train(settings: Settings, seed: int) -> str:
    result = run_pipeline(
        train_case,
        {"case": "credit", "rows": 2000, "seed": seed, "alias": "candidate"},
        settings=settings,
        experiment=MODEL,
    )
    return str(result.output("register").version)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("staleness")
    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    store = open_store(settings)
    catalogue = load_catalogue()
    raw = yaml.safe_load(policy_template_text())
    raw.update(system=SYSTEM, signed_off_by="Rita Risk", signed_off_at="2026-01-01T00:00:00Z")
    policy_file = folder / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    policy = load_compliance_policy(policy_file, catalogue)
    register_system(store, load_system_file(system_example_path("credit_scoring")), policy=policy)
    version = _train(settings, seed=7)
    record_deployment(
        store, DEPLOYMENT, model_name=MODEL, model_version=version, url=None, actor=OFFICER
    )
    first = assess(settings, store, SYSTEM, actor=OFFICER, deployment=DEPLOYMENT)
    yield Platform(settings, store, catalogue, folder, policy, first, version)
    store.close()


def _latest(platform: Platform) -> AssessmentInfo:
    latest = latest_assessment(platform.store, SYSTEM, MODEL)
    assert latest is not None
    return latest


def _fresh_start(platform: Platform) -> AssessmentInfo:
    """The latest assessment, fresh, before the case changes something."""
    latest = _latest(platform)
    assert latest.stale_reasons == ()
    assert latest.deployment == DEPLOYMENT
    return latest


def _assert_stale(platform: Platform, before: AssessmentInfo, reason: str) -> AssessmentInfo:
    """``before`` is now stale with a reason containing ``reason``, seen by the gate too."""
    after = latest_assessment(platform.store, SYSTEM, MODEL, before.model_version)
    assert after is not None and after.id == before.id
    assert after.stale
    assert any(reason in found for found in after.stale_reasons), after.stale_reasons
    refused = [
        check
        for check in check_promotion(platform.store, MODEL, before.model_version, "champion")
        if not check.passed and check.name == f"compliance {SYSTEM}"
    ]
    assert len(refused) == 1
    assert refused[0].detail.startswith(f"assessment #{before.id} is stale: ")
    assert reason in refused[0].detail
    return after


def _reassess(platform: Platform, before: AssessmentInfo) -> AssessmentInfo:
    """``reassess_stale`` assesses the system again, once; the new assessment is returned."""
    again = _reassess_stale(platform.settings, platform.store, actor=SCHEDULER)
    assert [(info.system, info.model_name) for info in again] == [(SYSTEM, MODEL)]
    fresh = again[0]
    assert fresh.id > before.id
    assert fresh.actor == SCHEDULER
    assert fresh.deployment == DEPLOYMENT
    assert _latest(platform).id == fresh.id
    return fresh


def _assert_gate_not_stale(platform: Platform, version: str) -> None:
    checks = check_promotion(platform.store, MODEL, version, "champion")
    assert checks, "a high-risk system's model is gated"
    assert not any("stale" in check.detail for check in checks), checks


def test_an_assessment_of_a_deployment_is_fresh_and_records_its_basis(platform: Platform) -> None:
    first = platform.first
    assert first.stale_reasons == ()
    assert first.deployment == DEPLOYMENT
    assert first.model_version == platform.version
    system = get_system(platform.store, SYSTEM)
    assert first.basis == {
        "purpose_digest": system.classification.purpose_digest,
        "policy_digest": system.policy_digest(),
        "catalogue_version": platform.catalogue.version,
        "datasets": {DATASET: 1},
        "deployment_version": platform.version,
    }
    # Nothing is stale, so nothing is assessed again.
    assert _reassess_stale(platform.settings, platform.store, actor=SCHEDULER) == []
    assert _latest(platform).id == first.id
    _assert_gate_not_stale(platform, platform.version)


def test_a_retraining_of_the_deployment_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    add_deployment_event(
        platform.store,
        DEPLOYMENT,
        "retrained",
        actor=RETRAINING_ACTOR,
        detail={"reason": "drift", "version": None, "decision": "rejected: not assessed"},
    )
    _assert_stale(platform, before, f"{DEPLOYMENT} was retrained at ")
    assert any(
        "was retrained" in r for r in get_assessment(platform.store, before.id).stale_reasons
    )
    fresh = _reassess(platform, before)
    assert fresh.stale_reasons == ()
    assert fresh.model_version == platform.version
    _assert_gate_not_stale(platform, platform.version)


def test_an_alert_that_starts_firing_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    rules = parse_alert_rules(
        {
            "deployment": DEPLOYMENT,
            "rules": [
                {
                    "name": "drift-high",
                    "metric": "drift.share",
                    "op": ">",
                    "threshold": 0.3,
                    "window": "1h",
                    "for": 2,
                }
            ],
        },
        source="test rules",
    )
    pending = evaluate_alerts(platform.store, rules, {"drift.share": 0.9})
    assert [(change.rule, change.state) for change in pending] == [("drift-high", "pending")]
    # A pending alert has not fired: the assessment still holds.
    assert _latest(platform).stale_reasons == ()
    firing = evaluate_alerts(platform.store, rules, {"drift.share": 0.9})
    assert [(change.rule, change.state) for change in firing] == [("drift-high", "firing")]
    _assert_stale(platform, before, "alert drift-high fired at ")
    fresh = _reassess(platform, before)
    # Still firing, but it fired before the new assessment was taken.
    assert fresh.stale_reasons == ()
    assert evaluate_alerts(platform.store, rules, {"drift.share": 0.0})[0].state == "resolved"
    assert _latest(platform).stale_reasons == ()


def test_an_incident_opened_after_it_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    incident = open_incident(
        platform.store,
        system=SYSTEM,
        deployment=DEPLOYMENT,
        severity="serious",
        title="Refusals of one group doubled",
        actor=OFFICER,
    )
    after = _assert_stale(platform, before, f"incident #{incident.id} (serious) opened ")
    assert len(after.stale_reasons) == 1
    # The open incident also freezes promotion on its own.
    frozen = [
        check
        for check in check_promotion(platform.store, MODEL, platform.version, "champion")
        if check.name == f"compliance {SYSTEM} incident #{incident.id}"
    ]
    assert len(frozen) == 1 and not frozen[0].passed
    fresh = _reassess(platform, before)
    assert fresh.stale_reasons == ()  # opened before the new assessment
    close_incident(platform.store, incident.id, actor=OFFICER, note="False alarm: a test batch.")
    assert _latest(platform).stale_reasons == ()
    _assert_gate_not_stale(platform, platform.version)


def test_a_changed_intended_purpose_reclassifies_and_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    text = system_example_path("credit_scoring").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    raw["answers"]["intended_purpose"] = (
        "Score the creditworthiness of natural persons applying for mortgages."
    )
    changed = platform.folder / "credit_scoring_mortgages.yaml"
    changed.write_text(yaml.safe_dump(raw), encoding="utf-8")
    old_digest = get_system(platform.store, SYSTEM).classification.purpose_digest
    record = register_system(platform.store, load_system_file(changed))
    assert record.classification.purpose_digest != old_digest
    assert record.policy == platform.policy  # kept: same tier
    after = _assert_stale(
        platform, before, "the intended purpose changed: the system was reclassified"
    )
    assert after.stale_reasons == ("the intended purpose changed: the system was reclassified",)
    fresh = _reassess(platform, before)
    assert fresh.stale_reasons == ()
    assert fresh.basis["purpose_digest"] == record.classification.purpose_digest


def test_a_changed_policy_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    limits = dict(platform.policy.limits)
    limits["min_accuracy"] = 0.55
    changed = platform.policy.model_copy(update={"limits": limits})
    record = set_system_policy(platform.store, SYSTEM, changed)
    assert record.policy_digest() != before.basis["policy_digest"]
    after = _assert_stale(platform, before, "the compliance policy changed")
    assert after.stale_reasons == ("the compliance policy changed",)
    fresh = _reassess(platform, before)
    assert fresh.stale_reasons == ()
    assert fresh.basis["policy_digest"] == record.policy_digest()


def test_a_new_dataset_version_makes_it_stale(platform: Platform) -> None:
    before = _fresh_start(platform)
    assert before.basis["datasets"] == {DATASET: 1}
    platform.second_version = _train(platform.settings, seed=8)
    assert platform.second_version != platform.version
    reason = f"a new dataset version {DATASET}@2 (assessed on {DATASET}@1)"
    after = _assert_stale(platform, before, reason)
    assert after.stale_reasons == (reason,)
    # Assessed again, the served version still rests on @1, now knowingly: the new version
    # was registered before this assessment, so it is fresh until something changes again.
    again = _reassess(platform, before)
    assert again.model_version == platform.version
    assert again.basis["datasets"] == {DATASET: 1}
    assert again.stale_reasons == ()


def test_the_deployment_serving_another_version_makes_it_stale(platform: Platform) -> None:
    before = _latest(platform)
    second = platform.second_version
    assert second is not None
    record_deployment(
        platform.store, DEPLOYMENT, model_name=MODEL, model_version=second, url=None, actor=OFFICER
    )
    _assert_stale(
        platform, before, f"{DEPLOYMENT} now serves version {second} (assessed: {platform.version})"
    )
    # The first assessment of all names every cause that still holds against it.
    first = get_assessment(platform.store, platform.first.id)
    assert any(f"now serves version {second}" in r for r in first.stale_reasons)
    assert "the compliance policy changed" in first.stale_reasons
    assert any("reclassified" in r for r in first.stale_reasons)
    fresh = _reassess(platform, before)
    # The deployment's assessment follows the version it serves now, trained on the new data.
    assert fresh.model_version == second
    assert fresh.basis["deployment_version"] == second
    assert fresh.basis["datasets"] == {DATASET: 2}
    assert fresh.stale_reasons == ()
    assert latest_assessment(platform.store, SYSTEM, MODEL, second).id == fresh.id
    _assert_gate_not_stale(platform, second)
    assert _reassess_stale(platform.settings, platform.store, actor=SCHEDULER) == []
