"""Drift tests against scipy's implementations, the automatic choice, and bad input."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from iml4e.monitoring.drift import (
    NO_ROWS,
    DriftOptionsInvalid,
    choose_test,
    detect_drift,
)
from iml4e.monitoring.drift_tests import PSI_EPSILON, ks_test, wasserstein_distance
from iml4e.monitoring.errors import ReferenceMismatch
from iml4e.monitoring.reference import PREDICTION, build_reference

SEEDS = range(8)


def numeric_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = rng.normal(0, 1, rng.integers(50, 900))
    current = rng.normal(rng.uniform(-0.3, 0.3), rng.uniform(0.8, 1.3), rng.integers(30, 3_000))
    if seed % 2:  # ties inside and across the samples
        reference, current = np.round(reference, 1), np.round(current, 1)
    return reference, current


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_agrees_with_scipy_asymptotic(seed: int) -> None:
    reference, current = numeric_pair(seed)
    frame = build_reference(pd.DataFrame({"x": reference}))
    result = detect_drift(frame, pd.DataFrame({"x": current})).columns[0]
    expected = stats.ks_2samp(reference, current, method="asymp")

    assert result.test == "ks"
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-15)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert result.drifted == (expected.pvalue < 0.05)


@pytest.mark.parametrize("seed", SEEDS)
def test_ks_statistic_without_sorting_agrees_on_sorted_inputs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = np.sort(rng.integers(0, 20, 40).astype(float))
    current = np.sort(rng.integers(-3, 25, 70).astype(float))

    statistic, _ = ks_test(reference, current)
    assert statistic == pytest.approx(stats.ks_2samp(reference, current).statistic, rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_normed_wasserstein_agrees_with_scipy(seed: int) -> None:
    reference, current = numeric_pair(seed)
    reference = np.concatenate([reference, reference, reference])  # more than 1,000 values
    profile = build_reference(pd.DataFrame({"x": reference}))
    result = detect_drift(
        profile, pd.DataFrame({"x": current}), tests={"x": "wasserstein"}
    ).columns[0]
    expected = stats.wasserstein_distance(reference, current) / reference.std()

    assert result.test == "wasserstein" and result.p_value is None
    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert wasserstein_distance(np.sort(reference), np.sort(current)) == pytest.approx(
        stats.wasserstein_distance(reference, current), rel=1e-9
    )


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ([0.0, 1.0, 2.0], [5.0, 6.0]),  # current entirely above
        ([0.0, 1.0, 2.0], [-9.0, -3.0, -3.0]),  # entirely below
        ([1.0, 1.0, 1.0], [1.0, 2.0]),  # one reference value
        ([0.0, 1.0, 1.0, 3.0], [1.0, 1.0, 1.0, 1.0, 2.5]),  # ties across
        ([3.0], [3.0]),
    ],
)
def test_wasserstein_edge_cases_agree_with_scipy(
    reference: list[float], current: list[float]
) -> None:
    expected = stats.wasserstein_distance(reference, current)
    measured = wasserstein_distance(np.array(reference), np.array(current))
    assert measured == pytest.approx(expected, rel=1e-12, abs=1e-12)


small_samples = st.lists(st.integers(-20, 20).map(lambda value: value / 4), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(reference=small_samples, current=small_samples)
def test_ks_and_wasserstein_match_scipy_on_any_small_samples(
    reference: list[float], current: list[float]
) -> None:
    assume(len(reference) + len(current) > 2)  # scipy has no p-value for one against one
    ref, cur = np.sort(reference), np.sort(current)
    statistic, p_value = ks_test(ref, cur)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert statistic == pytest.approx(expected.statistic, rel=1e-12, abs=1e-15)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    assert wasserstein_distance(ref, cur) == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-12
    )


def test_non_finite_values_count_as_missing() -> None:
    profile = build_reference(pd.DataFrame({"x": np.arange(100.0)}))
    live = pd.DataFrame({"x": [np.nan, np.inf, -np.inf, 1.0, 50.0, 99.0]})
    column = detect_drift(profile, live).columns[0]
    assert (column.n_current, column.missing_current) == (3, 3)
    expected = stats.ks_2samp(np.arange(100.0), [1.0, 50.0, 99.0], method="asymp")
    assert column.statistic == pytest.approx(expected.statistic)


def categorical_pair(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    categories = np.array(["a", "b", "c", "d", "e", "f"])
    reference = rng.choice(categories, rows, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
    weights = rng.dirichlet(np.full(6, 20.0))
    return reference, rng.choice(categories, rng.integers(200, 5_000), p=weights)


def _counts(values: np.ndarray, categories: list[str]) -> np.ndarray:
    return np.array([(values == c).sum() for c in categories], dtype=float)


@pytest.mark.parametrize("seed", SEEDS)
def test_chi_squared_agrees_with_scipy(seed: int) -> None:
    reference, current = categorical_pair(seed, 800)
    profile = build_reference(pd.DataFrame({"c": reference}))
    result = detect_drift(profile, pd.DataFrame({"c": current})).columns[0]
    categories = list(profile.columns["c"].shares)
    shares = np.array(list(profile.columns["c"].shares.values()))
    observed = _counts(current, categories)
    expected = stats.chisquare(observed, shares * observed.sum())

    assert result.test == "chisquare"
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", SEEDS)
def test_jensen_shannon_agrees_with_scipy(seed: int) -> None:
    reference, current = categorical_pair(seed, 3_000)
    profile = build_reference(pd.DataFrame({"c": reference}))
    result = detect_drift(
        profile, pd.DataFrame({"c": current}), tests={"c": "jensenshannon"}
    ).columns[0]
    categories = list(profile.columns["c"].shares)
    expected = distance.jensenshannon(_counts(reference, categories), _counts(current, categories))

    assert result.test == "jensenshannon"
    assert result.statistic == pytest.approx(expected, rel=1e-9)


def _psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    ref = reference_counts / reference_counts.sum()
    cur = current_counts / current_counts.sum()
    ref[ref == 0] = PSI_EPSILON
    cur[cur == 0] = PSI_EPSILON
    return float(np.sum((cur - ref) * np.log(cur / ref)))


@pytest.mark.parametrize("seed", SEEDS)
def test_psi_agrees_with_the_formula(seed: int) -> None:
    reference, current = numeric_pair(seed)
    current = np.concatenate([current, [reference.max() + 5]])  # beyond the last edge
    profile = build_reference(pd.DataFrame({"x": reference}))
    x = detect_drift(profile, pd.DataFrame({"x": current}), tests={"x": "psi"}).columns[0]
    edges = profile.columns["x"].bin_edges
    expected = _psi(np.histogram(reference, edges)[0], np.histogram(current, edges)[0])
    assert x.test == "psi" and x.statistic == pytest.approx(expected, rel=1e-12)

    labels_ref, labels_cur = categorical_pair(seed, 1_000)
    profile = build_reference(pd.DataFrame({"c": labels_ref}))
    c = detect_drift(profile, pd.DataFrame({"c": labels_cur}), tests={"c": "psi"}).columns[0]
    categories = list(profile.columns["c"].shares)
    expected = _psi(_counts(labels_ref, categories), _counts(labels_cur, categories))
    assert c.statistic == pytest.approx(expected, rel=1e-12)


def test_psi_of_an_empty_bin_uses_the_epsilon() -> None:
    profile = build_reference(pd.DataFrame({"x": np.arange(1_000, dtype=float)}), bins=2)
    result = detect_drift(profile, pd.DataFrame({"x": [1.0, 2.0]}), tests={"x": "psi"})
    expected = (1 - 0.5) * np.log(1 / 0.5) + (PSI_EPSILON - 0.5) * np.log(PSI_EPSILON / 0.5)
    assert result.columns[0].statistic == pytest.approx(expected)


def test_the_test_is_chosen_by_kind_and_reference_size() -> None:
    rng = np.random.default_rng(0)
    small = build_reference(pd.DataFrame({"x": rng.normal(size=1_000), "c": ["a", "b"] * 500}))
    large = build_reference(pd.DataFrame({"x": rng.normal(size=1_001), "c": ["a"] * 1_001}))

    assert [choose_test(c) for c in small.columns.values()] == ["ks", "chisquare"]
    assert [choose_test(c) for c in large.columns.values()] == ["wasserstein", "jensenshannon"]
    # a small window is tested, not measured: its distance would be mostly noise
    assert [choose_test(c, 500) for c in large.columns.values()] == ["ks", "chisquare"]
    assert [choose_test(c, 5000) for c in large.columns.values()] == [
        "wasserstein",
        "jensenshannon",
    ]


def test_drifted_columns_make_the_dataset_drift() -> None:
    rng = np.random.default_rng(5)
    rows = 5_000
    training = pd.DataFrame(
        {
            "a": rng.normal(size=rows),
            "b": rng.normal(size=rows),
            "c": rng.choice(["x", "y", "z"], rows),
        }
    )
    live = pd.DataFrame(
        {
            "a": rng.normal(2, 1, rows),
            "b": rng.normal(size=rows),
            "c": rng.choice(["x", "y", "z"], rows, p=[0.8, 0.1, 0.1]),
        }
    )
    profile = build_reference(training)

    report = detect_drift(profile, live)
    assert [c.drifted for c in report.columns] == [True, False, True]
    assert report.drift_share == pytest.approx(2 / 3) and report.dataset_drift
    assert not detect_drift(profile, live, drift_share_threshold=0.7).dataset_drift

    relaxed = detect_drift(profile, live, thresholds={"a": 5.0}, tests={"c": "psi"})
    assert not relaxed.columns[0].drifted and relaxed.columns[0].threshold == 5.0
    assert relaxed.columns[2].test == "psi"


def test_unseen_categories_are_their_own_bucket_and_listed() -> None:
    profile = build_reference(pd.DataFrame({"c": ["a", "b"] * 50}))
    report = detect_drift(profile, pd.DataFrame({"c": ["a", "b", "zz", "zz", None]}))
    column = report.columns[0]

    assert column.unseen_categories == ["zz"]
    assert column.statistic == np.inf and column.p_value == 0.0 and column.drifted
    assert (column.n_current, column.missing_current) == (4, 1)
    js = detect_drift(
        profile, pd.DataFrame({"c": ["a", "b", "zz", "zz"]}), tests={"c": "jensenshannon"}
    )
    expected = distance.jensenshannon([0.5, 0.5, 0.0], [0.25, 0.25, 0.5])
    assert js.columns[0].statistic == pytest.approx(expected)


def test_prediction_drift_uses_the_same_machinery() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=20_000)})
    profile = build_reference(frame, predictions=rng.choice(["yes", "no"], 20_000))
    live = pd.DataFrame({"x": rng.normal(size=5_000)})

    report = detect_drift(profile, live, predictions=np.array(["yes"] * 5_000))
    assert report.prediction is not None and report.prediction.drifted
    assert report.prediction.column == PREDICTION
    assert report.drift_share == 0.0  # predictions do not count in the share
    without = detect_drift(build_reference(frame), live, predictions=["yes"] * 5_000)
    assert without.prediction is None
    assert without.skipped == [{"column": PREDICTION, "reason": "the reference has no predictions"}]


def test_bad_columns_are_skipped_with_a_reason() -> None:
    rng = np.random.default_rng(3)
    profile = build_reference(
        pd.DataFrame(
            {
                "x": rng.normal(size=200),
                "y": rng.normal(size=200),
                "z": rng.normal(size=200),
                "c": ["a", "b"] * 100,
            }
        )
    )
    live = pd.DataFrame(
        {"x": rng.normal(size=50), "y": [np.nan] * 50, "z": ["text"] * 50, "c": [1.5] * 50}
    )

    report = detect_drift(profile, live)
    assert [c.column for c in report.columns] == ["x"]
    assert report.skipped == [
        {"column": "y", "reason": "all values missing"},
        {"column": "z", "reason": "text values where the reference has number values"},
        {"column": "c", "reason": "number values where the reference has text values"},
    ]
    missing = detect_drift(profile, live[["x"]])
    assert {"column": "c", "reason": "not in the current data"} in missing.skipped
    twice = detect_drift(profile, pd.concat([live[["x"]], live[["x"]]], axis=1))
    assert twice.skipped[0] == {
        "column": "x",
        "reason": "more than one current column by that name",
    }


def test_column_names_are_matched_as_text() -> None:
    profile = build_reference(pd.DataFrame({0: np.arange(50.0)}))
    report = detect_drift(profile, pd.DataFrame({0: np.arange(50.0)}))
    assert report.columns[0].column == "0" and not report.columns[0].drifted


def test_a_window_with_no_traffic_skips_every_column() -> None:
    profile = build_reference(pd.DataFrame({"x": np.arange(10.0), "c": list("ababababab")}))
    report = detect_drift(profile, pd.DataFrame({"x": [], "c": []}))

    assert report.columns == [] and not report.dataset_drift and report.drift_share == 0.0
    assert report.skipped == [
        {"column": "x", "reason": NO_ROWS},
        {"column": "c", "reason": NO_ROWS},
    ]
    assert detect_drift(profile, pd.DataFrame()).skipped[0]["reason"] == NO_ROWS


def test_no_column_in_common_and_bad_overrides_are_refused() -> None:
    profile = build_reference(pd.DataFrame({"x": np.arange(10.0), "c": list("ababababab")}))
    with pytest.raises(ReferenceMismatch):
        detect_drift(profile, pd.DataFrame({"other": [1.0]}))
    with pytest.raises(DriftOptionsInvalid) as raised:
        detect_drift(profile, pd.DataFrame({"x": [1.0]}), tests={"c": "ks"})
    assert raised.value.where == "c"
    with pytest.raises(DriftOptionsInvalid):
        detect_drift(profile, pd.DataFrame({"x": [1.0]}), thresholds={"nope": 0.1})


def test_a_million_rows_stay_fast() -> None:
    rng = np.random.default_rng(4)
    training = pd.DataFrame(
        {"x": rng.normal(size=100_000), "c": rng.choice([f"v{i}" for i in range(50)], 100_000)}
    )
    live = pd.DataFrame(
        {"x": rng.normal(size=1_000_000), "c": rng.choice([f"v{i}" for i in range(50)], 1_000_000)}
    )
    profile = build_reference(training)
    started = time.perf_counter()
    report = detect_drift(profile, live)
    assert time.perf_counter() - started < 1.0
    assert not report.dataset_drift
