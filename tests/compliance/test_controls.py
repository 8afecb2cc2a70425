"""Every automatic control of the catalogue, passing and failing on real evidence.

Two model versions are trained by the real pipeline: a good one on fair credit applications and
a leaky one whose rows were all duplicated (so test rows also occur in training). Two systems
use the model: the shipped credit-scoring system with a policy signed before training, and a
copy whose policy was signed after training with limits no real model meets. Runtime evidence
is written by the serving and monitoring rooms' own APIs: deployment records, the inference log
writer, operator pauses and overrides, monitor reports, incidents, documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from iml4e.audit import list_audit
from iml4e.compliance.assessment import AssessmentInfo, assess
from iml4e.compliance.catalogue import ControlCatalogue, load_catalogue
from iml4e.compliance.checks import FAIL, NOT_APPLICABLE, PASS
from iml4e.compliance.incidents import open_incident, override_freeze
from iml4e.compliance.policy import load_compliance_policy, policy_template_text
from iml4e.compliance.records import DocumentRecord
from iml4e.compliance.reports import generate_document
from iml4e.compliance.systems import load_system_file, register_system, system_example_path
from iml4e.config import Settings, load_settings
from iml4e.data.catalog import get_dataset_version, read_dataset_version
from iml4e.data.synthetic import credit_applications
from iml4e.monitoring.reports import add_report
from iml4e.pipelines import run_pipeline
from iml4e.registry import approve, promote
from iml4e.registry.events import registry_events
from iml4e.registry.policy import PromotionPolicy
from iml4e.scenarios.training import train_case
from iml4e.serving.deployments import record_deployment, record_deployment_start
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, inference_segments
from iml4e.serving.operator import pause_deployment, record_override, resume_deployment
from iml4e.store import Store, open_store
from iml4e.tracking import connect_tracking

SYSTEM = "credit-scoring"
STRICT = "credit-scoring-strict"
MODEL = "credit-default"
APPROVER = "Ada Approver"
OFFICER = "Colm Compliance"
OPERATOR = "Otto Operator"
NOT_DEPLOYED = "the model is not deployed: nothing serves it yet"
RUNTIME_CONTROLS = (
    "ART11-DOC-MATCHES-DEPLOYED",
    "ART12-LOGGING-ENABLED",
    "ART12-LOGGING-COVERAGE",
    "ART19-LOG-RETENTION",
    "ART12-TAMPER-EVIDENCE",
    "ART14-OVERRIDE-PRESENT",
    "ART14-OVERRIDE-EXERCISED",
    "ART72-ACTIVE-MONITORS",
)

#: Each automatic control, with the tests that make it pass and fail. Keep in step with the
#: catalogue: ``test_every_automatic_control_is_covered`` compares the two.
COVERED = {
    "ART9-THRESHOLDS-BEFORE-EVAL": "test_data_controls",
    "ART10-DATA-HASH": "test_data_controls",
    "ART10-DATA-QUALITY": "test_data_controls",
    "ART10-SUBGROUP-COVERAGE": "test_data_controls",
    "ART10-LEAKAGE": "test_data_controls",
    "ART10-LABEL-BASE-RATES": "test_data_controls",
    "ART13-DECLARED-ACCURACY": "test_model_controls",
    "ART15-ACCURACY-CI": "test_model_controls",
    "ART15-FAIRNESS": "test_model_controls",
    "ART15-ROBUSTNESS": "test_model_controls",
    "ART15-MODEL-FILE-SAFETY": "test_model_controls",
    "ART17-APPROVALS": "test_model_controls",
    "ART17-SEGREGATION-OF-DUTIES": "test_model_controls",
    "ART11-DOC-MATCHES-DEPLOYED": "test_deployment_controls",
    # Passes on every deployment and does not apply without one: the model server always
    # writes the inference log and has no switch to turn it off, so there is no failing case.
    "ART12-LOGGING-ENABLED": "test_deployment_controls",
    "ART14-OVERRIDE-PRESENT": "test_deployment_controls",
    "ART14-OVERRIDE-EXERCISED": "test_deployment_controls",
    "ART72-ACTIVE-MONITORS": "test_deployment_controls",
    "ART12-LOGGING-COVERAGE": "test_inference_log_controls",
    "ART19-LOG-RETENTION": "test_inference_log_controls",
    "ART12-TAMPER-EVIDENCE": "test_inference_log_controls",
    "ART18-DOC-RETENTION": "test_documentation_retention",
    "ART73-CHANGE-FREEZE": "test_change_freeze",
}


@dataclass
class Platform:
    settings: Settings
    store: Store
    client: MlflowClient
    catalogue: ControlCatalogue
    folder: Path
    good: str
    leaky: str
    registrant: str
    good_assessment: AssessmentInfo
    """The good version on the lenient system, approved and documented, not deployed."""
    strict_assessment: AssessmentInfo
    """The good version on the strict system, not deployed."""
    leaky_first: AssessmentInfo
    """The leaky version's first assessment, before anyone approved it."""
    leaky_second: AssessmentInfo
    """The leaky version after its registrant approved it, a model file and the dataset
    snapshot were changed."""
    good_documents: list[DocumentRecord]


