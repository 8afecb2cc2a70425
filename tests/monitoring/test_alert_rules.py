"""Alert rules files: every key read, and errors that name the file and the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from iml4e.errors import BadInput
from iml4e.monitoring.alert_rules import (
    AlertRules,
    alert_rules_files,
    alert_rules_path,
    format_duration,
    load_alert_rules,
    parse_duration,
    parse_window,
)
from iml4e.monitoring.errors import AlertRulesInvalid

RULES_TEXT = """\
deployment: credit-default
notify:
  - webhook: http://127.0.0.1:9000/hook
    timeout_s: 5
  - log: true
rules:
  - name: feature-drift
    metric: drift.share
    op: ">="
    threshold: 0.3
    window: 1h
    severity: warning
    for: 2
  - name: accuracy-low
    metric: performance.accuracy
    op: "<"
    threshold: 0.7
    window: 10000 rows
    severity: critical
    for: 10m
  - name: income-drift
    metric: drift.column.Monthly Income
    op: ">"
    threshold: 0.2
    window: 1d
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "credit-default.alerts.yaml"
    path.write_text(text)
    return path


def test_load_alert_rules_reads_every_key(tmp_path: Path) -> None:
    rules = load_alert_rules(_write(tmp_path, RULES_TEXT))
    assert isinstance(rules, AlertRules)
    assert rules.deployment == "credit-default"
    assert [target.kind for target in rules.notify] == ["webhook", "log"]
    assert rules.notify[0].webhook == "http://127.0.0.1:9000/hook"
    assert rules.notify[0].timeout_s == 5
    drift, accuracy, income = rules.rules
    assert (drift.metric, drift.op, drift.threshold, drift.severity) == (
        "drift.share",
        ">=",
        0.3,
        "warning",
    )
    assert drift.for_count == 2 and drift.for_duration is None
    assert drift.parsed_window.duration == timedelta(hours=1)
    assert accuracy.for_duration == timedelta(minutes=10) and accuracy.for_count is None
    assert accuracy.parsed_window.rows == 10000
    assert str(accuracy.parsed_window) == "10000 rows"
    assert income.metric == "drift.column.Monthly Income"
    assert income.severity == "warning" and income.for_count == 1
    assert rules.rule("accuracy-low") is accuracy and rules.rule("nope") is None


def test_breached_compares_and_never_breaches_on_nan(tmp_path: Path) -> None:
    drift, accuracy, _ = load_alert_rules(_write(tmp_path, RULES_TEXT)).rules
    assert drift.breached(0.3) and not drift.breached(0.29)
    assert accuracy.breached(0.69) and not accuracy.breached(0.7)
    assert not drift.breached(float("nan"))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('op: ">="', 'op: "=>"', "rules.0.op"),
        ("threshold: 0.3", "threshold: high", "rules.0.threshold"),
        ("threshold: 0.3", "threshold: .nan", "rules.0.threshold"),
        ("metric: drift.share", "metric: Drift Share", "rules.0.metric"),
        ("metric: drift.share", "metric: drift..share", "rules.0.metric"),
        ("window: 1h", "window: soon", "rules.0.window"),
        ("window: 1h", "window: 0 rows", "rules.0.window"),
        ("severity: warning", "severity: fatal", "rules.0.severity"),
        ("for: 2", "for: 0", "rules.0.for"),
        ("for: 2", "for: ten minutes", "rules.0.for"),
        ("for: 2", "for: true", "rules.0.for"),
        ("    for: 2", "    for: 2\n    colour: red", "rules.0.colour: unknown key"),
        ("name: accuracy-low", "name: feature-drift", "rules: rule 1 reuses the name"),
        ("deployment: credit-default", "deployment: credit default", "deployment"),
        ("  - log: true", "  - log: true\n    webhook: http://x", "notify.1"),
        ("  - log: true", "  - log: false", "notify.1"),
        ("webhook: http://127.0.0.1:9000/hook", "webhook: ftp://host/x", "notify.0"),
        ("timeout_s: 5", "timeout_s: -1", "notify.0.timeout_s"),
        ("deployment: credit-default", "deployment: credit-default\nowner: me", "owner"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in RULES_TEXT
    path = _write(tmp_path, RULES_TEXT.replace(old, new, 1))
    with pytest.raises(AlertRulesInvalid) as caught:
        load_alert_rules(path)
    assert isinstance(caught.value, BadInput)
    assert caught.value.where == str(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert key in str(caught.value)


def test_duplicate_rule_names_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, RULES_TEXT.replace("name: accuracy-low", "name: feature-drift"))
    with pytest.raises(
        AlertRulesInvalid, match="rules: rule 1 reuses the name 'feature-drift' of rule 0"
    ):
        load_alert_rules(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("rules: []\n", "deployment: Field required"),
    ],
)
def test_unreadable_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AlertRulesInvalid, match=message):
        load_alert_rules(_write(tmp_path, text))


def test_missing_file_and_wrong_deployment(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesInvalid, match="not found"):
        load_alert_rules(tmp_path / "absent.alerts.yaml")
    path = _write(tmp_path, RULES_TEXT)
    with pytest.raises(AlertRulesInvalid, match="deployment: the file is for 'credit-default'"):
        load_alert_rules(path, deployment="fraud")


def test_default_location_and_listing(tmp_path: Path) -> None:
    path = alert_rules_path(tmp_path, "credit-default")
    assert path == tmp_path / "monitoring" / "credit-default.alerts.yaml"
    assert alert_rules_files(tmp_path) == []
    path.parent.mkdir()
    path.write_text(RULES_TEXT)
    (path.parent / "notes.txt").write_text("not rules")
    assert alert_rules_files(tmp_path) == [path]


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [("90s", 90, "1m30s"), ("10m", 600, "10m"), ("1h30m", 5400, "1h30m"), ("2d", 172800, "2d")],
)
def test_durations_round_trip(text: str, seconds: int, canonical: str) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert format_duration(parse_duration(text)) == canonical


@pytest.mark.parametrize("text", ["", "10", "m", "1x", "-5m", "1m1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_windows() -> None:
    assert parse_window("1 row").rows == 1
    assert parse_window("500rows").rows == 500
    assert parse_window("15m").duration == timedelta(minutes=15)
    with pytest.raises(ValueError):
        parse_window("0s")
