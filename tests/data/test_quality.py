"""Duplicate rows and train/test leakage, on real frames."""

from __future__ import annotations

import pandas as pd
import pytest

from iml4e.data import InvalidArgument, credit_applications
from iml4e.data.quality import find_duplicate_rows, find_train_test_overlap


def test_duplicates_are_counted_after_their_first_occurrence() -> None:
    frame = credit_applications(200, seed=2)
    doubled = pd.concat([frame, frame.iloc[[3, 7, 7]]], ignore_index=True)
    report = find_duplicate_rows(doubled)
    assert report.duplicate_rows == 3
    assert report.sample_rows == (200, 201, 202)
    assert report.share == pytest.approx(3 / 203)
    assert find_duplicate_rows(frame).duplicate_rows == 0


def test_duplicates_on_chosen_columns() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]})
    assert find_duplicate_rows(frame).duplicate_rows == 0
    assert find_duplicate_rows(frame, columns=["a"]).duplicate_rows == 1


def test_leakage_finds_test_rows_present_in_train() -> None:
    frame = credit_applications(300, seed=5)
    train, test = frame.iloc[:200], frame.iloc[200:]
    assert find_train_test_overlap(train, test).overlapping_rows == 0
    leaky_test = pd.concat([test, train.iloc[[10, 20]]])
    report = find_train_test_overlap(train, leaky_test)
    assert report.overlapping_rows == 2
    assert set(report.sample_test_rows) == {10, 20}
    assert report.share_of_test == pytest.approx(2 / 102)


def test_leakage_on_features_ignores_a_differing_label() -> None:
    frame = credit_applications(100, seed=1)
    relabelled = frame.iloc[:5].assign(default=1 - frame.iloc[:5]["default"])
    features = [c for c in frame.columns if c != "default"]
    assert find_train_test_overlap(frame, relabelled).overlapping_rows == 0
    assert find_train_test_overlap(frame, relabelled, columns=features).overlapping_rows == 5


def test_bad_columns_name_the_side() -> None:
    frame = credit_applications(10)
    with pytest.raises(InvalidArgument) as raised:
        find_train_test_overlap(frame, frame.drop(columns=["sex"]))
    assert raised.value.where == "columns"
    with pytest.raises(InvalidArgument) as raised:
        find_duplicate_rows(frame, columns=["nope"])
    assert "nope" in str(raised.value)