def _policy(folder: Path, system: str, signed_at: str, **limits: float) -> Path:
    policy = yaml.safe_load(policy_template_text())
    policy.update(system=system, signed_off_by="Rita Risk", signed_off_at=signed_at)
    policy["limits"].update(limits)
    path = folder / f"policy-{system}.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def _register(store: Store, catalogue: ControlCatalogue, system_file: Path, policy: Path) -> None:
    register_system(
        store,
        load_system_file(system_file),
        policy=load_compliance_policy(policy, catalogue),
    )


def _train(settings: Settings, source: str) -> str:
    result = run_pipeline(
        train_case,
        {"case": "credit", "rows": 6000, "seed": 7, "source": source, "alias": "candidate"},
        settings=settings,
        experiment=MODEL,
    )
    return str(result.output("register").version)


def _model_files(client: MlflowClient, version: str) -> Path:
    """The stored (not downloaded) folder of the registered version's files."""
    found = client.get_model_version(MODEL, version)
    model_id = found.model_id or found.source.removeprefix("models:/")
    location = client.get_logged_model(model_id).artifact_location
    return Path(unquote(urlparse(location).path))


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("controls")
    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    store = open_store(settings)
    catalogue = load_catalogue()
    client = connect_tracking(settings, store)

    # The lenient system: its policy signed before any training, limits a good model meets.
    lenient = _policy(
        folder, SYSTEM, "2026-01-01T00:00:00Z", min_accuracy=0.6, max_accuracy_ci_width=0.06
    )
    _register(store, catalogue, system_example_path("credit_scoring"), lenient)

    fair = credit_applications(6000, seed=11)
    fair.to_parquet(folder / "fair.parquet", index=False)
    half = credit_applications(3000, seed=13)
    pd.concat([half, half], ignore_index=True).to_parquet(folder / "leaky.parquet", index=False)
    good = _train(settings, str(folder / "fair.parquet"))
    leaky = _train(settings, str(folder / "leaky.parquet"))

    # The strict system: the same model, a policy signed after the training runs started,
    # limits no model meets, and a declared accuracy in the system file.
    definition = yaml.safe_load(system_example_path("credit_scoring").read_text("utf-8"))
    definition["name"] = STRICT
    definition["instructions_for_use"]["declared_accuracy"] = 0.5
    strict_file = folder / "strict.yaml"
    strict_file.write_text(yaml.safe_dump(definition), encoding="utf-8")
    strict = _policy(
        folder,
        STRICT,
        datetime.now(UTC).isoformat(),
        min_subgroup_rows=100_000,
        max_label_base_rate_gap=0.0,
        min_accuracy=0.99,
        max_accuracy_ci_width=0.01,
        max_demographic_parity_difference=0.0,
        max_equalized_odds_difference=0.0,
        max_robustness_accuracy_drop=0.0,
        min_approvers=3,
        min_logging_coverage=1.0,
    )
    _register(store, catalogue, strict_file, strict)

    registrant = next(
        event.actor
        for event in registry_events(store, MODEL, version=good)
        if event.kind == "registered"
    )

    # The good version as people prepare it: approved, assessed, documented, assessed again.
    approve(client, store, MODEL, good, actor=APPROVER)
    assess(settings, store, SYSTEM, actor=OFFICER, version=good)
    documents = [
        generate_document(settings, store, SYSTEM, actor=OFFICER, kind=kind, version=good)
        for kind in ("instructions", "annex-iv")
    ]
    good_assessment = assess(settings, store, SYSTEM, actor=OFFICER, version=good)
    strict_assessment = assess(settings, store, STRICT, actor=OFFICER, version=good)

    leaky_first = assess(settings, store, SYSTEM, actor=OFFICER, version=leaky)
    approve(client, store, MODEL, leaky, actor=registrant)
    with (_model_files(client, leaky) / "requirements.txt").open("ab") as handle:
        handle.write(b"\n")
    dataset = leaky_first.result("ART10-DATA-HASH").evidence["datasets"][0]["dataset"]
    name, number = dataset.split("@")
    info = get_dataset_version(store, name, int(number))
    changed = read_dataset_version(info)
    changed.loc[0, "income"] = changed.loc[0, "income"] + 1
    snapshot = Path(unquote(urlparse(info.snapshot_uri).path))
    snapshot.chmod(0o644)
    changed.to_parquet(snapshot, index=False)
    leaky_second = assess(settings, store, SYSTEM, actor=OFFICER, version=leaky)

    yield Platform(
        settings,
        store,
        client,
        catalogue,
        folder,
        good,
        leaky,
        registrant,
        good_assessment,
        strict_assessment,
        leaky_first,
        leaky_second,
        documents,
    )
    store.close()


