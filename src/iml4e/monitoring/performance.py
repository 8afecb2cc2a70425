"""Live performance: a deployment's logged predictions scored against ground-truth labels.

Plain data in, plain data out: the records of a window of the inference log and the labels
recorded for it (:func:`iml4e.monitoring.feedback.read_labels`). A label belongs to a request,
so only single-row requests are scored; requests of several rows are counted and left out.

Slices: ``overall`` and ``by_version`` cover the answered requests (roles champion, challenger,
fallback); ``by_role`` also has the shadow's predictions for the same requests, so a shadow
model can be compared with the champion on the same labels; ``by_group`` splits the answered
requests by an input attribute (``group_by="sex"``) for fairness over time. A slice with fewer
than ``min_group_size`` labelled requests keeps its figures but is flagged ``too_small``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error

from iml4e.monitoring.errors import UnknownTask
from iml4e.serving.inference_log import InferenceRecord

TASKS = ("auto", "classification", "regression")
DEFAULT_MIN_GROUP_SIZE = 30
MISSING_GROUP = "(missing)"
NO_SCORES = (
    "roc_auc is not reported: it needs scores (probabilities), and the inference log holds the "
    "predicted labels the model answered"
)


@dataclass(frozen=True)
class SliceMetrics:
    """Figures of one slice of the requests (a version, a role, a group)."""

    n_requests: int
    n_labelled: int
    n_unlabelled: int
    too_small: bool
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class PerformanceReport:
    """Performance of a window of traffic; ``reason`` says why it is empty when it is."""

    task: str | None
    overall: SliceMetrics | None
    by_version: dict[str, SliceMetrics] = field(default_factory=dict)
    by_role: dict[str, SliceMetrics] = field(default_factory=dict)
    by_group: dict[str, SliceMetrics] = field(default_factory=dict)
    group_by: str | None = None
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    multi_row_requests: int = 0
    notes: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass(frozen=True)
class _Row:
    request_id: str
    model_version: str
    role: str
    group: str
    prediction: Any
    label: Any
    labelled: bool


def live_performance(
    records: Sequence[InferenceRecord],
    labels: Mapping[str, Any],
    *,
    task: str = "auto",
    group_by: str | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> PerformanceReport:
    """Score the predictions of ``records`` against ``labels`` (by request id).

    Classification: accuracy and F1 (binary: the positive class is ``1`` when present, else
    the larger label; more classes: macro-averaged), ROC AUC only when the outputs are scores.
    Regression: RMSE and MAE. ``task="auto"`` is regression when a label is a non-integer
    number, else classification. No traffic, or no labelled request, is an empty report with a
    ``reason``, not an error.
    """
    if task not in TASKS:
        raise UnknownTask(f"must be one of {', '.join(TASKS)} (got {task!r})", where="task")
    empty = {"group_by": group_by, "min_group_size": min_group_size}
    if not records:
        return PerformanceReport(None, None, reason="no traffic in the window", **empty)
    rows, multi_row = _rows(records, labels, group_by)
    answered = [row for row in rows if row.role != "shadow"]
    if not answered:
        return PerformanceReport(
            None,
            None,
            multi_row_requests=multi_row,
            reason="no single-row answered requests in the window",
            **empty,
        )
    labelled = [row.label for row in rows if row.labelled]
    if not labelled:
        return PerformanceReport(
            None,
            _slice(answered, None, min_group_size),
            multi_row_requests=multi_row,
            reason="no labelled requests in the window",
            **empty,
        )
    resolved = task if task != "auto" else _infer_task(labelled)
    notes = [NO_SCORES] if resolved == "classification" else []
    return PerformanceReport(
        resolved,
        _slice(answered, resolved, min_group_size),
        by_version=_slices(answered, "model_version", resolved, min_group_size),
        by_role=_slices(rows, "role", resolved, min_group_size),
        by_group=_slices(answered, "group", resolved, min_group_size) if group_by else {},
        multi_row_requests=multi_row,
        notes=notes,
        **empty,
    )


def _rows(
    records: Sequence[InferenceRecord], labels: Mapping[str, Any], group_by: str | None
) -> tuple[list[_Row], int]:
    rows = []
    multi_row = 0
    for record in records:
        if len(record.inputs) != 1 or len(record.outputs) != 1:
            multi_row += record.role != "shadow"
            continue
        group = MISSING_GROUP
        if group_by is not None:
            value = record.inputs[0].get(group_by)
            group = MISSING_GROUP if value is None else str(value)
        rows.append(
            _Row(
                record.request_id,
                record.model_version,
                record.role,
                group,
                record.outputs[0],
                labels.get(record.request_id),
                record.request_id in labels,
            )
        )
    return rows, multi_row


def _infer_task(labels: list[Any]) -> str:
    numbers = [v for v in labels if isinstance(v, float) and not isinstance(v, bool)]
    return "regression" if any(not v.is_integer() for v in numbers) else "classification"


def _slices(
    rows: list[_Row], attribute: str, task: str, min_group_size: int
) -> dict[str, SliceMetrics]:
    grouped: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, attribute)].append(row)
    return {key: _slice(grouped[key], task, min_group_size) for key in sorted(grouped)}


def _slice(rows: list[_Row], task: str | None, min_group_size: int) -> SliceMetrics:
    labelled = [row for row in rows if row.labelled]
    metrics: dict[str, float | None] = {}
    if labelled and task is not None:
        truth = [row.label for row in labelled]
        predicted = [row.prediction for row in labelled]
        metrics = (
            _classification(truth, predicted)
            if task == "classification"
            else _regression(truth, predicted)
        )
    return SliceMetrics(
        n_requests=len(rows),
        n_labelled=len(labelled),
        n_unlabelled=len(rows) - len(labelled),
        too_small=len(labelled) < min_group_size,
        metrics=metrics,
    )


def _classification(truth: list[Any], predicted: list[Any]) -> dict[str, float | None]:
    truth, predicted = _comparable(truth), _comparable(predicted)
    if not all(isinstance(v, int) for v in truth + predicted):
        truth, predicted = [str(v) for v in truth], [str(v) for v in predicted]
    classes = set(truth) | set(predicted)
    if len(classes) <= 2:
        positive = 1 if 1 in classes else max(classes)
        f1 = f1_score(truth, predicted, pos_label=positive, average="binary", zero_division=0.0)
    else:
        f1 = f1_score(truth, predicted, average="macro", zero_division=0.0)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1": float(f1),
        "roc_auc": None,
    }


def _regression(truth: list[Any], predicted: list[Any]) -> dict[str, float | None]:
    pairs = [(t, p) for t, p in zip(truth, predicted, strict=True) if _finite(t) and _finite(p)]
    if not pairs:
        return {"rmse": None, "mae": None}
    y, p = [float(t) for t, _ in pairs], [float(v) for _, v in pairs]
    return {
        "rmse": math.sqrt(float(mean_squared_error(y, p))),
        "mae": float(mean_absolute_error(y, p)),
    }


def _comparable(values: list[Any]) -> list[Any]:
    """Integral floats as ints (``1.0`` → ``1``), so a label 1 matches a prediction 1.0.

    Classes are compared as integers when every label and prediction is one, else as text.
    """
    return [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
