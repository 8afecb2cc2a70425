"""The compliance gate end to end on real models: a model trained on historically biased labels
fails its fairness control and is refused promotion; retrained on fair labels it passes and is
promoted; a retraining on newer data makes the evidence stale and the gate closes again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from mlflow import MlflowClient

from iml4e.compliance.assessment import AssessmentInfo, assess, latest_assessment
from iml4e.compliance.attestations import attest
from iml4e.compliance.catalogue import ControlCatalogue, load_catalogue
from iml4e.compliance.policy import load_compliance_policy, policy_template_text
from iml4e.compliance.reports import generate_document
from iml4e.compliance.systems import load_system_file, register_system, system_example_path
from iml4e.config import Settings, load_settings
from iml4e.data.synthetic import credit_applications
from iml4e.pipelines import run_pipeline
from iml4e.registry import PromotionRejected, approve, promote
from iml4e.registry.policy import PromotionPolicy
from iml4e.scenarios.training import train_case
from iml4e.serving.deployments import record_deployment
from iml4e.store import Store, open_store
from iml4e.tracking import connect_tracking

SYSTEM = "credit-scoring"
MODEL = "credit-default"
APPROVER = "Ada Approver"
OFFICER = "Colm Compliance"


@dataclass
class Platform:
    settings: Settings
    store: Store
    client: MlflowClient
    catalogue: ControlCatalogue
    folder: Path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("gate")
    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    store = open_store(settings)
    catalogue = load_catalogue()
    policy = yaml.safe_load(policy_template_text())
    policy.update(
        system=SYSTEM,
        signed_off_by="Rita Risk",
        signed_off_at="2026-01-01T00:00:00Z",
    )
    # The policy's own choices for this test's small data: 1,500 test rows.
    policy["limits"].update(min_accuracy=0.6, max_accuracy_ci_width=0.06)
    policy_file = folder / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy), encoding="utf-8")
    register_system(
        store,
        load_system_file(system_example_path("credit_scoring")),
        policy=load_compliance_policy(policy_file, catalogue),
    )
    yield Platform(settings, store, connect_tracking(settings, store), catalogue, folder)
    store.close()


def _applications(folder: Path, *, biased: bool, seed: int) -> str:
    """Credit applications as a Parquet file; ``biased`` labels past refusals of women as
    defaults (historical bias in the labels, not in the applicants)."""
    frame = credit_applications(6000, seed=seed)
    if biased:
        rng = np.random.default_rng(seed)
        women = (frame["sex"] == "female") & (frame["default"] == 0)
        flipped = women & (rng.random(len(frame)) < 0.45)
        frame.loc[flipped, "default"] = 1
    path = folder / f"applications-{'biased' if biased else 'fair'}-{seed}.parquet"
    frame.to_parquet(path, index=False)
    return str(path)


def _train(platform: Platform, source: str) -> str:
    result = run_pipeline(
        train_case,
        {
            "case": "credit",
            "rows": 6000,
            "seed": 7,
            "source": source,
            "alias": "candidate",
            "gate": ["accuracy>=0.5"],
        },
        settings=platform.settings,
        experiment=MODEL,
    )
    return str(result.output("register").version)


def _prepare_and_assess(platform: Platform, version: str) -> AssessmentInfo:
    """What people do before asking for a promotion: approve, attest, document, assess."""
    approve(platform.client, platform.store, MODEL, version, actor=APPROVER)
    for control in platform.catalogue.for_tier("high-risk"):
        if control.type != "automatic":
            attest(
                platform.store,
                platform.client,
                platform.catalogue,
                system=SYSTEM,
                control_id=control.id,
                actor=OFFICER,
                statement=f"Reviewed for version {version}.",
                version=version,
            )
    assess(platform.settings, platform.store, SYSTEM, actor=OFFICER, version=version)
    for kind in ("instructions", "annex-iv"):
        generate_document(
            platform.settings, platform.store, SYSTEM, actor=OFFICER, kind=kind, version=version
        )
    return assess(platform.settings, platform.store, SYSTEM, actor=OFFICER, version=version)


def _promote(platform: Platform, version: str) -> None:
    promote(
        platform.client,
        platform.store,
        MODEL,
        version,
        policy=PromotionPolicy(model=MODEL, to="champion"),
        actor=APPROVER,
    )


def test_the_gate_refuses_an_unfair_model_and_lets_the_fixed_one_through(
    platform: Platform,
) -> None:
    biased = _train(platform, _applications(platform.folder, biased=True, seed=11))

    with pytest.raises(PromotionRejected) as refused:
        _promote(platform, biased)
    assert any("has not been assessed" in failure for failure in refused.value.failures)

    assessment = _prepare_and_assess(platform, biased)
    fairness = assessment.result("ART15-FAIRNESS")
    assert fairness.status == "fail"
    assert "sex demographic parity" in fairness.detail
    parity = fairness.evidence["features"][0]["demographic_parity_difference"]
    assert parity > 0.1
    assert assessment.result("ART10-LABEL-BASE-RATES").status == "fail"
    with pytest.raises(PromotionRejected) as refused:
        _promote(platform, biased)
    failures = refused.value.failures
    assert any(
        "ART15-FAIRNESS" in failure and "demographic parity" in failure for failure in failures
    )
    # Everything people had to do is done: only the data and the model are at fault.
    blocking = {result.control_id for result in assessment.blocking()}
    assert blocking <= {"ART15-FAIRNESS", "ART10-LABEL-BASE-RATES", "ART15-ACCURACY-CI"}
    assert platform.client.get_registered_model(MODEL).aliases.get("champion") is None

    fixed = _train(platform, _applications(platform.folder, biased=False, seed=11))
    assessment = _prepare_and_assess(platform, fixed)
    assert assessment.result("ART15-FAIRNESS").status == "pass"
    assert assessment.blocking() == []
    _promote(platform, fixed)
    assert str(platform.client.get_registered_model(MODEL).aliases["champion"]) == fixed


def test_a_retraining_on_new_data_makes_the_evidence_stale_and_closes_the_gate(
    platform: Platform,
) -> None:
    from iml4e.scenarios.retraining import retrain_case

    champion = str(platform.client.get_registered_model(MODEL).aliases["champion"])
    record_deployment(
        platform.store,
        "credit-default",
        model_name=MODEL,
        model_version=champion,
        url=None,
        actor=APPROVER,
    )
    before = latest_assessment(platform.store, SYSTEM, MODEL, champion)
    assert before is not None and not before.stale

    outcome = retrain_case(
        platform.settings,
        "credit-default",
        reason="drift",
        rows=6000,
        drift=0.4,
        evolved_contract=True,
    )

    after = latest_assessment(platform.store, SYSTEM, MODEL, champion)
    assert after is not None and after.id == before.id
    assert after.stale
    assert any("new dataset version credit-applications@" in r for r in after.stale_reasons)
    # The retrained challenger was not assessed: the gate kept it from becoming champion.
    assert outcome.decision.startswith("rejected")
    assert "has not been assessed" in outcome.decision
    assert str(platform.client.get_registered_model(MODEL).aliases["champion"]) == champion


def test_a_policy_can_add_controls_to_the_gate(platform: Platform) -> None:
    from iml4e.compliance.systems import get_system, set_system_policy

    champion = str(platform.client.get_registered_model(MODEL).aliases["champion"])
    served = assess(platform.settings, platform.store, SYSTEM, actor=OFFICER, version=champion)
    drill = served.result("ART14-OVERRIDE-EXERCISED")
    assert served.deployment == "credit-default"
    assert drill.status == "fail" and not drill.required_for_promotion
    assert "ART14-OVERRIDE-EXERCISED" not in {r.control_id for r in served.blocking()}

    policy = get_system(platform.store, SYSTEM).policy
    assert policy is not None
    stricter = policy.model_copy(update={"require_for_promotion": ("ART14-OVERRIDE-EXERCISED",)})
    set_system_policy(platform.store, SYSTEM, stricter)
    stale = latest_assessment(platform.store, SYSTEM, MODEL, champion)
    assert stale is not None and "the compliance policy changed" in stale.stale_reasons

    again = assess(platform.settings, platform.store, SYSTEM, actor=OFFICER, version=champion)
    assert again.result("ART14-OVERRIDE-EXERCISED").required_for_promotion
    assert "ART14-OVERRIDE-EXERCISED" in {r.control_id for r in again.blocking()}
