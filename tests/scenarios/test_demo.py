"""The main job end to end, through the real CLI, checked with the plain MLflow client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from sqlalchemy import create_engine, text

from iml4e.compliance.assessment import AssessmentInfo, latest_assessment
from iml4e.config import load_settings
from iml4e.registry import alias_history
from iml4e.serving.deployments import deployment_events
from iml4e.serving.inference_log import read_inference_log
from iml4e.store import open_store
from tests.conftest import PostgresDatabases, run_iml4e

pytestmark = pytest.mark.slow
SMALL = ("--rows", "3000", "--requests", "60")


def _demo(home: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    result = run_iml4e("--home", str(home), "demo", *SMALL, "--json", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# reference and drifted, canary, after promotion, after rollback, drifted again, after retraining
SENT = 60 + 60 + 20 + 20 + 300 + 20


@dataclass(frozen=True)
class FirstDemo:
    """One demo run in a fresh home, and what its stores held right after it."""

    home: Path
    summary: dict
    records: list[Any]
    events: list[dict[str, Any]]
    changes: list[tuple[str, str | None, str | None]]
    assessment: AssessmentInfo | None


@pytest.fixture(scope="module")
def first_demo(tmp_path_factory: pytest.TempPathFactory) -> FirstDemo:
    """The demo run once for this module's first two tests; its stores are read before the
    first test runs the demo again in the same home."""
    folder = tmp_path_factory.mktemp("demo")
    home = folder / "home"
    summary = _demo(home)
    settings = load_settings({"home": str(home)}, environ={}, cwd=folder).settings
    with open_store(settings) as store:
        return FirstDemo(
            home=home,
            summary=summary,
            records=read_inference_log(store, "credit-default"),
            events=deployment_events(store, "credit-default"),
            changes=[
                (c.kind, c.alias, c.model_version) for c in alias_history(store, "credit-default")
            ],
            assessment=latest_assessment(store, "credit-scoring"),
        )


def test_demo_runs_end_to_end_and_again_is_answered_from_the_cache(first_demo: FirstDemo) -> None:
    home, first = first_demo.home, first_demo.summary
    assert first["requests_sent"] == first["requests_answered"] == first["requests_logged"] == SENT
    assert first["metrics"]["roc_auc"] >= 0.75
    assert first["where_to_look"]["web_ui"].endswith(":8765/ui/")
    assert first["model_version"] == "1"
    assert 0.5 < first["live_accuracy_reference"] <= 1.0
    assert set(first["step_seconds"]) == {
        "collect",
        "version_dataset",
        "split_data",
        "train",
        "evaluate",
        "register",
        "reference_profile",
        "serve",
    }
    assert first["cache_hits"] == 0

    # Same data, same code, same parameters: every training step comes from the cache, no
    # new version is registered, and the champion is served again.
    second = _demo(home)
    assert second["cache_hits"] == 7
    assert second["model_version"] == "1"
    assert second["pipeline_run_id"] != first["pipeline_run_id"]
    assert second["dataset_version"] == first["dataset_version"]
    assert second["dataset_hash"] == first["dataset_hash"]
    # The first run registered the credit-scoring AI system (high-risk): the compliance gate now
    # refuses to make the unassessed challenger champion, so the promoted, rolled-back and
    # retrained batches (20 requests each) are not sent.
    assert "compliance credit-scoring" in second["release"]["promotion"]
    assert "has not been assessed" in second["release"]["promotion"]
    assert second["requests_sent"] == second["requests_logged"] == SENT - 60
    assert second["compliance"]["previous_stale"]  # the first run's assessment went stale
    assert second["release"]["challenger_version"] == "2"  # the challenger's run is cached too

    # A different seed is different data: new dataset versions and model versions 4 and 5
    # (trained, challenger). The retraining plan is the deployment's, written by the first run:
    # its newest data is the same, so the retraining is answered from the cache (version 3).
    third = _demo(home, "--seed", "11")
    assert third["cache_hits"] == 0
    assert third["model_version"] == "4"
    assert third["dataset_version"] == first["dataset_version"] + 3

    uri = f"sqlite:///{home / 'iml4e.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    champion = client.get_model_version_by_alias("credit-default", "champion")
    loop = third["release"]["loop"]
    assert loop["retrained_version"] == "3"
    assert str(champion.version) == ("3" if loop["promoted"] else third["model_version"])
    trained = client.get_model_version("credit-default", third["model_version"])
    assert trained.run_id == third["mlflow_run_id"]
    run = client.get_run(first["mlflow_run_id"])  # the register step's run holds the model
    assert run.data.tags["mlflow.parentRunId"] == first["pipeline_mlflow_run_id"]
    parent = client.get_run(first["pipeline_mlflow_run_id"])
    assert parent.data.metrics["roc_auc"] == pytest.approx(first["metrics"]["roc_auc"])
    assert parent.data.params["rows"] == "3000"
    # the register step's run is the cached one of both first runs: each logged its count
    logged = client.get_metric_history(first["mlflow_run_id"], "live_requests_logged")
    assert [m.value for m in sorted(logged, key=lambda m: m.timestamp)] == [SENT, SENT - 60]

    # Every model leads back to the exact dataset version it was trained on.
    dataset_input = run.inputs.dataset_inputs[0].dataset
    assert dataset_input.name == f"credit-applications@{first['dataset_version']}"
    assert first["dataset_hash"].startswith(dataset_input.digest)
    assert first["dataset_hash"] in dataset_input.source
    engine = create_engine(uri)
    with engine.connect() as connection:
        hashes = connection.execute(
            text(
                "SELECT r.model_version, v.content_hash FROM iml4e_model_record r "
                "JOIN iml4e_dataset_version v ON v.id = r.dataset_version_id "
                "WHERE r.model_name = 'credit-default' ORDER BY r.model_version"
            )
        ).all()
    engine.dispose()
    assert [version for version, _ in hashes] == ["1", "2", "3", "4", "5"]
    assert (hashes[0][1], hashes[3][1]) == (first["dataset_hash"], third["dataset_hash"])

    # The CLI walks from the served model back to the dataset version and the step code.
    lineage = run_iml4e("--home", str(home), "lineage", "credit-default@1", "--json")
    assert lineage.returncode == 0, lineage.stderr
    graph = json.loads(lineage.stdout)
    datasets = [node for node in graph["nodes"] if node["kind"] == "dataset"]
    assert [node["details"]["content_hash"] for node in datasets] == [first["dataset_hash"]]
    steps = {node["details"]["name"] for node in graph["nodes"] if node["kind"] == "step"}
    assert steps == {"collect", "version_dataset", "split_data", "train", "evaluate", "register"}
    shown = run_iml4e("--home", str(home), "lineage", "credit-default@1")
    assert shown.returncode == 0 and f"credit-applications@{first['dataset_version']}" in (
        shown.stdout
    )

    # The plain `mlflow` command line sees the demo's runs in the same database.
    experiment = client.get_experiment_by_name("credit-default")
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlflow",
            "runs",
            "list",
            "--experiment-id",
            experiment.experiment_id,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert listed.returncode == 0, listed.stderr
    assert first["mlflow_run_id"] in listed.stdout
    assert third["pipeline_mlflow_run_id"] in listed.stdout


def test_demo_deploys_canaries_promotes_hot_swaps_and_rolls_back(first_demo: FirstDemo) -> None:
    summary = first_demo.summary
    release = summary["release"]
    assert (release["champion_version"], release["challenger_version"]) == ("1", "2")
    assert release["promotion"].startswith("v2 promoted over v1")
    assert (release["served_after_promotion"], release["rolled_back_to"]) == ("2", "1")
    assert release["served_after_rollback"] == "1"
    assert release["server_restarts"] == 0
    canary = release["canary_answers"]
    assert set(canary) == {"1", "2"} and sum(canary.values()) == 60

    records, events, changes = first_demo.records, first_demo.events, first_demo.changes
    by_batch: dict[str, Counter[tuple[str, str]]] = {}
    for record in records:
        batch = record.request_id.split(".", 1)[1].rsplit("-", 1)[0]  # RUN.BATCH-ROW
        by_batch.setdefault(batch, Counter())[(record.role, record.model_version)] += 1
    # the canary split is in the log: the challenger's share answered by version 2
    assert by_batch["canary"] == {("champion", "1"): canary["1"], ("challenger", "2"): canary["2"]}
    assert by_batch["promoted"] == {("champion", "2"): 20}
    assert by_batch["rolled-back"] == {("champion", "1"): 20}
    swaps = [
        (e["detail"]["role"], e["detail"]["version"]) for e in events if e["kind"] == "swapped"
    ]
    assert swaps[:3] == [("challenger", "2"), ("champion", "2"), ("champion", "1")]
    # the retrained version may be seen as challenger before its promotion, or not
    assert swaps[-1] == ("champion", "3")
    assert ("promoted", "champion", "2") in changes
    assert ("rolled_back", "champion", "1") in changes

    # the monitoring loop: labels, drifted traffic, alert, retraining, approval, promotion
    loop = release["loop"]
    assert loop["labels_recorded"] == 60 + 300
    assert loop["baseline_drift_share"] < 0.3
    assert loop["drift_share"] >= 0.3 and "age" in loop["drifted_columns"]
    assert loop["alert"] == "feature-drift firing"
    assert 0.0 <= loop["live_accuracy"] <= 1.0
    assert loop["retrained_version"] == "3" and loop["promoted"] and loop["served_after"] == "3"
    assert loop["roc_auc_challenger"] > loop["roc_auc_champion"]
    assert loop["retraining"].startswith("waiting for approval")
    assert by_batch["retrained"] == {("champion", "3"): 20}
    assert changes[-4:] == [
        ("rejected", "champion", "3"),  # the retraining: the policy waits for an approval
        ("approved", None, "3"),
        ("promoted", "champion", "3"),
        ("alias_removed", "challenger", None),
    ]
    retrained = next(e["detail"] for e in events if e["kind"] == "retrained")
    assert retrained["reason"] == "alert feature-drift firing"
    assert retrained["compared_on"].startswith("credit-applications@3 hold-out")
    assert Path(loop["report_html"]).is_file()
    assert [e["kind"] for e in events][-1] == "stopped"

    # the oversight drill went through the server's /operator routes and left its events
    assert release["oversight"].startswith("paused and resumed by")
    kinds = [e["kind"] for e in events]
    assert {"paused", "override"} <= set(kinds)
    override = next(e for e in events if e["kind"] == "override")
    assert override["detail"]["reason"].startswith("human oversight drill")

    # the demo ends with the AI Act assessment of the served model and its Annex IV
    compliance = summary["compliance"]
    assert (compliance["system"], compliance["tier"]) == ("credit-scoring", "high-risk")
    assert compliance["model_version"] == "3" and compliance["deployment"] == "credit-default"
    assert sum(compliance["counts"].values()) == 37
    annex_iv = Path(compliance["annex_iv"])
    assert annex_iv.is_file() and "Annex IV" in annex_iv.read_text(encoding="utf-8")
    assessment = first_demo.assessment
    assert assessment is not None and assessment.id == compliance["assessment_id"]
    status = {result.control_id: result.status for result in assessment.results}
    for control in (
        "ART10-DATA-HASH",
        "ART12-LOGGING-COVERAGE",
        "ART12-TAMPER-EVIDENCE",
        "ART13-DECLARED-ACCURACY",
        "ART14-OVERRIDE-PRESENT",
        "ART14-OVERRIDE-EXERCISED",
        "ART15-FAIRNESS",
        "ART72-ACTIVE-MONITORS",
    ):
        assert status[control] == "pass", (control, assessment.result(control).detail)
    # the demo's user trained and approved the versions: segregation of duties fails
    assert status["ART17-SEGREGATION-OF-DUTIES"] == "fail"
    assert set(compliance["blocking"]) == {r.control_id for r in assessment.blocking()}


def test_gate_blocks_registration_and_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run_iml4e("--home", str(home), "demo", *SMALL, "--gate", "roc_auc>=0.999")
    assert result.returncode == 1
    assert "gate not met: roc_auc >= 0.999" in result.stderr
    assert "step evaluate" in result.stderr
    assert "Traceback" not in result.stderr
    uri = f"sqlite:///{home / 'iml4e.db'}"
    assert MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models() == []
    engine = create_engine(uri)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM iml4e_deployment")).scalar() == 0
        status = connection.execute(text("SELECT status FROM iml4e_pipeline_run")).scalar()
        failed_step = connection.execute(
            text("SELECT name FROM iml4e_step_run WHERE status = 'failed'")
        ).scalar()
    engine.dispose()
    assert status == "failed"
    assert failed_step == "evaluate"


def test_demo_on_postgresql_is_one_setting(tmp_path: Path, postgres: PostgresDatabases) -> None:
    url = postgres.create()
    summary = _demo(tmp_path / "home", env={"IML4E_DATABASE_URL": url})
    assert summary["requests_logged"] == SENT
    assert summary["release"]["served_after_rollback"] == "1"
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    assert str(client.get_model_version_by_alias("credit-default", "champion").version) == "3"
    assert not (tmp_path / "home" / "iml4e.db").exists()


def test_wine_case_trains_on_the_bundled_data_and_serves_drifted_traffic(
    tmp_path: Path,
) -> None:
    result = run_iml4e(
        "--home", str(tmp_path / "home"), "demo", "--case", "wine", "--requests", "40", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model_name"] == "wine-classifier"
    assert summary["dataset"] == "wine"
    assert summary["metrics"]["accuracy"] >= 0.85
    assert summary["live_accuracy_reference"] > 0.8
    # the bundled data does not grow with --rows: the challenger is the same model, and the
    # policy (must beat the champion) refuses it
    assert summary["release"]["promotion"].startswith("rejected")
    assert summary["requests_logged"] == summary["requests_sent"] >= 40 + 40 + 300
    assert summary["release"]["loop"]["report_id"] is not None  # the monitoring loop ran too
