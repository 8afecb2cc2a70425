"""A current column in the form the drift tests take it, computed once per column.

Numeric columns become their sorted finite values; categorical columns become counts per
bucket of the reference (its categories, then one bucket for values it has never seen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from iml4e.monitoring.reference import OTHER, ColumnReference, category_counts

MAX_UNSEEN_LISTED = 100


@dataclass(frozen=True)
class BucketCounts:
    """Current counts per reference category, plus the unseen bucket (last)."""

    counts: NDArray[np.int64]
    unseen: list[str]

    @property
    def total(self) -> int:
        """Non-missing current values."""
        return int(self.counts.sum())


def sorted_finite_values(series: pd.Series) -> NDArray[np.float64]:
    """The finite values of a numeric column, sorted (numpy sorts NaN last, -inf first)."""
    if series.dtype == np.float64:
        values = np.sort(series.to_numpy())
    else:
        values = np.sort(series.to_numpy(dtype=np.float64, na_value=np.nan))
    low = np.searchsorted(values, -np.inf, side="right")
    high = np.searchsorted(values, np.inf, side="left")
    return values[low:high]


def bucket_counts(reference: ColumnReference, series: pd.Series) -> BucketCounts:
    """Count the current values per reference category.

    Values outside the reference categories go to the last bucket and are listed (at most
    :data:`MAX_UNSEEN_LISTED`), unless the reference pooled rare categories in ``__other__``:
    then they are counted there, and not listed, as they may have been seen.
    """
    categories = list(reference.shares)
    position = {key: index for index, key in enumerate(categories)}
    counts = np.zeros(len(categories) + 1, dtype=np.int64)
    keys, current_counts = category_counts(series, reference.value_type)
    unknown = position.get(OTHER, len(categories))
    unseen: list[str] = []
    for key, count in zip(keys, current_counts.tolist(), strict=True):
        index = position.get(key)
        if index is None:
            index = unknown
            if unknown == len(categories) and len(unseen) < MAX_UNSEEN_LISTED:
                unseen.append(key)
        counts[index] += count
    return BucketCounts(counts=counts, unseen=unseen)
