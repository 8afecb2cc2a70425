"""Fairness measures: fairlearn's numbers per sensitive feature, on real predictions."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.linear_model import LogisticRegression

from iml4e.compliance.errors import ComplianceError
from iml4e.compliance.fairness import (
    FairnessResult,
    SensitiveFeature,
    fairness_report,
    sensitive_groups,
)


def _people(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 81, size=n),
            "sex": rng.choice(["f", "m"], size=n),
            "income": rng.normal(40.0, 10.0, size=n),
        }
    )
    # the outcome depends on the group, so a model trained on it treats groups differently
    score = 0.08 * (frame["income"] - 40) + np.where(frame["sex"] == "m", 1.5, -1.5)
    frame["approved"] = np.where(score + rng.normal(0, 1, size=n) > 0, "yes", "no")
    return frame


def _fitted_predictions(frame: pd.DataFrame) -> np.ndarray:
    features = pd.DataFrame(
        {"income": frame["income"], "is_m": (frame["sex"] == "m").astype(float)}
    )
    model = LogisticRegression().fit(features, frame["approved"])
    return model.predict(features)


def test_bins_cut_a_numeric_column_into_labelled_bands() -> None:
    frame = pd.DataFrame({"age": [18, 29, 30, 49.5, 50, 80, None, 90]})
    groups = sensitive_groups(frame, SensitiveFeature("age", bins=(18, 30, 50, 81)))
    assert groups.tolist() == [
        "18-30",
        "18-30",
        "30-50",
        "30-50",
        "50-81",
        "50-81",
        "missing",
        "out of range",
    ]
    assert groups.name == "age"


def test_groups_without_bins_are_the_values_as_strings() -> None:
    frame = pd.DataFrame({"sex": ["f", None, "m"], "region": [1, 2, 1]})
    assert sensitive_groups(frame, SensitiveFeature("sex")).tolist() == ["f", "missing", "m"]
    assert sensitive_groups(frame, SensitiveFeature("region")).tolist() == ["1", "2", "1"]


def test_a_missing_column_is_named_in_the_error() -> None:
    with pytest.raises(ComplianceError) as raised:
        sensitive_groups(pd.DataFrame({"age": [30]}), SensitiveFeature("ethnicity"))
    assert raised.value.where == "ethnicity"
    assert "ethnicity" in str(raised.value)


def test_bins_must_increase() -> None:
    with pytest.raises(ComplianceError, match="increasing"):
        SensitiveFeature("age", bins=(50, 30))


def test_prediction_driven_by_group_gives_the_selection_rate_gap() -> None:
    group = pd.Series(["a"] * 10 + ["b"] * 10)
    y_true = pd.Series([1, 0] * 10)
    y_pred = np.array([1] * 8 + [0] * 2 + [1] * 2 + [0] * 8)

    (result,) = fairness_report(y_true, y_pred, {"group": group}, positive_label=1)

    rate_a = y_pred[:10].mean()  # 0.8
    rate_b = y_pred[10:].mean()  # 0.2
    assert result.demographic_parity_difference == pytest.approx(rate_a - rate_b)
    assert result.demographic_parity_difference == pytest.approx(0.6)
    by_group = {rates.group: rates for rates in result.groups}
    assert by_group["a"].n == 10
    assert by_group["a"].selection_rate == pytest.approx(0.8)
    # group a predicts 1 on rows 0-7: positives 0,2,4,6 of 0-8 even, negatives 1,3,5,7 of 1-9 odd
    assert by_group["a"].true_positive_rate == pytest.approx(4 / 5)
    assert by_group["a"].false_positive_rate == pytest.approx(4 / 5)
    # group b: only rows 10 (positive) and 11 (negative) are predicted 1
    assert by_group["b"].true_positive_rate == pytest.approx(1 / 5)
    assert by_group["b"].false_positive_rate == pytest.approx(1 / 5)
    assert result.equalized_odds_difference == pytest.approx(4 / 5 - 1 / 5)


def test_equal_rates_give_zero_gaps() -> None:
    group = pd.Series(["a", "a", "b", "b"])
    y_true = pd.Series(["yes", "no", "yes", "no"])
    (result,) = fairness_report(
        y_true, ["yes", "no", "yes", "no"], {"group": group}, positive_label="yes"
    )
    assert result.demographic_parity_difference == 0.0
    assert result.equalized_odds_difference == 0.0
    assert all(rates.accuracy == 1.0 for rates in result.groups)
    assert result.positive_label == "yes"


def test_real_model_matches_fairlearn_on_every_row() -> None:
    frame = _people(400)
    predicted = _fitted_predictions(frame)
    groups = {
        "sex": sensitive_groups(frame, SensitiveFeature("sex")),
        "age": sensitive_groups(frame, SensitiveFeature("age", bins=(18, 30, 50, 81))),
    }

    results = fairness_report(frame["approved"], predicted, groups, positive_label="yes")

    assert [result.feature for result in results] == ["sex", "age"]
    truth, chosen = frame["approved"] == "yes", predicted == "yes"
    for result in results:
        groups_of_rows = groups[result.feature]
        assert result.demographic_parity_difference == pytest.approx(
            demographic_parity_difference(truth, chosen, sensitive_features=groups_of_rows)
        )
        assert result.equalized_odds_difference == pytest.approx(
            equalized_odds_difference(truth, chosen, sensitive_features=groups_of_rows)
        )
        assert sum(rates.n for rates in result.groups) == len(frame)
    sex = {rates.group: rates.selection_rate for rates in results[0].groups}
    assert sex["m"] - sex["f"] > 0.5  # the model learned the group
    assert sex["m"] == pytest.approx(chosen[frame["sex"] == "m"].mean())


def test_an_undefined_rate_is_none_and_the_result_is_json_ready() -> None:
    group = pd.Series(["a", "a", "b", "b"])
    y_true = pd.Series([0, 0, 1, 0])
    (result,) = fairness_report(y_true, [1, 0, 1, 0], {"group": group}, positive_label=1)
    group_a = result.groups[0]
    assert group_a.group == "a"
    assert group_a.true_positive_rate is None
    assert group_a.false_positive_rate == pytest.approx(0.5)
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["groups"][0]["group"] == "a"
    assert isinstance(result, FairnessResult)


def test_more_than_two_classes_is_refused() -> None:
    y_true = pd.Series(["low", "mid", "high"])
    with pytest.raises(ComplianceError, match="binary label; got 3 classes"):
        fairness_report(y_true, ["low"] * 3, {"g": pd.Series(["a"] * 3)}, positive_label="high")


def test_groups_must_match_the_labels_row_for_row() -> None:
    with pytest.raises(ComplianceError) as raised:
        fairness_report(pd.Series([0, 1]), [0, 1], {"g": pd.Series(["a"])}, positive_label=1)
    assert raised.value.where == "g"


def test_five_thousand_rows_and_two_features_take_well_under_100_ms() -> None:
    frame = _people(5000, seed=1)
    predicted = _fitted_predictions(frame)
    groups = {
        "sex": sensitive_groups(frame, SensitiveFeature("sex")),
        "age": sensitive_groups(frame, SensitiveFeature("age", bins=(18, 30, 50, 81))),
    }
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        fairness_report(frame["approved"], predicted, groups, positive_label="yes")
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.1
