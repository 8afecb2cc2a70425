"""The synthetic credit-application generator: determinism, structure, label quality, drift."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from iml4e.data import (
    CATEGORICAL_FEATURES,
    FEATURES,
    NUMERIC_FEATURES,
    TARGET,
    InvalidArgument,
    credit_applications,
)
from iml4e.data.synthetic import (
    COLUMNS_WITH_MISSING_VALUES,
    HOUSING,
    LOAN_DURATIONS_MONTHS,
    PURPOSES,
    SEXES,
)
from iml4e.errors import BadInput


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return credit_applications(40_000, seed=7)


def test_same_arguments_give_the_identical_frame() -> None:
    first = credit_applications(2_000, seed=3, drift=0.6)
    second = credit_applications(2_000, seed=3, drift=0.6)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(credit_applications(2_000, seed=4, drift=0.6))


def test_frames_differing_only_in_drift_share_their_draws() -> None:
    calm = credit_applications(1_000, seed=1)
    drifted = credit_applications(1_000, seed=1, drift=0.8)
    pd.testing.assert_series_equal(calm["sex"], drifted["sex"])
    assert not calm["age"].equals(drifted["age"])


def test_columns_dtypes_and_ranges(reference: pd.DataFrame) -> None:
    assert list(reference.columns) == [*NUMERIC_FEATURES, *CATEGORICAL_FEATURES, TARGET]
    assert FEATURES == NUMERIC_FEATURES + CATEGORICAL_FEATURES
    assert len(FEATURES) == 10
    dtypes = reference.dtypes.astype(str).to_dict()
    for column in ("age", "loan_duration_months", "n_open_credits", TARGET):
        assert dtypes[column] == "int64"
    for column in ("income", "employment_years", "debt_ratio", "loan_amount"):
        assert dtypes[column] == "float64"
    for column in CATEGORICAL_FEATURES:
        assert dtypes[column] == "object"
    assert not reference.isna().any().any()
    assert reference["age"].between(18, 80).all()
    assert (reference["income"] > 0).all()
    assert (reference["employment_years"] >= 0).all()
    assert (reference["employment_years"] <= reference["age"] - 16).all()
    assert reference["debt_ratio"].between(0, 1.5).all()
    assert (reference["loan_amount"] >= 500).all()
    assert set(reference["loan_duration_months"]) <= set(LOAN_DURATIONS_MONTHS)
    assert (reference["n_open_credits"] >= 0).all()
    assert set(reference["purpose"]) == set(PURPOSES)
    assert set(reference["housing"]) == set(HOUSING)
    assert set(reference["sex"]) == set(SEXES)
    assert set(reference[TARGET]) == {0, 1}


def test_default_base_rate_is_realistic(reference: pd.DataFrame) -> None:
    assert 0.19 <= reference[TARGET].mean() <= 0.26


def test_label_follows_the_documented_risk_factors(reference: pd.DataFrame) -> None:
    rate = reference.groupby(pd.qcut(reference["debt_ratio"], 4), observed=True)[TARGET].mean()
    assert rate.is_monotonic_increasing
    young = reference.loc[reference["age"] < 25, TARGET].mean()
    older = reference.loc[reference["age"].between(40, 60), TARGET].mean()
    assert young > older + 0.05
    by_purpose = reference.groupby("purpose")[TARGET].mean()
    assert by_purpose["business"] > by_purpose["car"] + 0.05


def test_sex_does_not_drive_the_label(reference: pd.DataFrame) -> None:
    by_sex = reference.groupby("sex")[TARGET].mean()
    assert abs(by_sex["female"] - by_sex["male"]) < 0.02


def _auc(model: object, frame: pd.DataFrame) -> float:
    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), NUMERIC_FEATURES),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL_FEATURES,
            ),
        ]
    )
    pipeline = make_pipeline(features, model)
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame[TARGET])
    pipeline.fit(train[FEATURES], train[TARGET])
    return roc_auc_score(test[TARGET], pipeline.predict_proba(test[FEATURES])[:, 1])


@pytest.mark.parametrize(
    "model",
    [GradientBoostingClassifier(random_state=0), LogisticRegression(max_iter=1_000)],
    ids=["gradient_boosting", "logistic_regression"],
)
def test_a_real_model_reaches_a_realistic_but_not_trivial_auc(model: object) -> None:
    auc = _auc(model, credit_applications(8_000, seed=11))
    assert 0.75 <= auc <= 0.88


def test_drift_shifts_numeric_distributions_in_the_documented_direction() -> None:
    means = [
        credit_applications(20_000, seed=5, drift=d).mean(numeric_only=True) for d in (0, 0.5, 1)
    ]
    for earlier, later in itertools.pairwise(means):
        assert later["age"] < earlier["age"] - 2
        assert later["income"] < earlier["income"] * 0.95
        assert later["debt_ratio"] > earlier["debt_ratio"] + 0.03
        assert later["loan_amount"] > earlier["loan_amount"]
        assert later[TARGET] > earlier[TARGET]


def test_drift_changes_the_category_mix() -> None:
    calm = credit_applications(20_000, seed=5)
    drifted = credit_applications(20_000, seed=5, drift=1.0)

    def share(frame: pd.DataFrame, column: str, values: set[str]) -> float:
        return frame[column].isin(values).mean()

    assert (
        share(drifted, "purpose", {"business", "other"})
        > share(calm, "purpose", {"business", "other"}) + 0.1
    )
    assert share(drifted, "housing", {"rent"}) > share(calm, "housing", {"rent"}) + 0.1
    assert abs(share(drifted, "sex", {"female"}) - share(calm, "sex", {"female"})) < 0.02


@pytest.mark.parametrize("drift", [0.0, 0.3, 1.0])
def test_missing_values_grow_with_drift(drift: float) -> None:
    frame = credit_applications(30_000, seed=2, drift=drift)
    missing = frame.isna().mean()
    for column in COLUMNS_WITH_MISSING_VALUES:
        assert math.isclose(missing[column], 0.1 * drift, abs_tol=0.006)
    others = [c for c in frame.columns if c not in COLUMNS_WITH_MISSING_VALUES]
    assert not frame[others].isna().any().any()


def test_unseen_purpose_appears_from_half_drift() -> None:
    assert "crypto" not in set(credit_applications(20_000, drift=0.49)["purpose"])
    half = (credit_applications(20_000, drift=0.5)["purpose"] == "crypto").mean()
    full = (credit_applications(20_000, drift=1.0)["purpose"] == "crypto").mean()
    assert math.isclose(half, 0.05, abs_tol=0.01)
    assert math.isclose(full, 0.10, abs_tol=0.01)


def test_zero_rows_give_an_empty_frame_with_the_columns() -> None:
    frame = credit_applications(0)
    assert frame.empty
    assert list(frame.columns) == [*FEATURES, TARGET]
    assert str(frame["age"].dtype) == "int64"


def test_hundred_thousand_rows_in_well_under_a_second() -> None:
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        frame = credit_applications(100_000, drift=0.7)
        best = min(best, time.perf_counter() - started)
    assert len(frame) == 100_000
    assert best < 0.5


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        ({"n_rows": 10, "drift": -0.1}, "drift"),
        ({"n_rows": 10, "drift": 1.01}, "drift"),
        ({"n_rows": 10, "drift": float("nan")}, "drift"),
        ({"n_rows": 10, "drift": "0.5"}, "drift"),
        ({"n_rows": 10, "drift": True}, "drift"),
        ({"n_rows": -1}, "n_rows"),
        ({"n_rows": 2.5}, "n_rows"),
        ({"n_rows": 10, "seed": -3}, "seed"),
    ],
)
def test_bad_arguments_are_bad_input(arguments: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        credit_applications(**arguments)  # type: ignore[arg-type]
    assert isinstance(raised.value, BadInput)
    assert raised.value.where == where


def test_numpy_integers_are_accepted() -> None:
    frame = credit_applications(np.int64(5), seed=np.int32(1), drift=np.float32(0.5))
    assert len(frame) == 5
