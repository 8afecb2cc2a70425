"""Data-governance measures over pandas frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from iml4e.compliance.data_checks import (
    AccuracyInterval,
    accuracy_interval,
    duplicate_rate,
    label_base_rates,
    largest_gap,
    missing_rate,
    subgroup_counts,
    train_test_overlap,
)
from iml4e.compliance.errors import ComplianceError


def test_missing_rate_counts_cells() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", None, None, "y"]})
    assert missing_rate(frame) == pytest.approx(3 / 8)
    assert missing_rate(pd.DataFrame()) == 0.0
    assert missing_rate(pd.DataFrame({"a": []})) == 0.0


def test_duplicate_rate_counts_repeated_rows() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 1, 3], "b": ["x", "x", "x", "y", "z"]})
    assert duplicate_rate(frame) == pytest.approx(1 / 5)
    assert duplicate_rate(frame.iloc[:0]) == 0.0


def test_subgroup_counts_per_feature() -> None:
    groups = {
        "sex": pd.Series(["f", "m", "f", None]),
        "age": pd.Series(["18-30", "30-50", "30-50", "30-50"]),
    }
    assert subgroup_counts(groups) == {
        "sex": {"f": 2, "m": 1, "missing": 1},
        "age": {"18-30": 1, "30-50": 3},
    }


def test_overlap_is_the_share_of_test_rows_seen_in_training() -> None:
    values, _ = make_classification(n_samples=30, n_features=3, n_redundant=0, random_state=0)
    frame = pd.DataFrame(values, columns=["a", "b", "c"])
    train, test = frame.iloc[:20].copy(), frame.iloc[20:].copy()
    test.iloc[[1, 4, 7]] = train.iloc[[0, 5, 9]].to_numpy()  # 3 of 10 test rows copied
    train["only_in_train"] = 1.0
    test = test[["c", "a", "b"]]  # column order differs; the shared columns are compared

    assert train_test_overlap(train, test) == pytest.approx(0.3)
    assert train_test_overlap(train, frame.iloc[20:]) == 0.0
    assert train_test_overlap(train, test.iloc[:0]) == 0.0


def test_overlap_needs_shared_columns() -> None:
    with pytest.raises(ComplianceError, match="no columns"):
        train_test_overlap(pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [1]}))


def test_label_base_rates_and_their_largest_gap() -> None:
    labels = pd.Series(["yes", "no", "yes", "yes", "no", "no"])
    groups = {"sex": pd.Series(["f", "f", "m", "m", "m", "f"])}
    rates = label_base_rates(labels, groups, positive_label="yes")
    assert rates == {"sex": {"f": pytest.approx(1 / 3), "m": pytest.approx(2 / 3)}}
    assert largest_gap(rates["sex"]) == pytest.approx(1 / 3)
    assert largest_gap({"f": 0.4}) == 0.0
    assert largest_gap({}) == 0.0


def test_wilson_interval_at_80_of_100() -> None:
    truth = np.ones(100, dtype=int)
    predicted = np.array([1] * 80 + [0] * 20)
    interval = accuracy_interval(truth, predicted)
    assert isinstance(interval, AccuracyInterval)
    assert interval.accuracy == pytest.approx(0.8)
    assert interval.low == pytest.approx(0.7112, abs=5e-4)
    assert interval.high == pytest.approx(0.8666, abs=5e-4)
    assert interval.width == pytest.approx(interval.high - interval.low)
    assert (interval.n, interval.confidence) == (100, 0.95)


def test_wilson_interval_stays_inside_0_and_1_and_narrows_with_rows() -> None:
    perfect = accuracy_interval(["a"] * 20, ["a"] * 20)
    assert perfect.high == 1.0
    assert 0.8 < perfect.low < 1.0
    values, labels = make_classification(n_samples=400, n_features=4, random_state=1)
    model = LogisticRegression().fit(values[:200], labels[:200])
    small = accuracy_interval(labels[200:250], model.predict(values[200:250]))
    large = accuracy_interval(labels[200:], model.predict(values[200:]))
    assert large.width < small.width
    assert accuracy_interval(labels[200:], model.predict(values[200:]), confidence=0.99).width > (
        large.width
    )


def test_accuracy_interval_refuses_nonsense() -> None:
    with pytest.raises(ComplianceError):
        accuracy_interval([], [])
    with pytest.raises(ComplianceError):
        accuracy_interval([1, 0], [1])
    with pytest.raises(ComplianceError):
        accuracy_interval([1], [1], confidence=1.0)