def _deploy(platform: Platform, name: str, version: str, *, operator: bool) -> None:
    """What ``iml4e deploy`` records: the manager's start, then the server's loaded version.

    A server mounts its operator routes only on loopback, so one without them binds all
    interfaces.
    """
    host = "127.0.0.1" if operator else "0.0.0.0"
    record_deployment_start(
        platform.store,
        name,
        model_name=MODEL,
        model_version=version,
        host=host,
        port=0,
        url=f"http://127.0.0.1/{name}",
        log_path=str(platform.folder / f"{name}.log"),
        spec={"operator_routes": operator, "deployment": name},
        actor=OPERATOR,
    )
    record_deployment(
        platform.store,
        name,
        model_name=MODEL,
        model_version=version,
        url=f"http://127.0.0.1/{name}",
        actor=OPERATOR,
    )


def _log(platform: Platform, deployment: str, ids: list[str], start: float) -> None:
    """Requests answered by one server process: one closed segment of the inference log."""
    writer = InferenceLogWriter(platform.store, platform.settings.inference_log_root, deployment)
    for offset, request_id in enumerate(ids):
        writer.append(
            InferenceRecord(
                request_id=request_id,
                timestamp=start + offset,
                deployment=deployment,
                model_name=MODEL,
                model_version=platform.good,
                protocol="v2",
                inputs=[{"income": 40_000.0, "age": 35}],
                outputs=[0],
                latency_ms=1.5,
            )
        )
    writer.close()


def _assess(platform: Platform, system: str, deployment: str | None = None) -> AssessmentInfo:
    return assess(platform.settings, platform.store, system, actor=OFFICER, deployment=deployment)


def test_every_automatic_control_is_covered() -> None:
    automatic = {control.id for control in load_catalogue().controls if control.type == "automatic"}
    assert automatic == set(COVERED)
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(COVERED.values()) <= tests


