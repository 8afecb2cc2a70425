"""Live data quality: the inputs a deployment received, checked against what it expects.

Plain data in, plain data out: expectations per column (from the training data's profile or
written by hand) and one frame of live input rows (:func:`inputs_frame` builds it from the
inference log). Per column it reports the missing rate, numbers outside the expected range,
categories never seen in training, and values of the wrong type; for the frame, required
columns that are missing and columns nobody expected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

import numpy as np
import pandas as pd

from iml4e.monitoring.errors import ReferenceMismatch
from iml4e.serving.inference_log import InferenceRecord

META_COLUMNS = ("request_id", "model_version", "role", "timestamp", "prediction")
"""Columns :func:`inputs_frame` adds to the inputs; :func:`live_quality` leaves them out."""
SAMPLE_SIZE = 20


@dataclass(frozen=True)
class ColumnExpectation:
    """What a column should hold: its kind, the range of numbers, the known categories.

    ``required`` columns must be present in every window (a missing one is a schema violation);
    ``min``/``max`` bound numeric values (``None``: unbounded); ``categories`` lists the known
    values of a categorical column (``None``: any value is known).
    """

    kind: Literal["numeric", "categorical"]
    min: float | None = None
    max: float | None = None
    categories: frozenset[str] | None = None
    required: bool = True


@dataclass(frozen=True)
class ColumnQuality:
    """Quality of one expected column over the window.

    Shares are of the rows holding a usable value: ``out_of_range_share`` of the numeric values,
    ``unseen_share`` of the non-missing categorical values.
    """

    column: str
    kind: str
    present: bool
    missing_count: int
    missing_rate: float
    wrong_type_count: int = 0
    out_of_range_count: int = 0
    out_of_range_share: float = 0.0
    unseen_count: int = 0
    unseen_share: float = 0.0
    unseen_categories: list[str] = field(default_factory=list)
    """Up to :data:`SAMPLE_SIZE` unseen values, the most frequent first."""


@dataclass(frozen=True)
class SchemaViolation:
    """A column that breaks the expected schema: ``missing_required``, ``unexpected`` or
    ``wrong_type`` (e.g. text in a numeric column; ``count`` rows, ``sample`` values)."""

    column: str
    kind: Literal["missing_required", "unexpected", "wrong_type"]
    count: int = 0
    sample: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QualityReport:
    """Quality of a window of inputs; ``reason`` says why it is empty when it is."""

    n_rows: int
    columns: dict[str, ColumnQuality] = field(default_factory=dict)
    violations: list[SchemaViolation] = field(default_factory=list)
    reason: str | None = None


def live_quality(
    expected: Mapping[str, ColumnExpectation],
    current: pd.DataFrame,
    *,
    ignore: Collection[str] = META_COLUMNS,
) -> QualityReport:
    """Check the rows of ``current`` against ``expected``; columns in ``ignore`` are skipped.

    An empty window is a report with ``reason`` set, not an error.
    """
    if len(current) == 0:
        return QualityReport(0, reason="no rows in the window")
    violations = [
        SchemaViolation(str(column), "unexpected")
        for column in current.columns
        if column not in expected and column not in ignore
    ]
    columns = {}
    for name, expectation in expected.items():
        if name not in current.columns:
            if expectation.required:
                violations.append(SchemaViolation(name, "missing_required"))
            columns[name] = ColumnQuality(name, expectation.kind, False, len(current), 1.0)
            continue
        quality, wrong = _column_quality(name, expectation, current[name])
        columns[name] = quality
        if wrong is not None:
            violations.append(wrong)
    return QualityReport(len(current), columns, violations)


def _column_quality(
    name: str, expectation: ColumnExpectation, values: pd.Series
) -> tuple[ColumnQuality, SchemaViolation | None]:
    missing = values.isna().to_numpy()
    if expectation.kind == "numeric":
        numbers, wrong = _numbers(values, missing)
    else:
        numbers, wrong = None, ~missing & values.map(_not_scalar).to_numpy(dtype=bool)
    violation = None
    if wrong.any():
        sample = values[wrong].astype(str).unique()[:SAMPLE_SIZE].tolist()
        violation = SchemaViolation(name, "wrong_type", int(wrong.sum()), sample)
    base = {
        "column": name,
        "kind": expectation.kind,
        "present": True,
        "missing_count": int(missing.sum()),
        "missing_rate": float(missing.mean()),
        "wrong_type_count": int(wrong.sum()),
    }
    if numbers is not None:
        usable = numbers[~np.isnan(numbers)]
        low = -np.inf if expectation.min is None else expectation.min
        high = np.inf if expectation.max is None else expectation.max
        outside = int(((usable < low) | (usable > high)).sum())
        share = outside / len(usable) if len(usable) else 0.0
        return ColumnQuality(**base, out_of_range_count=outside, out_of_range_share=share), (
            violation
        )
    present = values[~missing & ~wrong].astype(str)
    unseen_count, unseen = 0, []
    if expectation.categories is not None and len(present):
        is_unseen = ~present.isin(expectation.categories)
        unseen_count = int(is_unseen.sum())
        unseen = present[is_unseen].value_counts().index[:SAMPLE_SIZE].tolist()
    share = unseen_count / len(present) if len(present) else 0.0
    quality = ColumnQuality(
        **base, unseen_count=unseen_count, unseen_share=share, unseen_categories=unseen
    )
    return quality, violation


def _numbers(values: pd.Series, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values as floats (NaN where missing or not a number), and where they are not one."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(values), dtype=bool)
    is_number = values.map(_is_number).to_numpy(dtype=bool)
    wrong = ~missing & ~is_number
    numbers = pd.to_numeric(values.where(is_number), errors="coerce").to_numpy(dtype=float)
    return numbers, wrong


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number)


def _not_scalar(value: Any) -> bool:
    return isinstance(value, dict | list | tuple | set)


def inputs_frame(
    records: Sequence[InferenceRecord], *, include_shadow: bool = False
) -> pd.DataFrame:
    """One frame of every input row of ``records``, with :data:`META_COLUMNS` added.

    Each row carries its request's id, model version, role and timestamp, and the prediction
    for that row (``None`` when the record's outputs do not line up with its inputs). Shadow
    records repeat the inputs of the answered request, so they are left out unless
    ``include_shadow``. An input column named like a meta column is refused
    (:class:`ReferenceMismatch`) rather than overwritten.
    """
    chosen = [r for r in records if include_shadow or r.role != "shadow"]
    counts = [len(r.inputs) for r in chosen]
    frame = pd.DataFrame.from_records(list(chain.from_iterable(r.inputs for r in chosen)))
    clash = [name for name in META_COLUMNS if name in frame.columns]
    if clash:
        raise ReferenceMismatch(
            "an input column has the name of a column the inference log adds", where=clash[0]
        )
    frame["request_id"] = np.repeat([r.request_id for r in chosen], counts)
    frame["model_version"] = np.repeat([r.model_version for r in chosen], counts)
    frame["role"] = np.repeat([r.role for r in chosen], counts)
    frame["timestamp"] = np.repeat(np.array([r.timestamp for r in chosen], dtype=float), counts)
    predictions: list[Any] = []
    for record, count in zip(chosen, counts, strict=True):
        predictions.extend(record.outputs if len(record.outputs) == count else [None] * count)
    frame["prediction"] = pd.Series(predictions, dtype=object, index=frame.index)
    return frame
