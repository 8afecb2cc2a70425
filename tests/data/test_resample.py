"""Resampled traffic: new rows like the data, shifted on request."""

from __future__ import annotations

import pandas as pd
import pytest

from iml4e.data import WINE_FEATURES, InvalidArgument, resample_with_drift, wine
from iml4e.data.resample import DRIFT_SHIFT_STDS


def test_same_seed_same_rows_and_labels_copied() -> None:
    frame = wine()
    first = resample_with_drift(frame, 200, seed=4, exclude=["target"])
    again = resample_with_drift(frame, 200, seed=4, exclude=["target"])
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == list(frame.columns)
    assert set(first["target"]) <= {0, 1, 2}
    assert not first[list(WINE_FEATURES)].isin(frame[list(WINE_FEATURES)]).all().all()


def test_drift_shifts_every_other_feature_by_the_documented_amount() -> None:
    frame = wine()
    reference = resample_with_drift(frame, 4000, seed=1, exclude=["target"])
    drifted = resample_with_drift(frame, 4000, seed=1, drift=1.0, exclude=["target"])
    for position, column in enumerate(WINE_FEATURES):
        shift = (drifted[column].mean() - reference[column].mean()) / frame[column].std(ddof=0)
        if position % 2 == 0:
            assert shift == pytest.approx(DRIFT_SHIFT_STDS, abs=0.1), column
        else:
            assert abs(shift) < 0.05, column


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [({"n_rows": 0}, "n_rows"), ({"n_rows": 5, "drift": 1.5}, "drift")],
)
def test_bad_arguments(kwargs: dict, where: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        resample_with_drift(wine(), **kwargs)
    assert raised.value.where == where