def test_data_controls(platform: Platform) -> None:
    good = platform.good_assessment
    strict = platform.strict_assessment

    thresholds = good.result("ART9-THRESHOLDS-BEFORE-EVAL")
    assert thresholds.status == PASS
    assert thresholds.evidence["signed_off_at"] == "2026-01-01T00:00:00"
    assert thresholds.evidence["run_started_at"] > "2026-01-01T00:00:00"
    assert "signed off by Rita Risk at 2026-01-01 00:00" in thresholds.detail
    late = strict.result("ART9-THRESHOLDS-BEFORE-EVAL")
    assert late.status == FAIL
    assert late.evidence["signed_off_at"] > late.evidence["run_started_at"]
    assert "thresholds were not fixed before evaluation" in late.detail

    pinned = good.result("ART10-DATA-HASH")
    assert pinned.status == PASS
    [dataset] = pinned.evidence["datasets"]
    assert dataset["dataset"].startswith("credit-applications@") and dataset["ok"] is True
    assert dataset["content_hash"][:12] in pinned.detail
    leaky_dataset = platform.leaky_first.result("ART10-DATA-HASH")
    assert leaky_dataset.status == PASS
    changed = platform.leaky_second.result("ART10-DATA-HASH")
    assert changed.status == FAIL
    [entry] = changed.evidence["datasets"]
    assert entry["ok"] is False and entry["dataset"] != dataset["dataset"]
    assert changed.detail == (
        f"snapshot does not match its content hash: {entry['dataset']} (hash differs)"
    )

    quality = good.result("ART10-DATA-QUALITY")
    assert quality.status == PASS
    [row] = quality.evidence["datasets"]
    assert row["missing_rate"] == 0.0 and row["duplicate_rate"] == 0.0
    assert "(limits 0.05, 0.01)" in quality.detail
    duplicated = platform.leaky_first.result("ART10-DATA-QUALITY")
    assert duplicated.status == FAIL
    [row] = duplicated.evidence["datasets"]
    assert row["duplicate_rate"] == pytest.approx(0.5)
    assert duplicated.detail == "credit-applications: duplicates 0.5000 > 0.01"

    coverage = good.result("ART10-SUBGROUP-COVERAGE")
    assert coverage.status == PASS
    counts = coverage.evidence["counts"]
    assert set(counts) == {"train", "test"}
    assert sum(counts["train"]["sex"].values()) == 4500
    assert sum(counts["test"]["sex"].values()) == 1500
    smallest = min(min(role["sex"].values()) for role in counts.values())
    assert coverage.detail == f"smallest group has {smallest} rows (limit 50)"
    short = strict.result("ART10-SUBGROUP-COVERAGE")
    assert short.status == FAIL
    assert short.evidence["counts"] == counts
    female = counts["test"]["sex"]["female"]
    assert f"test sex=female: {female}" in short.detail
    assert short.detail.startswith("groups under 100000 rows: train sex=female: ")

    clean = good.result("ART10-LEAKAGE")
    assert clean.status == PASS
    assert clean.evidence == {"overlap": 0.0, "test_rows": 1500}
    assert clean.detail == "0.00% of test rows occur in the training rows (limit 0)"
    leak = platform.leaky_first.result("ART10-LEAKAGE")
    assert leak.status == FAIL
    # Every row occurs twice: a test row's twin lands in training three times out of four.
    assert 0.6 < leak.evidence["overlap"] < 0.9
    assert leak.evidence["test_rows"] == 1500
    assert f"{leak.evidence['overlap']:.2%} of test rows occur in the training rows" in leak.detail

    rates = good.result("ART10-LABEL-BASE-RATES")
    assert rates.status == PASS
    gap = rates.evidence["gaps"]["sex"]
    by_sex = rates.evidence["rates"]["sex"]
    assert gap == pytest.approx(abs(by_sex["female"] - by_sex["male"]))
    assert gap < 0.2
    assert rates.detail == f"label base-rate gaps sex {gap:.3f} (limit 0.2)"
    wide = strict.result("ART10-LABEL-BASE-RATES")
    assert wide.status == FAIL
    assert wide.evidence["rates"]["sex"] == by_sex
    assert wide.detail == f"label base-rate gap over 0: sex {gap:.3f}"


