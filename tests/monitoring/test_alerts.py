"""Alert states on the real store (SQLite and PostgreSQL): ok → pending → firing → resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iml4e.errors import BadInput
from iml4e.monitoring.alert_rules import AlertRules, parse_alert_rules
from iml4e.monitoring.alerts import (
    AlertNotActive,
    AlertNotFound,
    acknowledge_alert,
    alert_history,
    alert_states,
    append_event_detail,
    evaluate_alerts,
)
from iml4e.store import Store

T0 = datetime(2026, 1, 5, 12, 0)
STEP = timedelta(minutes=5)


def _rules(**overrides: object) -> AlertRules:
    drift = {
        "name": "feature-drift",
        "metric": "drift.share",
        "op": ">=",
        "threshold": 0.3,
        "window": "1h",
        "severity": "warning",
        "for": 2,
    }
    accuracy = {
        "name": "accuracy-low",
        "metric": "performance.accuracy",
        "op": "<",
        "threshold": 0.7,
        "window": "10000 rows",
        "severity": "critical",
        "for": "10m",
    }
    drift.update(overrides)
    return parse_alert_rules(
        {"deployment": "credit-default", "rules": [drift, accuracy]}, source="test"
    )


def _run(store: Store, rules: AlertRules, step: int, **values: float) -> dict[str, str]:
    metrics = {name.replace("__", "."): value for name, value in values.items()}
    changes = evaluate_alerts(store, rules, metrics, now=T0 + step * STEP)
    return {change.rule: "skipped" if change.skipped else change.state for change in changes}


def _state(store: Store, rule: str) -> str:
    return {s.rule: s.state for s in alert_states(store, "credit-default")}[rule]


def test_count_based_rule_walks_every_state(store: Store) -> None:
    rules = _rules()
    assert _run(store, rules, 0, drift__share=0.1, performance__accuracy=0.9) == {}
    assert _state(store, "feature-drift") == "ok"

    assert _run(store, rules, 1, drift__share=0.35, performance__accuracy=0.9) == {
        "feature-drift": "pending"
    }
    assert _run(store, rules, 2, drift__share=0.4, performance__accuracy=0.9) == {
        "feature-drift": "firing"
    }
    assert _run(store, rules, 3, drift__share=0.5, performance__accuracy=0.9) == {}
    assert _state(store, "feature-drift") == "firing"
    assert _run(store, rules, 4, drift__share=0.1, performance__accuracy=0.9) == {
        "feature-drift": "resolved"
    }
    assert _run(store, rules, 5, drift__share=0.1, performance__accuracy=0.9) == {
        "feature-drift": "ok"
    }

    history = alert_history(store, "credit-default", "feature-drift")
    assert [(e.state, e.value) for e in history] == [
        ("pending", 0.35),
        ("firing", 0.4),
        ("resolved", 0.1),
        ("ok", 0.1),
    ]
    assert history[0].detail["breaches"] == 1 and history[1].detail["breaches"] == 2
    assert history[1].detail["previous"] == "pending"
    assert history[1].detail["threshold"] == 0.3 and history[1].detail["op"] == ">="
    assert history[1].created_at == T0 + 2 * STEP


def test_pending_that_recovers_goes_back_to_ok_and_starts_counting_again(store: Store) -> None:
    rules = _rules(**{"for": 3})
    _run(store, rules, 0, drift__share=0.5, performance__accuracy=0.9)
    _run(store, rules, 1, drift__share=0.5, performance__accuracy=0.9)
    assert _run(store, rules, 2, drift__share=0.1, performance__accuracy=0.9) == {
        "feature-drift": "ok"
    }
    states = [
        _run(store, rules, 3 + i, drift__share=0.5, performance__accuracy=0.9) for i in range(3)
    ]
    assert [s["feature-drift"] for s in states] == ["pending", "pending", "firing"]
    breaches = [e.detail.get("breaches") for e in alert_history(store, "credit-default")]
    assert breaches == [1, 2, None, 1, 2, 3]


def test_for_one_fires_at_the_first_breach(store: Store) -> None:
    rules = _rules(**{"for": 1})
    changes = evaluate_alerts(store, rules, {"drift.share": 0.9, "performance.accuracy": 0.9})
    assert [(c.rule, c.previous, c.state, c.changed) for c in changes] == [
        ("feature-drift", "ok", "firing", True)
    ]


def test_duration_based_rule_fires_once_breaching_long_enough(store: Store) -> None:
    rules = _rules()
    assert _run(store, rules, 0, drift__share=0.1, performance__accuracy=0.6) == {
        "accuracy-low": "pending"
    }
    assert _run(store, rules, 1, drift__share=0.1, performance__accuracy=0.6) == {
        "accuracy-low": "pending"
    }
    assert _run(store, rules, 2, drift__share=0.1, performance__accuracy=0.65) == {
        "accuracy-low": "firing"
    }
    (state,) = [s for s in alert_states(store, "credit-default") if s.rule == "accuracy-low"]
    assert state.severity == "critical" and state.value == 0.65 and state.since == T0 + 2 * STEP


def test_missing_metric_is_skipped_and_keeps_the_state(store: Store) -> None:
    rules = _rules(**{"for": 1})
    _run(store, rules, 0, drift__share=0.9, performance__accuracy=0.9)
    assert _run(store, rules, 1, performance__accuracy=0.9) == {"feature-drift": "skipped"}
    assert _state(store, "feature-drift") == "firing"
    (skipped,) = evaluate_alerts(store, rules, {"performance.accuracy": 0.9})
    assert skipped.skipped and skipped.previous == skipped.state == "firing"
    assert skipped.value is None and skipped.event_id is None
    assert [e.state for e in alert_history(store, "credit-default")] == ["firing"]


def test_aware_now_is_stored_as_utc(store: Store) -> None:
    rules = _rules(**{"for": 1})
    aware = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    (change,) = evaluate_alerts(
        store, rules, {"drift.share": 0.9, "performance.accuracy": 0.9}, now=aware
    )
    assert change.at == datetime(2026, 1, 5, 14, 0)
    assert alert_history(store, "credit-default")[0].created_at == datetime(2026, 1, 5, 14, 0)


def test_acknowledge_keeps_firing_and_is_recorded(store: Store) -> None:
    rules = _rules(**{"for": 1})
    with pytest.raises(AlertNotFound) as missing:
        acknowledge_alert(store, "credit-default", "feature-drift", actor="alice")
    assert isinstance(missing.value, BadInput)
    assert missing.value.where == "credit-default/feature-drift"

    _run(store, rules, 0, drift__share=0.1, performance__accuracy=0.9)
    with pytest.raises(AlertNotActive, match="the alert is ok"):
        acknowledge_alert(store, "credit-default", "feature-drift", actor="alice")

    _run(store, rules, 1, drift__share=0.9, performance__accuracy=0.9)
    event = acknowledge_alert(
        store, "credit-default", "feature-drift", actor="alice", note="retraining"
    )
    assert event.state == "acknowledged"
    assert event.detail == {"actor": "alice", "note": "retraining", "alert_state": "firing"}
    (state,) = [s for s in alert_states(store, "credit-default") if s.rule == "feature-drift"]
    assert state.state == "firing" and state.acknowledged_by == "alice"

    assert _run(store, rules, 2, drift__share=0.9, performance__accuracy=0.9) == {}
    assert _run(store, rules, 3, drift__share=0.1, performance__accuracy=0.9) == {
        "feature-drift": "resolved"
    }
    assert [e.state for e in alert_history(store, "credit-default", "feature-drift")] == [
        "firing",
        "acknowledged",
        "resolved",
    ]
    _run(store, rules, 4, drift__share=0.9, performance__accuracy=0.9)
    (state,) = [s for s in alert_states(store, "credit-default") if s.rule == "feature-drift"]
    assert state.state == "firing" and state.acknowledged_by is None


def test_deployments_are_kept_apart_and_severity_follows_the_file(store: Store) -> None:
    rules = _rules(**{"for": 1})
    other = parse_alert_rules(
        {**rules.model_dump(by_alias=True), "deployment": "fraud"}, source="test"
    )
    evaluate_alerts(store, rules, {"drift.share": 0.9, "performance.accuracy": 0.9})
    evaluate_alerts(store, other, {"drift.share": 0.1, "performance.accuracy": 0.9})
    assert _state(store, "feature-drift") == "firing"
    assert {s.state for s in alert_states(store, "fraud")} == {"ok"}
    assert alert_history(store, "fraud") == []

    louder = _rules(**{"for": 1, "severity": "critical"})
    evaluate_alerts(store, louder, {"drift.share": 0.9, "performance.accuracy": 0.9})
    (state,) = [s for s in alert_states(store, "credit-default") if s.rule == "feature-drift"]
    assert state.severity == "critical"


def test_append_event_detail(store: Store) -> None:
    rules = _rules(**{"for": 1})
    (change,) = evaluate_alerts(store, rules, {"drift.share": 0.9, "performance.accuracy": 0.9})
    assert change.event_id is not None
    append_event_detail(store, change.event_id, "notifications", [{"notifier": "log"}])
    append_event_detail(store, change.event_id, "notifications", [{"notifier": "webhook"}])
    (event,) = alert_history(store, "credit-default")
    assert event.detail["notifications"] == [{"notifier": "log"}, {"notifier": "webhook"}]
    with pytest.raises(AlertNotFound):
        append_event_detail(store, 10_000, "notifications", [])
