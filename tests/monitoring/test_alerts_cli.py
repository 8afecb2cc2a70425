"""``monitor alerts|alerts-history|ack|export`` on a group built here, against a SQLite home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from iml4e.cli.commands_alerts import register
from iml4e.cli.context import CliState
from iml4e.config import load_settings
from iml4e.errors import BadInput
from iml4e.monitoring.alert_rules import alert_rules_path, load_alert_rules
from iml4e.monitoring.alerts import evaluate_alerts
from iml4e.monitoring.errors import AlertRulesInvalid
from iml4e.serving.deployments import record_deployment
from iml4e.store import open_store

RULES = """\
deployment: {deployment}
notify:
  - log: true
rules:
  - name: feature-drift
    metric: drift.share
    op: ">="
    threshold: 0.3
    window: 1h
    for: 1
"""


def _app(home: Path) -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = CliState(home=home)

    monitor = typer.Typer(name="monitor", no_args_is_help=True)
    register(monitor)
    app.add_typer(monitor)
    return app


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    for deployment in ("credit-default", "fraud"):
        path = alert_rules_path(home, deployment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(RULES.format(deployment=deployment))
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    with open_store(settings) as store:
        record_deployment(
            store, "credit-default", model_name="m", model_version="1", url=None, actor="t"
        )
    return home


def _invoke(home: Path, *args: str) -> Result:
    return CliRunner().invoke(_app(home), ["monitor", *args], env={})


def _fire(home: Path, tmp_path: Path) -> None:
    settings = load_settings({"home": str(home)}, environ={}, cwd=tmp_path).settings
    rules = load_alert_rules(alert_rules_path(home, "credit-default"))
    with open_store(settings) as store:
        evaluate_alerts(store, rules, {"drift.share": 0.5})


def test_alerts_of_an_unknown_deployment_are_refused(home: Path) -> None:
    unknown = _invoke(home, "alerts", "nope")
    assert isinstance(unknown.exception, BadInput)  # exit 2 at iml4e's edge
    assert unknown.exception.where == "deployment 'nope'"


def test_alerts_history_and_ack(home: Path, tmp_path: Path) -> None:
    empty = _invoke(home, "alerts", "credit-default", "--json")
    assert empty.exit_code == 0, empty.output
    assert json.loads(empty.stdout) == []

    _fire(home, tmp_path)
    shown = _invoke(home, "alerts", "credit-default", "--json")
    (state,) = json.loads(shown.stdout)
    assert (state["rule"], state["state"], state["value"]) == ("feature-drift", "firing", 0.5)
    assert state["acknowledged_by"] is None
    table = _invoke(home, "alerts", "credit-default")
    assert table.exit_code == 0 and "feature-drift" in table.stdout and "firing" in table.stdout

    acked = _invoke(
        home, "ack", "credit-default", "feature-drift", "--note", "on it", "--by", "bob"
    )
    assert acked.exit_code == 0, acked.output
    assert "acknowledged credit-default/feature-drift by bob" in acked.stdout
    (state,) = json.loads(_invoke(home, "alerts", "credit-default", "--json").stdout)
    assert state["state"] == "firing" and state["acknowledged_by"] == "bob"

    history = json.loads(_invoke(home, "alerts-history", "credit-default", "--json").stdout)
    assert [e["state"] for e in history] == ["firing", "acknowledged"]
    assert history[1]["detail"]["note"] == "on it"
    assert _invoke(home, "alerts-history", "credit-default").exit_code == 0

    unknown = _invoke(home, "ack", "credit-default", "no-such-rule")
    assert isinstance(unknown.exception, BadInput)  # iml4e's main turns BadInput into exit 2


def test_export_writes_both_files(home: Path, tmp_path: Path) -> None:
    rules_file, dashboard_file = tmp_path / "rules.yaml", tmp_path / "dashboard.json"
    result = _invoke(
        home, "export", "--prometheus-rules", str(rules_file), "--grafana", str(dashboard_file)
    )
    assert result.exit_code == 0, result.output
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    assert [g["name"] for g in groups] == ["iml4e-credit-default", "iml4e-fraud"]
    dashboard = json.loads(dashboard_file.read_text())
    assert [p["title"] for p in dashboard["panels"] if p["type"] == "row"] == [
        "Deployment credit-default",
        "Deployment fraud",
    ]

    only = _invoke(home, "export", "--prometheus-rules", str(rules_file), "--deployment", "fraud")
    assert only.exit_code == 0, only.output
    assert [g["name"] for g in yaml.safe_load(rules_file.read_text())["groups"]] == ["iml4e-fraud"]


def test_export_refuses_bad_input(home: Path, tmp_path: Path) -> None:
    nothing = _invoke(home, "export")
    assert nothing.exit_code == 2 and "--prometheus-rules" in nothing.output
    interval = _invoke(home, "export", "--grafana", str(tmp_path / "d.json"), "--interval", "x")
    assert interval.exit_code == 2

    path = alert_rules_path(home, "fraud")
    path.write_text(RULES.format(deployment="fraud").replace('op: ">="', 'op: "=>"'))
    bad = _invoke(home, "export", "--grafana", str(tmp_path / "d.json"))
    assert isinstance(bad.exception, AlertRulesInvalid)
    assert isinstance(bad.exception, BadInput)
    assert str(bad.exception).startswith(f"{path}: rules.0.op:")

    missing = _invoke(home, "export", "--grafana", str(tmp_path / "d.json"), "--deployment", "x")
    assert isinstance(missing.exception, AlertRulesInvalid)
    assert "x.alerts.yaml" in str(missing.exception)


def test_bad_rules_file_is_exit_2_at_iml4e_edge(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from iml4e.cli.main import _exit_code_for  # the one place errors become exit codes

    path = alert_rules_path(home, "fraud")
    path.write_text(RULES.format(deployment="fraud").replace("threshold: 0.3", "threshold: x"))
    args = ["monitor", "export", "--grafana", str(tmp_path / "d.json")]
    with pytest.raises(AlertRulesInvalid) as caught:
        _app(home)(args=args, standalone_mode=False)
    assert _exit_code_for(caught.value) == 2
    error = capsys.readouterr().err
    assert "fraud.alerts.yaml" in error and "rules.0.threshold" in error