def test_model_controls(platform: Platform) -> None:
    good = platform.good_assessment
    strict = platform.strict_assessment
    instructions = platform.good_documents[0]

    declared = good.result("ART13-DECLARED-ACCURACY")
    assert declared.status == PASS
    evaluated = good.result("ART15-ACCURACY-CI").evidence["accuracy"]
    assert declared.evidence == {
        "declared": pytest.approx(evaluated),
        "evaluated": evaluated,
        "source": f"instructions for use #{instructions.id}",
    }
    assert "gap 0.0000 (limit 0.01)" in declared.detail
    undeclared = platform.leaky_first.result("ART13-DECLARED-ACCURACY")
    assert undeclared.status == FAIL
    assert undeclared.detail.startswith("no accuracy is declared")
    wrong = strict.result("ART13-DECLARED-ACCURACY")
    assert wrong.status == FAIL
    assert wrong.evidence["declared"] == 0.5 and wrong.evidence["source"] == "system file"
    gap = abs(0.5 - evaluated)
    assert wrong.detail == (
        f"declared 0.5000 (system file), evaluated {evaluated:.4f}, gap {gap:.4f} > 0.01"
    )

    interval = good.result("ART15-ACCURACY-CI")
    assert interval.status == PASS
    evidence = interval.evidence
    assert evidence["n"] == 1500
    assert 0.6 <= evidence["low"] < evidence["accuracy"] < evidence["high"]
    assert evidence["high"] - evidence["low"] <= 0.06
    assert "(minimum 0.6, widest 0.06)" in interval.detail
    narrow = strict.result("ART15-ACCURACY-CI")
    assert narrow.status == FAIL
    assert narrow.evidence == evidence
    width = evidence["high"] - evidence["low"]
    assert narrow.detail.endswith(f"lower bound under 0.99; width {width:.4f} over 0.01")

    fair = good.result("ART15-FAIRNESS")
    assert fair.status == PASS
    [sex] = fair.evidence["features"]
    assert sex["feature"] == "sex"
    assert sex["demographic_parity_difference"] <= 0.1
    assert sex["equalized_odds_difference"] <= 0.1
    assert fair.detail.endswith("(limits 0.1, 0.1)")
    unfair = strict.result("ART15-FAIRNESS")
    assert unfair.status == FAIL
    parity = sex["demographic_parity_difference"]
    odds = sex["equalized_odds_difference"]
    assert unfair.detail == (
        f"sex demographic parity {parity:.3f} > 0; sex equalized odds {odds:.3f} > 0"
    )

    robust = good.result("ART15-ROBUSTNESS")
    assert robust.status == PASS
    drop = robust.evidence["accuracy_drop"]
    assert drop == pytest.approx(
        robust.evidence["clean_accuracy"] - robust.evidence["perturbed_accuracy"]
    )
    assert drop <= 0.05
    assert robust.detail.endswith(f"(drop {drop:.4f}) (limit 0.05)")
    fragile = strict.result("ART15-ROBUSTNESS")
    assert drop > 0, "the strict policy's limit 0 fails only a model that loses accuracy"
    assert fragile.status == FAIL
    assert fragile.detail.endswith(f"(drop {drop:.4f}) > 0")

    files = platform.leaky_first.result("ART15-MODEL-FILE-SAFETY")
    assert files.status == PASS
    assert "requirements.txt" in files.evidence["files"]
    assert "model.skops" in files.evidence["files"]
    assert files.detail == (
        f"{len(files.evidence['files'])} files, no unsafe imports; hashes recorded now"
    )
    again = good.result("ART15-MODEL-FILE-SAFETY")
    assert again.status == PASS
    assert again.detail.endswith("no unsafe imports, hashes as first recorded")
    changed = platform.leaky_second.result("ART15-MODEL-FILE-SAFETY")
    assert changed.status == FAIL
    assert changed.detail == (
        "model files differ from the hashes recorded at the first assessment: requirements.txt"
    )
    assert (
        changed.evidence["files"]["requirements.txt"] != files.evidence["files"]["requirements.txt"]
    )

    approved = good.result("ART17-APPROVALS")
    assert approved.status == PASS
    assert approved.evidence["approvers"] == [APPROVER]
    # the approval in the evidence is the audit trail's event, by id and hash
    links = approved.evidence["audit_events"]
    approval = list_audit(platform.store, action="registry.approve", actor=APPROVER, limit=1)[0]
    assert f"#{approval.id} registry.approve {approval.hash[:12]}" in links
    assert approval.target == f"model:{good.model_name}@{good.model_version}"
    assert approved.detail == f"approved by {APPROVER} (1 needed)"
    unapproved = platform.leaky_first.result("ART17-APPROVALS")
    assert unapproved.status == FAIL
    assert unapproved.detail == "0 approval(s), 1 needed"
    too_few = strict.result("ART17-APPROVALS")
    assert too_few.status == FAIL
    assert too_few.detail == f"1 approval(s), 3 needed: {APPROVER}"

    separate = good.result("ART17-SEGREGATION-OF-DUTIES")
    assert separate.status == PASS
    assert separate.evidence["registered_by"] == platform.registrant
    assert separate.evidence["approvers"] == [APPROVER]
    assert separate.evidence["audit_events"] == links
    assert platform.registrant != APPROVER
    nobody = platform.leaky_first.result("ART17-SEGREGATION-OF-DUTIES")
    assert nobody.status == FAIL
    assert nobody.detail == "no approver recorded yet"
    own = platform.leaky_second.result("ART17-SEGREGATION-OF-DUTIES")
    assert own.status == FAIL
    assert own.evidence["registered_by"] == platform.registrant
    assert own.evidence["approvers"] == [platform.registrant]
    assert own.detail == f"{platform.registrant} registered the version and approved it"


