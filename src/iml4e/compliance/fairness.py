"""Fairness measures: how a model's outcomes and errors differ between groups of people.

The EU AI Act asks providers to examine data and models for possible biases (Art. 10(2)(f))
and to keep accuracy consistent across the people a system is used on (Art. 15(1)). The
numbers come from fairlearn, so a reviewer can look them up: per group the selection rate,
accuracy, true and false positive rates, and per feature the demographic parity difference
and the equalized odds difference (between groups, fairlearn's default).

Every label is reduced to the binary outcome ``label == positive_label`` first, so labels may
be ints or strings. The functions hold no thresholds: limits are policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score

from iml4e.compliance.errors import ComplianceError

MISSING = "missing"
OUT_OF_RANGE = "out of range"

_METRICS = {
    "selection_rate": selection_rate,
    "accuracy": accuracy_score,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
}


@dataclass(frozen=True)
class SensitiveFeature:
    """A column that names a group of people, optionally cut into bands.

    ``bins`` are increasing band edges for a numeric column: ``(18, 30, 50, 81)`` gives the
    bands ``"18-30"``, ``"30-50"`` and ``"50-81"``, each including its lower edge and excluding
    its upper one. ``None`` uses the column's values as they are.
    """

    column: str
    bins: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.bins is None:
            return
        edges = self.bins
        if len(edges) < 2 or any(low >= high for low, high in pairwise(edges)):
            raise ComplianceError(
                f"bins must be at least two increasing edges; got {edges}", where=self.column
            )


def _edge(value: float) -> str:
    return f"{value:g}"


def sensitive_groups(frame: pd.DataFrame, feature: SensitiveFeature) -> pd.Series:
    """The group label, as a string, of every row of ``frame`` for one sensitive feature.

    Missing values become ``"missing"``; with ``bins``, numeric values outside the edges become
    ``"out of range"`` so that no row silently drops out of the fairness numbers.
    """
    if feature.column not in frame.columns:
        raise ComplianceError("sensitive feature column not in the data", where=feature.column)
    values = frame[feature.column]
    missing = values.isna()
    if feature.bins is None:
        labels = values.astype(object).astype(str)
    else:
        if not pd.api.types.is_numeric_dtype(values):
            raise ComplianceError("bins need a numeric column", where=feature.column)
        edges = feature.bins
        names = [f"{_edge(low)}-{_edge(high)}" for low, high in pairwise(edges)]
        bands = pd.cut(values, bins=list(edges), labels=names, right=False)
        labels = bands.astype(object).where(bands.notna(), OUT_OF_RANGE).astype(str)
    return labels.where(~missing, MISSING).rename(feature.column)


@dataclass(frozen=True)
class GroupRates:
    """One group's rates. A true (false) positive rate is ``None`` when the group has no
    positive (negative) labels, so the rate is undefined."""

    group: str
    n: int
    selection_rate: float
    accuracy: float
    true_positive_rate: float | None
    false_positive_rate: float | None


@dataclass(frozen=True)
class FairnessResult:
    """The fairness numbers of one sensitive feature."""

    feature: str
    positive_label: str
    demographic_parity_difference: float
    equalized_odds_difference: float
    groups: tuple[GroupRates, ...]

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data, groups as a list of dicts."""
        data = asdict(self)
        data["groups"] = [asdict(group) for group in self.groups]
        return data


def _binary_outcome(labels: Any, positive_label: Any) -> np.ndarray:
    return np.asarray(pd.Series(np.asarray(labels)) == positive_label, dtype=bool)


def _feature_result(
    name: str, truth: np.ndarray, predicted: np.ndarray, groups: pd.Series, positive: str
) -> FairnessResult:
    if len(groups) != len(truth):
        raise ComplianceError(
            f"{len(groups)} group labels for {len(truth)} labels; they must be row for row",
            where=name,
        )
    labels = groups.astype(object).where(groups.notna(), MISSING).astype(str).to_numpy()
    # fairlearn evaluates each metric row by row in Python; the weighted unique
    # (group, truth, prediction) cells give the same numbers in a few milliseconds.
    cells = pd.DataFrame({"group": labels, "truth": truth, "pred": predicted}).value_counts()
    cells = cells.reset_index()
    weights = cells["count"].to_numpy()
    frame = MetricFrame(
        metrics=_METRICS,
        y_true=cells["truth"].to_numpy(),
        y_pred=cells["pred"].to_numpy(),
        sensitive_features=pd.Series(cells["group"].to_numpy(), name=name),
        sample_params={metric: {"sample_weight": weights} for metric in _METRICS},
    )
    # These are fairlearn's definitions of demographic_parity_difference and
    # equalized_odds_difference, read from the one MetricFrame instead of building two more.
    gaps = frame.difference(method="between_groups")
    counts = cells.groupby(["group", "truth"])["count"].sum().unstack(fill_value=0)
    counts = counts.reindex(columns=[False, True], fill_value=0)
    rates = []
    for group, row in frame.by_group.iterrows():
        positives, negatives = int(counts.at[group, True]), int(counts.at[group, False])
        rates.append(
            GroupRates(
                group=str(group),
                n=positives + negatives,
                selection_rate=float(row["selection_rate"]),
                accuracy=float(row["accuracy"]),
                true_positive_rate=float(row["true_positive_rate"]) if positives else None,
                false_positive_rate=float(row["false_positive_rate"]) if negatives else None,
            )
        )
    return FairnessResult(
        feature=name,
        positive_label=positive,
        demographic_parity_difference=float(gaps["selection_rate"]),
        equalized_odds_difference=float(
            max(gaps["true_positive_rate"], gaps["false_positive_rate"])
        ),
        groups=tuple(rates),
    )


def fairness_report(
    y_true: pd.Series,
    y_pred: Sequence[Any] | np.ndarray,
    groups: Mapping[str, pd.Series],
    *,
    positive_label: Any,
) -> list[FairnessResult]:
    """Fairness numbers per sensitive feature, for the binary outcome ``label == positive_label``.

    ``groups`` maps a feature name to its group label per row (see :func:`sensitive_groups`),
    row for row with ``y_true`` and ``y_pred``. As in fairlearn, a group without positive
    (negative) labels counts with a true (false) positive rate of 0 in the equalized odds
    difference; its :class:`GroupRates` shows the rate as ``None``.
    """
    classes = pd.Series(y_true).dropna().unique()
    if len(classes) > 2:
        raise ComplianceError(
            f"fairness metrics need a binary label; got {len(classes)} classes", where="y_true"
        )
    truth = _binary_outcome(y_true, positive_label)
    predicted = _binary_outcome(y_pred, positive_label)
    if len(predicted) != len(truth):
        raise ComplianceError(
            f"{len(predicted)} predictions for {len(truth)} labels", where="y_pred"
        )
    return [
        _feature_result(name, truth, predicted, series, str(positive_label))
        for name, series in groups.items()
    ]
