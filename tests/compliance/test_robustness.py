"""Robustness measures: accuracy of real fitted models on perturbed features."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from iml4e.compliance.errors import ComplianceError
from iml4e.compliance.robustness import perturb, robustness_report


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    values, labels = make_classification(
        n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    features = pd.DataFrame(values, columns=["a", "b", "c", "d"])
    features["count"] = np.round(np.abs(values[:, 0]) * 10).astype("int64")
    features["colour"] = np.where(values[:, 1] > 0, "red", "blue")
    return features, pd.Series(labels, name="label")


@pytest.fixture(scope="module")
def pipeline(data: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    features, labels = data
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression(max_iter=500)).fit(features, labels)


def test_no_noise_and_no_flips_change_nothing(
    data: tuple[pd.DataFrame, pd.Series], pipeline: Pipeline
) -> None:
    features, labels = data
    result = robustness_report(pipeline, features, labels, noise_scale=0, flip_rate=0)
    assert result.accuracy_drop == 0.0
    assert result.perturbed_accuracy == result.clean_accuracy
    assert result.clean_accuracy == pytest.approx(pipeline.score(features, labels))
    assert result.n_rows == 300


def test_heavy_noise_costs_a_real_model_accuracy(data: tuple[pd.DataFrame, pd.Series]) -> None:
    features, labels = data
    numbers = features[["a", "b", "c", "d"]]
    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(numbers, labels)

    result = robustness_report(model, numbers, labels, noise_scale=1.0, seed=3)

    assert result.clean_accuracy > 0.9
    assert result.accuracy_drop == pytest.approx(result.clean_accuracy - result.perturbed_accuracy)
    assert result.accuracy_drop > 0.05
    assert result.perturbations == tuple(
        f"{column}: gaussian noise, sd 1 x column sd" for column in "abcd"
    )
    data_out = result.as_dict()
    assert json.loads(json.dumps(data_out)) == data_out


def test_perturb_describes_every_column_and_is_deterministic(
    data: tuple[pd.DataFrame, pd.Series],
) -> None:
    features, _ = data
    before = features.copy()
    first, described = perturb(features, seed=7)
    second, _ = perturb(features, seed=7)
    other, _ = perturb(features, seed=8)

    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(other)
    assert described == [
        "a: gaussian noise, sd 0.1 x column sd",
        "b: gaussian noise, sd 0.1 x column sd",
        "c: gaussian noise, sd 0.1 x column sd",
        "d: gaussian noise, sd 0.1 x column sd",
        "count: gaussian noise, sd 0.1 x column sd",
        "colour: 5% of values swapped",
    ]
    assert not first["colour"].equals(features["colour"])
    pd.testing.assert_frame_equal(features, before)  # the input is untouched


def test_noise_is_scaled_to_each_column_and_integers_stay_integers() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "small": rng.normal(0, 1, size=2000),
            "large": rng.normal(0, 100, size=2000),
            "count": rng.integers(0, 1000, size=2000),
        }
    )
    noisy, _ = perturb(frame, noise_scale=0.5, seed=1)
    for column in ("small", "large"):
        shift = (noisy[column] - frame[column]).std()
        assert shift == pytest.approx(0.5 * frame[column].std(), rel=0.1)
    assert noisy["count"].dtype == np.int64
    assert (noisy["count"] != frame["count"]).mean() > 0.9


def test_missing_values_stay_missing() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, 4.0],
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "s": ["u", None, "v", "w"],
        }
    )
    noisy, _ = perturb(frame, noise_scale=1.0, flip_rate=1.0, seed=0)
    assert noisy.isna().to_numpy().tolist() == frame.isna().to_numpy().tolist()
    assert noisy["n"].dtype == "Int64"


def test_flip_rate_swaps_that_share_of_rows_for_other_observed_values() -> None:
    colours = pd.Series(["red", "green", "blue"] * 100 + [None] * 20)
    frame = pd.DataFrame({"colour": colours})
    swapped, described = perturb(frame, flip_rate=0.1, seed=2)
    changed = swapped["colour"].ne(frame["colour"]) & frame["colour"].notna()
    assert changed.sum() == 30  # 10% of the 300 non-missing rows
    assert set(swapped["colour"].dropna()) <= {"red", "green", "blue"}
    assert swapped["colour"].isna().sum() == 20
    assert described == ["colour: 10% of values swapped"]


def test_rates_out_of_range_are_refused(data: tuple[pd.DataFrame, pd.Series]) -> None:
    features, _ = data
    with pytest.raises(ComplianceError) as raised:
        perturb(features, flip_rate=1.5)
    assert raised.value.where == "flip_rate"
    with pytest.raises(ComplianceError):
        perturb(features, noise_scale=-1)
