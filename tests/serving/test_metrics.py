"""ServingMetrics on its own registry: names, labels, bounded label cardinality."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from iml4e.serving.metrics import MAX_LABELS, OTHER_LABEL, ServingMetrics


def samples(metrics: ServingMetrics) -> dict[tuple[str, tuple], float]:
    text = metrics.exposition().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_each_app_has_its_own_registry() -> None:
    first, second = ServingMetrics(), ServingMetrics()
    second.set_served([("m", "1", "champion"), ("m", "2", "challenger")])
    second.set_served([("m", "2", "champion")])
    first.observe_request("/invocations", 200, 0.01, "1")
    assert (
        samples(first)[
            (
                "iml4e_requests_total",
                (("model_version", "1"), ("route", "/invocations"), ("status", "200")),
            )
        ]
        == 1
    )
    assert not any(name == "iml4e_requests_total" for name, _ in samples(second))
    info = [key for key in samples(second) if key[0] == "iml4e_model_info"]
    assert info == [
        ("iml4e_model_info", (("model_name", "m"), ("model_version", "2"), ("role", "champion")))
    ]


def test_prediction_labels_are_bounded() -> None:
    metrics = ServingMetrics()
    metrics.observe_predictions([f"class-{i}" for i in range(MAX_LABELS + 10)], "1")
    metrics.observe_predictions([True, 0.25, {"a": 1}, "class-0"], "1")
    metrics.observe_batch(MAX_LABELS + 10)
    metrics.observe_batch(4)
    values = samples(metrics)
    labels = {
        dict(key[1])["prediction"]: value
        for key, value in values.items()
        if key[0] == "iml4e_predictions_total"
    }
    assert len(labels) == MAX_LABELS + 1
    assert labels[OTHER_LABEL] == 11  # ten new labels past the cap, then True
    assert labels["class-0"] == 2
    assert values[("iml4e_batch_rows_count", ())] == 2
    assert values[("iml4e_batch_rows_sum", ())] == MAX_LABELS + 10 + 4
