"""Column shift statistics against scipy and by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from iml4e.data.diff import column_shift


def test_identical_samples_do_not_shift() -> None:
    values = pd.Series(np.random.default_rng(0).normal(size=5000), name="x")
    shift = column_shift(values, values.copy())
    assert shift.psi < 1e-9
    assert shift.ks == 0.0
    assert not shift.shifted


def test_a_moved_mean_shifts_and_ks_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    old = pd.Series(rng.normal(size=5000), name="x")
    new = pd.Series(rng.normal(loc=1.0, size=5000), name="x")
    shift = column_shift(old, new)
    assert shift.shifted and shift.psi > 0.5
    assert shift.ks == ks_2samp(old, new).statistic


def test_categories_that_appear_are_reported() -> None:
    old = pd.Series(["a"] * 50 + ["b"] * 50, name="c")
    new = pd.Series(["a"] * 50 + ["b"] * 45 + ["z"] * 5, name="c")
    shift = column_shift(old, new)
    assert shift.kind == "categorical"
    assert shift.new_categories == ("z",)
    assert shift.shifted


def test_missing_rates_are_reported() -> None:
    old = pd.Series([1.0, 2.0, 3.0, 4.0], name="m")
    new = pd.Series([1.0, None, 3.0, None], name="m")
    shift = column_shift(old, new)
    assert (shift.missing_before, shift.missing_after) == (0.0, 0.5)


def test_a_binary_label_shift_is_seen_per_value() -> None:
    old = pd.Series([0] * 80 + [1] * 20, name="label")
    new = pd.Series([0] * 50 + [1] * 50, name="label")
    shift = column_shift(old, new)
    assert shift.kind == "numeric"
    assert shift.psi > 0.2 and shift.shifted
    assert shift.ks == ks_2samp(old, new).statistic
