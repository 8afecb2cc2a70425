"""Compliance assessment and Annex IV report time, beside what a user would run by hand.

One model of the main job (the credit case, ``--rows`` training rows, a quarter held out) is
trained once in a temporary home. Then, alternating in each repeat:

- ``iml4e assess``: a full assessment of the version (all 37 controls of a high-risk system:
  evidence from registry, lineage and data, the model-file scan, accuracy with its interval,
  fairlearn fairness metrics and a robustness test on the held-out rows), stored;
- ``iml4e Annex IV``: the technical documentation rendered to HTML, written and recorded;
- ``fairlearn by hand``: what a user scripts for the fairness part alone: load the model from
  the MLflow registry, predict the same held-out rows, fairlearn's
  ``demographic_parity_difference`` and ``equalized_odds_difference`` over ``sex``;
- ``mlflow.evaluate``: MLflow's default classifier evaluation of the same rows (metrics,
  plots, logged to a run), the report an MLflow user would produce.

Prints a table of medians and ratios; ``--json PATH`` writes every run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

SYSTEM = "credit-scoring"
MODEL = "credit-default"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="training rows (default 20000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("--json", type=Path, help="write every run and the medians here")
    parser.add_argument(
        "--skip-mlflow-evaluate", action="store_true", help="leave mlflow.evaluate out"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="iml4e-bench-comply-") as folder:
        results = run(Path(folder), options.rows, options.repeat, options.skip_mlflow_evaluate)
    print_table(results, options.rows)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


def run(folder: Path, rows: int, repeat: int, skip_evaluate: bool) -> dict[str, Any]:
    from iml4e.compliance.assessment import assess
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.compliance.policy import load_compliance_policy, policy_template_text
    from iml4e.compliance.reports import generate_document
    from iml4e.compliance.systems import load_system_file, register_system, system_example_path
    from iml4e.config import load_settings
    from iml4e.pipelines import run_pipeline
    from iml4e.scenarios.training import train_case
    from iml4e.store import open_store

    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    policy = yaml.safe_load(policy_template_text())
    policy.update(system=SYSTEM, signed_off_by="bench", signed_off_at="2026-01-01T00:00:00Z")
    policy_file = folder / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy), encoding="utf-8")
    trained = run_pipeline(
        train_case, {"case": "credit", "rows": rows, "seed": 7}, settings=settings, experiment=MODEL
    )
    version = str(trained.output("register").version)
    test_rows = trained.output("split_data", "test")
    store = open_store(settings)
    register_system(
        store,
        load_system_file(system_example_path("credit_scoring")),
        policy=load_compliance_policy(policy_file, load_catalogue()),
    )
    # One assessment first, so the Annex IV has results to show.
    assess(settings, store, SYSTEM, actor="bench", version=version)

    sides: dict[str, Callable[[], object]] = {
        "iml4e assess": lambda: assess(settings, store, SYSTEM, actor="bench", version=version),
        "iml4e Annex IV (HTML)": lambda: generate_document(
            settings, store, SYSTEM, actor="bench", version=version
        ),
        "fairlearn by hand": lambda: fairness_by_hand(settings, version, test_rows),
    }
    if not skip_evaluate:
        sides["mlflow.evaluate"] = lambda: mlflow_evaluate(settings, version, test_rows)
    runs: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeat):
        for name, side in sides.items():
            started = time.perf_counter()
            side()
            runs[name].append(time.perf_counter() - started)
    store.close()
    medians = {name: statistics.median(times) for name, times in runs.items()}
    assessed = medians["iml4e assess"]
    return {
        "rows": rows,
        "test_rows": len(test_rows),
        "controls": len(load_catalogue().for_tier("high-risk")),
        "runs": runs,
        "median_s": medians,
        "ratio_to_iml4e_assess": {name: value / assessed for name, value in medians.items()},
        "environment": {"python": platform.python_version(), "machine": platform.machine()},
    }


def fairness_by_hand(settings: Any, version: str, test_rows: Any) -> dict[str, float]:
    """Load the registered model, predict the hold-out, compute fairlearn's two metrics."""
    import mlflow
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    from iml4e.tracking import activate_tracking

    activate_tracking(settings)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}/{version}")
    features = test_rows.drop(columns=["default"])
    predicted = model.predict(features)
    return {
        "demographic_parity_difference": demographic_parity_difference(
            test_rows["default"], predicted, sensitive_features=test_rows["sex"]
        ),
        "equalized_odds_difference": equalized_odds_difference(
            test_rows["default"], predicted, sensitive_features=test_rows["sex"]
        ),
    }


def mlflow_evaluate(settings: Any, version: str, test_rows: Any) -> object:
    """MLflow's default classifier evaluation of the same rows, logged to a run."""
    import mlflow

    from iml4e.tracking import activate_tracking

    activate_tracking(settings)
    with mlflow.start_run(run_name="bench-evaluate"):
        return mlflow.models.evaluate(
            f"models:/{MODEL}/{version}",
            test_rows,
            targets="default",
            model_type="classifier",
            evaluators=["default"],
        )


def print_table(results: dict[str, Any], rows: int) -> None:
    print(
        f"\ncompliance assessment, {rows} training rows, {results['test_rows']} held out, "
        f"{results['controls']} controls"
    )
    print(f"{'side':<24}{'median s':>10}{'x iml4e assess':>16}")
    for name, median in results["median_s"].items():
        ratio = results["ratio_to_iml4e_assess"][name]
        print(f"{name:<24}{median:>10.3f}{ratio:>16.2f}")


if __name__ == "__main__":
    main()