def test_runtime_controls_do_not_apply_before_deployment(platform: Platform) -> None:
    good = platform.good_assessment
    assert good.deployment is None
    for control_id in RUNTIME_CONTROLS:
        result = good.result(control_id)
        assert (control_id, result.status) == (control_id, NOT_APPLICABLE)
        assert result.detail == NOT_DEPLOYED


def test_deployment_controls(platform: Platform) -> None:
    annex_iv = platform.good_documents[1]
    # A deployment without operator routes, serving another version than the documented one.
    _deploy(platform, "credit-plain", platform.leaky, operator=False)
    # a server on all interfaces of an installation whose platform asks nobody who calls
    open_settings = platform.settings.model_copy(update={"server_auth": "off"})
    plain = assess(open_settings, platform.store, SYSTEM, actor=OFFICER, deployment="credit-plain")
    assert plain.model_version == platform.leaky

    mismatch = plain.result("ART11-DOC-MATCHES-DEPLOYED")
    assert mismatch.status == FAIL
    assert mismatch.evidence == {
        "document": annex_iv.id,
        "documented": platform.good,
        "deployed": platform.leaky,
    }
    assert mismatch.detail == (
        f"the documentation (#{annex_iv.id}) describes version {platform.good}, "
        f"credit-plain serves version {platform.leaky}"
    )
    enabled = plain.result("ART12-LOGGING-ENABLED")
    assert enabled.status == PASS
    assert enabled.evidence == {"deployment": "credit-plain", "segments": 0}
    assert plain.result("ART12-LOGGING-COVERAGE").status == NOT_APPLICABLE
    assert plain.result("ART12-LOGGING-COVERAGE").detail == (
        "no closed log segment yet: coverage is not measurable"
    )
    absent = plain.result("ART14-OVERRIDE-PRESENT")
    assert absent.status == FAIL
    assert absent.detail == (
        "credit-plain binds 0.0.0.0 with server_auth off: the /operator routes are only "
        "mounted on loopback or behind API tokens, so answers cannot be overridden there"
    )
    guarded = _assess(platform, SYSTEM, "credit-plain").result("ART14-OVERRIDE-PRESENT")
    assert guarded.status == PASS and guarded.detail.endswith("behind API tokens and roles")
    never = plain.result("ART14-OVERRIDE-EXERCISED")
    assert never.status == FAIL
    assert never.detail == "no paused or override event in the last 90 days"
    unmonitored = plain.result("ART72-ACTIVE-MONITORS")
    assert unmonitored.status == FAIL
    assert unmonitored.detail == "no monitor report for the deployment (iml4e monitor run)"

    # The documented version behind operator routes, logging, paused once, a drift-only report.
    _deploy(platform, "credit-default", platform.good, operator=True)
    _log(platform, "credit-default", [f"r-{n}" for n in range(5)], start=1_790_000_000.0)
    pause_deployment(platform.store, "credit-default", actor=OPERATOR, reason="drill")
    resume_deployment(platform.store, "credit-default", actor=OPERATOR, reason="drill over")
    window = datetime(2026, 9, 21)
    drift_only = add_report(
        platform.store,
        deployment="credit-default",
        window_start=window,
        window_end=window,
        n_rows=5,
        model_versions=[platform.good],
        drift={"drift_share": 0.1},
        quality={},
        performance={},
        metrics={"drift.share": 0.1},
        skipped=[],
    )
    partly = _assess(platform, SYSTEM, "credit-default")
    assert partly.model_version == platform.good
    half_drilled = partly.result("ART14-OVERRIDE-EXERCISED")
    assert half_drilled.status == FAIL
    assert half_drilled.detail == "no override event in the last 90 days"
    assert set(half_drilled.evidence) == {"paused"}
    blind = partly.result("ART72-ACTIVE-MONITORS")
    assert blind.status == FAIL
    assert blind.evidence == {"report": drift_only, "measured": ["drift"], "age_days": 0}
    assert blind.detail == "no performance measured"

    record_override(
        platform.store,
        "credit-default",
        request_id="r-3",
        value=1,
        actor=OPERATOR,
        reason="the officer knows the applicant's new job",
    )
    full = add_report(
        platform.store,
        deployment="credit-default",
        window_start=window,
        window_end=window,
        n_rows=5,
        model_versions=[platform.good],
        drift={"drift_share": 0.1},
        quality={},
        performance={"accuracy": 0.8},
        metrics={"drift.share": 0.1, "performance.accuracy": 0.8},
        skipped=[],
    )
    served = _assess(platform, SYSTEM, "credit-default")
    matches = served.result("ART11-DOC-MATCHES-DEPLOYED")
    assert matches.status == PASS
    assert matches.evidence == {
        "document": annex_iv.id,
        "documented": platform.good,
        "deployed": platform.good,
    }
    enabled = served.result("ART12-LOGGING-ENABLED")
    assert enabled.status == PASS
    assert enabled.evidence == {"deployment": "credit-default", "segments": 1}
    present = served.result("ART14-OVERRIDE-PRESENT")
    assert present.status == PASS
    assert present.detail.startswith(
        "credit-default (on 127.0.0.1) serves /operator/pause, /resume and /overrides"
    )
    assert present.evidence == {"host": "127.0.0.1"}
    drilled = served.result("ART14-OVERRIDE-EXERCISED")
    assert drilled.status == PASS
    assert set(drilled.evidence) == {"paused", "override"}
    assert drilled.detail.endswith("(within 90 days)")
    monitored = served.result("ART72-ACTIVE-MONITORS")
    assert monitored.status == PASS
    assert monitored.evidence == {
        "report": full,
        "measured": ["drift", "performance"],
        "age_days": 0,
    }
    assert monitored.detail.startswith(f"report #{full} from ")


