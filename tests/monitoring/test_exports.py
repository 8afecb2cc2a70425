"""Prometheus alerting rules and the Grafana dashboard, parsed back and checked field by field.

When ``promtool`` is on PATH the rules are also checked by Prometheus's own tool.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from iml4e.monitoring.alert_rules import AlertRules, parse_alert_rules
from iml4e.monitoring.exports import alert_name, grafana_dashboard, prometheus_alert_rules


def _rules(deployment: str = "credit-default") -> AlertRules:
    return parse_alert_rules(
        {
            "deployment": deployment,
            "rules": [
                {
                    "name": "feature-drift",
                    "metric": "drift.share",
                    "op": ">=",
                    "threshold": 0.3,
                    "window": "1h",
                    "severity": "warning",
                    "for": 3,
                },
                {
                    "name": "accuracy-low",
                    "metric": "performance.accuracy",
                    "op": "<",
                    "threshold": 0.7,
                    "window": "10000 rows",
                    "severity": "critical",
                    "for": "10m",
                },
                {
                    "name": "accuracy_very_low",
                    "metric": "performance.accuracy",
                    "op": "<",
                    "threshold": 0.5,
                    "window": "1h",
                    "severity": "critical",
                },
                {
                    "name": "2nd.income-drift",
                    "metric": 'drift.column.Monthly "Income"',
                    "op": ">",
                    "threshold": 0.2,
                    "window": "1d",
                    "severity": "info",
                    "description": "Income drifts.",
                },
            ],
        },
        source="test",
    )


def test_prometheus_rules_fields(tmp_path: Path) -> None:
    text = prometheus_alert_rules([_rules(), _rules("fraud")])
    # Prometheus' own checker, where Debian's `prometheus` package is installed; the checks of
    # the parsed rules below hold everywhere.
    if shutil.which("promtool") is not None:
        path = tmp_path / "iml4e.rules.yaml"
        path.write_text(text)
        checked = subprocess.run(
            ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "SUCCESS: 8 rules found" in checked.stdout
    exported = yaml.safe_load(text)
    credit, fraud = exported["groups"]
    assert credit["name"] == "iml4e-credit-default" and fraud["name"] == "iml4e-fraud"
    drift, accuracy, very_low, income = credit["rules"]
    assert drift == {
        "alert": "FeatureDrift",
        "expr": 'iml4e_monitor_value{deployment="credit-default",metric="drift.share"} >= 0.3',
        "for": "10m",
        "labels": {"severity": "warning", "deployment": "credit-default", "rule": "feature-drift"},
        "annotations": {
            "summary": "credit-default: feature-drift (drift.share >= 0.3)",
            "description": "drift.share of deployment credit-default is {{ $value }}, "
            "breaching >= 0.3 (window 1h).",
        },
    }
    assert accuracy["alert"] == "AccuracyLow" and accuracy["for"] == "10m"
    assert accuracy["expr"].endswith("} < 0.7")
    assert very_low["alert"] == "AccuracyVeryLow" and "for" not in very_low
    assert income["alert"] == "Iml4e2ndIncomeDrift"
    assert 'metric="drift.column.Monthly__Income_"' in income["expr"]
    assert income["annotations"]["description"] == "Income drifts."
    assert fraud["rules"][0]["expr"].startswith('iml4e_monitor_value{deployment="fraud",')


def test_counts_become_durations_of_the_monitor_interval() -> None:
    exported = yaml.safe_load(prometheus_alert_rules([_rules()], interval="15m"))
    assert exported["groups"][0]["rules"][0]["for"] == "30m"


def test_alert_names() -> None:
    rules = _rules()
    assert [alert_name(rule) for rule in rules.rules] == [
        "FeatureDrift",
        "AccuracyLow",
        "AccuracyVeryLow",
        "Iml4e2ndIncomeDrift",
    ]


def test_grafana_dashboard_fields() -> None:
    dashboard = json.loads(json.dumps(grafana_dashboard([_rules(), _rules("fraud")])))
    assert dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["current"]["value"] == "Prometheus"
    assert variables["deployment"]["query"] == "credit-default,fraud"
    assert [o["value"] for o in variables["deployment"]["options"]] == ["credit-default", "fraud"]

    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    overview = panels[0]
    assert "$deployment" in overview["targets"][0]["expr"]
    rows = [p for p in panels if p["type"] == "row"]
    assert [r["title"] for r in rows] == ["Deployment credit-default", "Deployment fraud"]
    series = [p for p in panels if p["type"] == "timeseries"][1:]
    assert [p["title"] for p in series] == [
        "drift.share",
        "performance.accuracy",
        'drift.column.Monthly "Income"',
    ] * 2
    drift, accuracy, income = series[:3]
    assert drift["targets"][0]["expr"] == (
        'iml4e_monitor_value{deployment="credit-default",metric="drift.share"}'
    )
    assert drift["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None},
        {"color": "orange", "value": 0.3},
    ]
    assert accuracy["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "red", "value": None},
        {"color": "green", "value": 0.5},
        {"color": "green", "value": 0.7},
    ]
    assert drift["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line+area"
    assert income["targets"][0]["expr"].endswith('metric="drift.column.Monthly__Income_"}')
    assert all(p["datasource"]["uid"] == "${datasource}" for p in series)


def test_grafana_layout_does_not_overlap() -> None:
    panels = grafana_dashboard([_rules(), _rules("fraud")])["panels"]
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, panel["title"]
                cells.add((x, y))
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)


def test_empty_exports() -> None:
    assert yaml.safe_load(prometheus_alert_rules([])) == {"groups": []}
    assert [p["type"] for p in grafana_dashboard([])["panels"]] == ["timeseries"]
