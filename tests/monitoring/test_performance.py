"""Live performance checked against scikit-learn on the same predictions and labels."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error

from iml4e.monitoring.performance import NO_SCORES, UnknownTask, live_performance
from iml4e.serving.inference_log import InferenceRecord


def record(
    request_id: str,
    prediction: Any,
    *,
    version: str = "1",
    role: str = "champion",
    inputs: list[dict[str, Any]] | None = None,
) -> InferenceRecord:
    return InferenceRecord(
        request_id=request_id,
        timestamp=1_700_000_000.0,
        deployment="d",
        model_name="m",
        model_version=version,
        protocol="mlflow",
        inputs=inputs if inputs is not None else [{"x": 1.0}],
        outputs=[prediction],
        latency_ms=1.0,
        role=role,
    )


@pytest.fixture
def traffic() -> tuple[list[InferenceRecord], dict[str, Any], np.ndarray, np.ndarray]:
    """200 requests, 150 labelled: versions 1 and 2, a shadow on every request, groups by sex."""
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, size=200)
    predicted = np.where(rng.random(200) < 0.8, truth, 1 - truth)
    records = []
    for i in range(200):
        inputs = [{"x": float(i), "sex": "F" if i % 3 else "M"}]
        version = "1" if i < 120 else "2"
        role = "champion" if i < 120 else "challenger"
        records.append(
            record(f"r{i}", int(predicted[i]), version=version, role=role, inputs=inputs)
        )
        records.append(record(f"r{i}", int(truth[i]), version="9", role="shadow", inputs=inputs))
    labels = {f"r{i}": int(truth[i]) for i in range(150)}
    return records, labels, truth, predicted


def test_classification_matches_sklearn_overall_and_per_slice(traffic) -> None:
    records, labels, truth, predicted = traffic
    report = live_performance(records, labels, group_by="sex")
    assert report.task == "classification"
    assert report.reason is None
    assert NO_SCORES in report.notes
    overall = report.overall
    assert overall is not None
    assert (overall.n_requests, overall.n_labelled, overall.n_unlabelled) == (200, 150, 50)
    assert overall.metrics["accuracy"] == pytest.approx(
        accuracy_score(truth[:150], predicted[:150])
    )
    assert overall.metrics["f1"] == pytest.approx(f1_score(truth[:150], predicted[:150]))
    assert overall.metrics["roc_auc"] is None

    v1, v2 = report.by_version["1"], report.by_version["2"]
    assert (v1.n_labelled, v2.n_labelled, v2.n_unlabelled) == (120, 30, 50)
    assert v2.metrics["f1"] == pytest.approx(f1_score(truth[120:150], predicted[120:150]))
    assert "9" not in report.by_version  # the shadow answered nobody

    shadow = report.by_role["shadow"]
    assert shadow.n_labelled == 150 and shadow.metrics["accuracy"] == 1.0
    assert report.by_role["challenger"].metrics["accuracy"] == pytest.approx(
        accuracy_score(truth[120:150], predicted[120:150])
    )

    women = [i for i in range(150) if i % 3]
    assert report.by_group["F"].metrics["f1"] == pytest.approx(
        f1_score(truth[women], predicted[women])
    )
    assert report.by_group["M"].n_labelled == 50
    assert not report.by_group["M"].too_small


def test_small_groups_are_flagged_not_dropped(traffic) -> None:
    records, labels, *_ = traffic
    report = live_performance(records, labels, group_by="sex", min_group_size=60)
    assert report.by_group["M"].too_small
    assert report.by_group["M"].metrics["accuracy"] is not None
    assert not report.by_group["F"].too_small
    assert report.by_version["2"].too_small


def test_a_missing_group_attribute_is_its_own_group() -> None:
    records = [record("a", 1, inputs=[{"x": 1}]), record("b", 0, inputs=[{"sex": None}])]
    report = live_performance(records, {"a": 1, "b": 1}, group_by="sex")
    assert list(report.by_group) == ["(missing)"]
    assert report.by_group["(missing)"].n_labelled == 2


def test_multiclass_f1_is_macro_averaged() -> None:
    truth = ["cat", "dog", "bird", "dog", "cat", "bird", "dog"]
    predicted = ["cat", "dog", "dog", "dog", "bird", "bird", "cat"]
    records = [record(f"r{i}", p) for i, p in enumerate(predicted)]
    report = live_performance(records, {f"r{i}": t for i, t in enumerate(truth)})
    assert report.overall is not None
    assert report.overall.metrics["f1"] == pytest.approx(
        f1_score(truth, predicted, average="macro")
    )


def test_binary_text_classes_take_the_larger_label_as_positive() -> None:
    truth = ["no", "yes", "yes", "no", "yes"]
    predicted = ["no", "yes", "no", "yes", "yes"]
    records = [record(f"r{i}", p) for i, p in enumerate(predicted)]
    report = live_performance(records, {f"r{i}": t for i, t in enumerate(truth)})
    assert report.overall is not None
    assert report.overall.metrics["f1"] == pytest.approx(
        f1_score(truth, predicted, pos_label="yes")
    )


def test_integral_float_predictions_match_integer_labels() -> None:
    records = [record("a", 1.0), record("b", 0.0)]
    report = live_performance(records, {"a": 1, "b": 1})
    assert report.overall is not None and report.overall.metrics["accuracy"] == 0.5


def test_regression_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(10, 3, size=80)
    predicted = truth + rng.normal(0, 1, size=80)
    records = [record(f"r{i}", float(p)) for i, p in enumerate(predicted)]
    report = live_performance(records, {f"r{i}": float(t) for i, t in enumerate(truth)})
    assert report.task == "regression"
    assert report.overall is not None
    assert report.overall.metrics["rmse"] == pytest.approx(
        math.sqrt(mean_squared_error(truth, predicted))
    )
    assert report.overall.metrics["mae"] == pytest.approx(mean_absolute_error(truth, predicted))
    assert report.notes == []


def test_integer_targets_can_be_scored_as_regression() -> None:
    records = [record("a", 3), record("b", 5)]
    report = live_performance(records, {"a": 4, "b": 5}, task="regression")
    assert report.overall is not None
    assert report.overall.metrics == {"rmse": pytest.approx(math.sqrt(0.5)), "mae": 0.5}


def test_multi_row_requests_are_counted_and_left_out() -> None:
    multi = InferenceRecord("m", 1.0, "d", "m", "1", "mlflow", [{"x": 1}, {"x": 2}], [1, 0], 1.0)
    report = live_performance([multi, record("a", 1)], {"m": 1, "a": 1})
    assert report.multi_row_requests == 1
    assert report.overall is not None and report.overall.n_requests == 1


def test_no_traffic_is_an_empty_report_with_a_reason() -> None:
    report = live_performance([], {"a": 1})
    assert report.overall is None and report.task is None
    assert report.reason == "no traffic in the window"


def test_no_labels_is_a_report_of_counts_with_a_reason() -> None:
    report = live_performance([record("a", 1), record("b", 0)], {})
    assert report.reason == "no labelled requests in the window"
    assert report.overall is not None
    assert (report.overall.n_labelled, report.overall.n_unlabelled) == (0, 2)
    assert report.overall.metrics == {}


def test_only_shadow_or_multi_row_traffic_has_a_reason() -> None:
    report = live_performance([record("a", 1, role="shadow")], {"a": 1})
    assert report.reason == "no single-row answered requests in the window"


def test_an_unknown_task_is_refused() -> None:
    with pytest.raises(UnknownTask) as raised:
        live_performance([record("a", 1)], {"a": 1}, task="ranking")
    assert raised.value.where == "task"