def _tear_last_line(path: Path) -> None:
    """What a killed writer leaves: the last record cut short."""
    content = path.read_bytes()
    path.write_bytes(content[:-20])


def test_inference_log_controls(platform: Platform) -> None:
    name = "credit-logs"
    _deploy(platform, name, platform.good, operator=True)
    _log(platform, name, [f"a-{n}" for n in range(10)], start=1_790_000_000.0)
    first = _assess(platform, SYSTEM, name)
    [segment] = inference_segments(platform.store, name)
    covered = first.result("ART12-LOGGING-COVERAGE")
    assert covered.status == PASS
    assert covered.evidence["records_indexed"] == 10
    assert covered.evidence["records_with_request_id"] == 10
    assert covered.detail == (
        "10 of 10 logged requests readable with their request id (100.00%) (minimum 99%)"
    )
    kept = first.result("ART19-LOG-RETENTION")
    assert kept.status == PASS
    assert kept.evidence["missing_files"] == []
    assert kept.detail.startswith(f"every log segment kept since {segment.first_at:%Y-%m-%d}")
    assert kept.detail.endswith("retention >= 183 days")
    sealed = first.result("ART12-TAMPER-EVIDENCE")
    assert sealed.status == PASS
    assert [entry["path"] for entry in sealed.evidence["sealed"]] == [segment.path]
    assert sealed.detail == "hash chain over 1 sealed segments verifies (1 sealed now)"

    # A second server process logs a request without its id.
    ids = [f"b-{n}" for n in range(9)] + [""]
    _log(platform, name, ids, start=1_790_001_000.0)
    second = _assess(platform, SYSTEM, name)
    uncovered = second.result("ART12-LOGGING-COVERAGE")
    assert uncovered.status == FAIL
    assert uncovered.evidence["records_indexed"] == 20
    assert uncovered.evidence["records_read"] == 20
    assert uncovered.evidence["records_with_request_id"] == 19
    assert uncovered.detail == (
        "19 of 20 logged requests readable with their request id (95.00%) < 99%"
    )
    chain = second.result("ART12-TAMPER-EVIDENCE")
    assert chain.status == PASS
    assert chain.detail == "hash chain over 2 sealed segments verifies (1 sealed now)"
    assert chain.evidence["sealed"][0] == sealed.evidence["sealed"][0]
    assert chain.evidence["head"] == chain.evidence["sealed"][1]["link"]
    later = inference_segments(platform.store, name)[1]

    # The first segment loses the end of its last line; the second is deleted.
    _tear_last_line(Path(segment.path))
    Path(later.path).unlink()
    third = _assess(platform, SYSTEM, name)
    torn = third.result("ART12-LOGGING-COVERAGE")
    assert torn.status == FAIL
    assert torn.evidence["records_indexed"] == 10
    assert torn.evidence["records_read"] == 9
    assert torn.detail == ("9 of 10 logged requests readable with their request id (90.00%) < 99%")
    gone = third.result("ART19-LOG-RETENTION")
    assert gone.status == FAIL
    assert gone.evidence["missing_files"] == [later.path]
    assert gone.detail == f"1 indexed log segments are gone: {later.path}"
    tampered = third.result("ART12-TAMPER-EVIDENCE")
    assert tampered.status == FAIL
    assert tampered.detail == (
        f"the log's hash chain is broken: {segment.path}: edited (hash differs from the seal); "
        f"{later.path}: deleted"
    )


