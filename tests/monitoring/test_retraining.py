"""Retraining plans: read and checked, matched against the alerts that started firing."""

from __future__ import annotations

from pathlib import Path

import pytest

from iml4e.config import load_settings
from iml4e.monitoring.errors import RetrainingPlanInvalid
from iml4e.monitoring.retraining import (
    RetrainingOutcome,
    load_retraining_plan,
    retraining_for,
    retraining_plan_path,
    run_retraining,
)

PLAN = """\
deployment: credit-default
on_alerts: [feature-drift, accuracy-low]
run: tests.monitoring.test_retraining:record_call
params: {rows: 500, drift: 0.4}
"""
CALLS: list[tuple[str, str, dict]] = []


def record_call(
    settings: object, deployment: str, *, reason: str, **params: object
) -> RetrainingOutcome:
    CALLS.append((deployment, reason, params))
    return RetrainingOutcome(
        reason=reason,
        pipeline_run_id="run",
        challenger_version="2",
        champion_version="1",
        compared_on="rows",
        decision="rejected: test",
    )


def test_a_plan_runs_for_the_alerts_it_names(tmp_path: Path) -> None:
    path = retraining_plan_path(tmp_path, "credit-default")
    path.parent.mkdir(parents=True)
    path.write_text(PLAN)
    plan = load_retraining_plan(path)
    assert retraining_for(plan, ["latency-high"]) is None
    reason = retraining_for(plan, ["accuracy-low", "latency-high"])
    assert reason == "alert accuracy-low firing"
    settings = load_settings({"home": str(tmp_path)}, environ={}, cwd=tmp_path).settings
    outcome = run_retraining(settings, plan, reason)
    assert outcome.challenger_version == "2"
    assert CALLS[-1] == ("credit-default", reason, {"rows": 500, "drift": 0.4})


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (PLAN.replace("on_alerts: [feature-drift, accuracy-low]", "on_alerts: []"), "on_alerts"),
        (PLAN.replace("run: tests", "run: not a function ref tests"), "run"),
        (PLAN + "extra: 1\n", "extra"),
        ("deployment: [unclosed\n", "cannot read"),
    ],
)
def test_a_bad_plan_names_the_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "x.retrain.yaml"
    path.write_text(text)
    with pytest.raises(RetrainingPlanInvalid) as caught:
        load_retraining_plan(path)
    assert caught.value.where == str(path) and where in caught.value.message


def test_a_run_that_cannot_be_loaded_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.retrain.yaml"
    path.write_text(PLAN.replace("record_call", "no_such_function"))
    settings = load_settings({"home": str(tmp_path)}, environ={}, cwd=tmp_path).settings
    with pytest.raises(RetrainingPlanInvalid, match="no_such_function"):
        run_retraining(settings, load_retraining_plan(path), "alert x firing")
