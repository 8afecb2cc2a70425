"""Row-level data quality: duplicate rows, and rows shared by a train and a test split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from iml4e.data.errors import InvalidArgument

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class DuplicateReport:
    """Rows that repeat an earlier row exactly (all columns, or the ones compared)."""

    duplicate_rows: int
    share: float
    sample_rows: tuple[object, ...]


@dataclass(frozen=True)
class OverlapReport:
    """Test rows that also occur in the training split: leakage that flatters evaluation."""

    overlapping_rows: int
    share_of_test: float
    sample_test_rows: tuple[object, ...]


def row_hashes(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> np.ndarray:
    """One 64-bit hash per row over ``columns`` (all by default); the index is ignored."""
    selected = frame if columns is None else frame[list(columns)]
    return pd.util.hash_pandas_object(selected, index=False).to_numpy()


def find_duplicate_rows(
    frame: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> DuplicateReport:
    """Count rows equal to an earlier row (the first occurrence is not counted)."""
    _check_columns(frame, columns, "frame")
    duplicated = pd.Series(row_hashes(frame, columns)).duplicated().to_numpy()
    count = int(duplicated.sum())
    return DuplicateReport(
        duplicate_rows=count,
        share=count / len(frame) if len(frame) else 0.0,
        sample_rows=tuple(frame.index[duplicated][:SAMPLE_SIZE].tolist()),
    )


def find_train_test_overlap(
    train: pd.DataFrame, test: pd.DataFrame, *, columns: Sequence[str] | None = None
) -> OverlapReport:
    """Count test rows that also occur in ``train`` (compare features only via ``columns``)."""
    if columns is None and list(train.columns) != list(test.columns):
        raise InvalidArgument(
            "train and test have different columns; name the columns to compare",
            where="columns",
        )
    _check_columns(train, columns, "train")
    _check_columns(test, columns, "test")
    shared = np.isin(row_hashes(test, columns), row_hashes(train, columns))
    count = int(shared.sum())
    return OverlapReport(
        overlapping_rows=count,
        share_of_test=count / len(test) if len(test) else 0.0,
        sample_test_rows=tuple(test.index[shared][:SAMPLE_SIZE].tolist()),
    )


def _check_columns(frame: pd.DataFrame, columns: Sequence[str] | None, where: str) -> None:
    if columns is None:
        return
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidArgument(f"no column(s) {', '.join(map(repr, missing))}", where=where)