def test_documentation_retention(platform: Platform) -> None:
    kept = platform.good_assessment.result("ART18-DOC-RETENTION")
    assert kept.status == PASS
    assert kept.evidence == {"documents": 2}
    assert kept.detail == "2 documentation files stored, each with its recorded hash"
    assert platform.strict_assessment.result("ART18-DOC-RETENTION").status == NOT_APPLICABLE

    instructions, annex_iv = (
        generate_document(
            platform.settings,
            platform.store,
            STRICT,
            actor=OFFICER,
            kind=kind,
            version=platform.good,
        )
        for kind in ("instructions", "annex-iv")
    )
    with Path(instructions.path).open("ab") as handle:
        handle.write(b"<!-- edited later -->")
    Path(annex_iv.path).unlink()
    changed = assess(
        platform.settings, platform.store, STRICT, actor=OFFICER, version=platform.good
    )
    retention = changed.result("ART18-DOC-RETENTION")
    assert retention.status == FAIL
    assert retention.evidence == {"documents": 2}
    assert retention.detail == (
        f"#{instructions.id} {instructions.path}: changed since it was generated; "
        f"#{annex_iv.id} {annex_iv.path}: deleted"
    )


def test_change_freeze(platform: Platform) -> None:
    calm = platform.strict_assessment.result("ART73-CHANGE-FREEZE")
    assert calm.status == PASS
    assert calm.detail == "no change during the 0 recorded incidents"

    name = "credit-freeze"
    _deploy(platform, name, platform.good, operator=True)
    first = open_incident(
        platform.store,
        system=STRICT,
        deployment=name,
        severity="serious",
        title="Applicants refused on a wrong income",
        actor=OFFICER,
    )
    quiet = _assess(platform, STRICT, name)
    assert quiet.result("ART73-CHANGE-FREEZE").status == PASS
    assert quiet.result("ART73-CHANGE-FREEZE").detail == (
        "no change during the 1 recorded incidents"
    )

    # The server loads another version while the incident is unreported.
    record_deployment(
        platform.store,
        name,
        model_name=MODEL,
        model_version=platform.leaky,
        url="http://127.0.0.1/credit-freeze",
        actor=OPERATOR,
    )
    redeployed = _assess(platform, STRICT, name).result("ART73-CHANGE-FREEZE")
    assert redeployed.status == FAIL
    assert "deployment deployed at " in redeployed.detail
    assert redeployed.detail.endswith(f"during incident #{first.id}")

    override_freeze(
        platform.store, first.id, actor=OFFICER, reason="the fix for this very incident"
    )
    second = open_incident(
        platform.store,
        system=STRICT,
        deployment=name,
        severity="serious",
        title="Scores missing for self-employed applicants",
        actor=OFFICER,
    )
    promote(
        platform.client,
        platform.store,
        MODEL,
        platform.good,
        policy=PromotionPolicy(model=MODEL, to="staging"),
        actor=APPROVER,
        to="staging",
    )
    promoted = _assess(platform, STRICT, name).result("ART73-CHANGE-FREEZE")
    assert promoted.status == FAIL
    assert promoted.detail.startswith(f"promotion of version {platform.good} at ")
    assert promoted.detail.endswith(f"during incident #{second.id}")
    assert f"#{first.id}" not in promoted.detail

    override_freeze(platform.store, second.id, actor=OFFICER, reason="staging only")
    lifted = _assess(platform, STRICT, name).result("ART73-CHANGE-FREEZE")
    assert lifted.status == PASS
    assert lifted.detail == "no change during the 2 recorded incidents"
