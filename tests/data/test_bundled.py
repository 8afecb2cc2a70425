"""scikit-learn's bundled datasets as single frames with safe column names."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from iml4e.data import BUNDLED_DATASETS, UnknownDataset, bundled_dataset, wine
from iml4e.data.bundled import safe_column_name
from iml4e.errors import BadInput

SAFE = re.compile(r"[a-z0-9_]+")


def test_wine_is_one_frame_with_a_target_column() -> None:
    frame = wine()
    assert frame.shape == (178, 14)
    assert frame.columns[-1] == "target"
    assert set(frame["target"]) == {0, 1, 2}
    assert str(frame["target"].dtype) == "int64"
    assert "od280_od315_of_diluted_wines" in frame.columns
    assert not frame.isna().any().any()
    pd.testing.assert_frame_equal(frame, bundled_dataset("wine"))


@pytest.mark.parametrize(
    ("name", "shape", "a_column"),
    [
        ("iris", (150, 5), "sepal_length_cm"),
        ("breast_cancer", (569, 31), "mean_radius"),
        ("diabetes", (442, 11), "bmi"),
        ("wine", (178, 14), "alcohol"),
    ],
)
def test_every_bundled_dataset_loads_with_safe_names(
    name: str, shape: tuple[int, int], a_column: str
) -> None:
    frame = bundled_dataset(name)
    assert frame.shape == shape
    assert a_column in frame.columns
    assert frame.columns[-1] == "target"
    assert all(SAFE.fullmatch(column) for column in frame.columns)
    assert frame.columns.is_unique
    assert list(frame.index) == list(range(len(frame)))


def test_listed_names_are_the_loadable_ones() -> None:
    assert BUNDLED_DATASETS == ("breast_cancer", "diabetes", "iris", "wine")


def test_regression_target_stays_numeric() -> None:
    target = bundled_dataset("diabetes")["target"]
    assert target.dtype.kind == "f"
    assert target.nunique() > 100


def test_names_ignore_case_and_surrounding_spaces() -> None:
    assert bundled_dataset("  Iris ").shape == (150, 5)


@pytest.mark.parametrize("name", ["mnist", "", "wine.csv"])
def test_unknown_name_is_bad_input_naming_the_known_ones(name: str) -> None:
    with pytest.raises(UnknownDataset) as raised:
        bundled_dataset(name)
    assert isinstance(raised.value, BadInput)
    assert raised.value.known == BUNDLED_DATASETS
    for known in BUNDLED_DATASETS:
        assert known in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("od280/od315_of_diluted_wines", "od280_od315_of_diluted_wines"),
        ("sepal length (cm)", "sepal_length_cm"),
        ("Mean Radius", "mean_radius"),
        ("a  --  b", "a_b"),
    ],
)
def test_safe_column_name(raw: str, safe: str) -> None:
    assert safe_column_name(raw) == safe
