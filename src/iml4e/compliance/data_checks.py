"""Data-governance measures over pandas frames (EU AI Act Art. 10, Art. 15(1)).

Art. 10 asks that training, validation and test data be relevant, representative and as far
as possible free of errors and complete, and that possible biases be examined; Art. 15 asks
that accuracy be declared. These small pure functions give the numbers the controls compare
against policy limits: missing and duplicate rates, group sizes, label rates per group,
train/test leakage and an accuracy with its confidence interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from iml4e.compliance.errors import ComplianceError
from iml4e.data.quality import find_duplicate_rows, find_train_test_overlap


def missing_rate(frame: pd.DataFrame) -> float:
    """The share of cells that are missing (0.0 for a frame without cells)."""
    if frame.size == 0:
        return 0.0
    return float(frame.isna().to_numpy().sum() / frame.size)


def duplicate_rate(frame: pd.DataFrame) -> float:
    """The share of rows that repeat an earlier row (the data room's duplicate check)."""
    return find_duplicate_rows(frame).share


def _labels(groups: pd.Series) -> pd.Series:
    """Group labels as strings, a missing label as ``"missing"``."""
    return groups.astype(object).where(groups.notna(), "missing").astype(str)


def subgroup_counts(groups: Mapping[str, pd.Series]) -> dict[str, dict[str, int]]:
    """Rows per group, per sensitive feature: ``{feature: {group: rows}}``."""
    return {
        name: {
            str(group): int(rows)
            for group, rows in _labels(labels).value_counts().sort_index().items()
        }
        for name, labels in groups.items()
    }


def train_test_overlap(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """The share of test rows that also occur, whole, in the training data.

    Rows are compared over the columns both frames have, in the test frame's column order. A
    test row seen in training measures memory, not generalisation (leakage).
    """
    shared = [column for column in test.columns if column in train.columns]
    if not shared:
        raise ComplianceError("train and test share no columns", where="train_test_overlap")
    return find_train_test_overlap(train, test, columns=shared).share_of_test


def label_base_rates(
    labels: pd.Series, groups: Mapping[str, pd.Series], *, positive_label: Any
) -> dict[str, dict[str, float]]:
    """The share of positive labels per group, per sensitive feature.

    ``groups`` holds group labels row for row with ``labels``; a large gap between groups in
    the data itself is a bias to examine before any model is trained.
    """
    positive = pd.Series(np.asarray(labels) == positive_label)
    rates: dict[str, dict[str, float]] = {}
    for name, series in groups.items():
        if len(series) != len(positive):
            raise ComplianceError(
                f"{len(series)} group labels for {len(positive)} labels", where=name
            )
        by_group = positive.groupby(_labels(series).to_numpy()).mean()
        rates[name] = {str(group): float(rate) for group, rate in by_group.items()}
    return rates


def largest_gap(rates: Mapping[str, float]) -> float:
    """The largest difference between two rates (0.0 for fewer than two)."""
    if len(rates) < 2:
        return 0.0
    return float(max(rates.values()) - min(rates.values()))


@dataclass(frozen=True)
class AccuracyInterval:
    """An accuracy with its Wilson score confidence interval over ``n`` rows."""

    accuracy: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def width(self) -> float:
        """How wide the interval is: what the test set size allows one to claim."""
        return self.high - self.low


def accuracy_interval(y_true: Any, y_pred: Any, *, confidence: float = 0.95) -> AccuracyInterval:
    """Accuracy and its Wilson score interval at ``confidence``.

    The Wilson interval stays inside [0, 1] and behaves at accuracies near 1 and on small test
    sets, where the normal approximation claims too much.
    """
    if not 0 < confidence < 1:
        raise ComplianceError(f"must be between 0 and 1; got {confidence}", where="confidence")
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    if truth.shape != predicted.shape:
        raise ComplianceError(
            f"{len(predicted)} predictions for {len(truth)} labels", where="y_pred"
        )
    n = len(truth)
    if n == 0:
        raise ComplianceError("no rows to measure accuracy on", where="y_true")
    accuracy = float(np.mean(truth == predicted))
    z = float(norm.ppf(0.5 + confidence / 2))
    centre = (accuracy + z**2 / (2 * n)) / (1 + z**2 / n)
    margin = z / (1 + z**2 / n) * np.sqrt(accuracy * (1 - accuracy) / n + z**2 / (4 * n**2))
    return AccuracyInterval(
        accuracy=accuracy,
        low=float(max(0.0, centre - margin)),
        high=float(min(1.0, centre + margin)),
        n=n,
        confidence=confidence,
    )
