"""Monitor gauges: own registry, series per deployment, valid text exposition."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from iml4e.monitoring.alerts import AlertState
from iml4e.monitoring.gauges import MonitorGauges, metric_label

AT = datetime(2026, 1, 5, 12, 0)


def _state(rule: str, state: str, severity: str = "warning") -> AlertState:
    return AlertState("credit-default", rule, state, severity, 0.4, AT, AT)


def _samples(gauges: MonitorGauges) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = gauges.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_exposition_parses_and_holds_every_gauge() -> None:
    gauges = MonitorGauges()
    gauges.update(
        "credit-default",
        {"drift.share": 0.3, "drift.column.Monthly Income": 0.21, "rows": 10000},
        [_state("feature-drift", "firing"), _state("accuracy-low", "pending", "critical")],
        at=AT,
    )
    samples = _samples(gauges)
    value = "iml4e_monitor_value"
    assert samples[(value, (("deployment", "credit-default"), ("metric", "drift.share")))] == 0.3
    assert (
        samples[
            (value, (("deployment", "credit-default"), ("metric", "drift.column.Monthly_Income")))
        ]
        == 0.21
    )
    assert samples[(value, (("deployment", "credit-default"), ("metric", "rows")))] == 10000
    firing = "iml4e_alert_firing"
    labels = (("deployment", "credit-default"), ("rule", "feature-drift"), ("severity", "warning"))
    assert samples[(firing, labels)] == 1
    labels = (("deployment", "credit-default"), ("rule", "accuracy-low"), ("severity", "critical"))
    assert samples[(firing, labels)] == 0
    last_run = ("iml4e_monitor_last_run_timestamp_seconds", (("deployment", "credit-default"),))
    assert samples[last_run] == AT.replace(tzinfo=UTC).timestamp()


def test_series_a_run_no_longer_has_are_removed_per_deployment() -> None:
    gauges = MonitorGauges()
    gauges.update(
        "credit-default", {"drift.share": 0.3, "latency.p99_ms": 12.0}, [_state("a", "firing")]
    )
    gauges.update("fraud", {"drift.share": 0.1}, [])
    gauges.update("credit-default", {"drift.share": 0.2}, [_state("a", "firing", "critical")])
    samples = _samples(gauges)
    values = {labels: v for (name, labels), v in samples.items() if name == "iml4e_monitor_value"}
    assert values == {
        (("deployment", "credit-default"), ("metric", "drift.share")): 0.2,
        (("deployment", "fraud"), ("metric", "drift.share")): 0.1,
    }
    firing = [labels for (name, labels) in samples if name == "iml4e_alert_firing"]
    assert firing == [(("deployment", "credit-default"), ("rule", "a"), ("severity", "critical"))]


def test_gauges_stay_out_of_the_global_registry() -> None:
    first, second = MonitorGauges(), MonitorGauges()
    first.update("credit-default", {"drift.share": 0.3}, [])
    assert (
        REGISTRY.get_sample_value(
            "iml4e_monitor_value", {"deployment": "credit-default", "metric": "drift.share"}
        )
        is None
    )
    assert b"credit-default" not in second.exposition()


def test_metric_label_replaces_unsafe_characters() -> None:
    assert metric_label("quality.missing_rate.age") == "quality.missing_rate.age"
    assert metric_label('drift.column.a "b"/c') == "drift.column.a__b__c"
