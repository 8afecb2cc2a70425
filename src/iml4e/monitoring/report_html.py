"""A monitor report as one self-contained HTML page: summary, what was skipped and why, and the
reference vs current distribution of every compared column (drifted ones first).

No JavaScript, no network: CSS inline, charts as SVG with labels for screen readers, every
value from the data through Jinja2's autoescaping.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from iml4e.monitoring.drift import DriftReport
from iml4e.monitoring.reference import ColumnReference, ReferenceProfile, category_counts

CHART_WIDTH = 380
LABEL_WIDTH = 120
ROW_HEIGHT = 24
MAX_LABEL_CHARS = 18
MAX_CATEGORIES = 12
DASH = "\u2013"  # shown for a figure that is undefined


@dataclass(frozen=True)
class Comparison:
    """Reference and current shares of one column over the same bins or categories."""

    column: str
    kind: str
    test: str
    statistic: float
    threshold: float
    drifted: bool
    labels: Sequence[str]
    reference: Sequence[float]
    current: Sequence[float]


@dataclass(frozen=True)
class _Bar:
    label: str
    label_x: float
    x: float
    y: float
    reference_width: float
    current_width: float
    reference_text: str
    current_text: str


def compare_distributions(
    reference: ReferenceProfile, current: pd.DataFrame, drift: DriftReport
) -> list[Comparison]:
    """Reference and current shares of every column the drift report compared: numeric
    columns over the reference's quantile bins, categorical ones over their top categories."""
    comparisons = []
    for result in drift.columns:
        column = reference.columns.get(result.column)
        if column is None or result.column not in current.columns:
            continue
        series = current[result.column]
        if column.kind == "numeric" and column.bin_edges is not None:
            labels, ref_shares, cur_shares = _numeric_shares(column, series)
        else:
            labels, ref_shares, cur_shares = _category_shares(column, series)
        comparisons.append(
            Comparison(
                column=result.column,
                kind=column.kind,
                test=result.test,
                statistic=result.statistic,
                threshold=result.threshold,
                drifted=result.drifted,
                labels=labels,
                reference=ref_shares,
                current=cur_shares,
            )
        )
    return comparisons


def _numeric_shares(
    column: ColumnReference, series: pd.Series
) -> tuple[list[str], list[float], list[float]]:
    edges = np.asarray(column.bin_edges, dtype=float)
    inner = edges[1:-1]
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    current = counts / max(len(values), 1)
    labels = []
    for low, high in itertools.pairwise(edges):
        if not np.isfinite(low):
            labels.append(f"< {high:.4g}")
        elif not np.isfinite(high):
            labels.append(f">= {low:.4g}")
        else:
            labels.append(f"{low:.4g}{DASH}{high:.4g}")
    return labels, [float(v) for v in np.asarray(column.bin_shares)], [float(v) for v in current]


def _category_shares(
    column: ColumnReference, series: pd.Series
) -> tuple[list[str], list[float], list[float]]:
    keys, counts = category_counts(series, column.value_type)
    total = max(int(np.sum(counts)), 1)
    current = {key: int(count) / total for key, count in zip(keys, counts, strict=True)}
    shown = sorted(
        set(column.shares) | set(current),
        key=lambda key: -max(column.shares.get(key, 0.0), current.get(key, 0.0)),
    )[:MAX_CATEGORIES]
    return (
        shown,
        [float(column.shares.get(key, 0.0)) for key in shown],
        [float(current.get(key, 0.0)) for key in shown],
    )


def render_report_html(report: dict[str, Any], comparisons: Sequence[Comparison]) -> str:
    """The page of ``report`` (a :class:`~iml4e.monitoring.jobs.MonitorResult` as a dict)."""
    drift = report.get("drift") or {}
    values = report.get("values") or {}
    headline = [
        (name, _number(values[name]))
        for name in ("performance.accuracy", "performance.f1", "latency.p99_ms")
        if name in values
    ]
    ordered = sorted(comparisons, key=lambda c: (not c.drifted, c.column))
    return _template().render(
        deployment=report["deployment"],
        report_id=report["report_id"],
        window=report["window"],
        window_start=report.get("window_start"),
        window_end=report.get("window_end"),
        model_versions=report.get("model_versions") or [],
        made_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        n_rows=report.get("n_rows", 0),
        drift_share=_number(drift.get("drift_share")),
        dataset_drift=DASH if not drift else ("yes" if drift.get("dataset_drift") else "no"),
        headline=headline,
        skipped=report.get("skipped") or [],
        charts=[_chart(c) for c in ordered],
        values=[(name, _number(value)) for name, value in sorted(values.items())],
    )


def _chart(comparison: Comparison) -> dict[str, Any]:
    top = max([*comparison.reference, *comparison.current, 1e-12])
    scale = (CHART_WIDTH - LABEL_WIDTH - 8) / top
    bars = [
        _Bar(
            label=_short(label),
            label_x=LABEL_WIDTH - 6,
            x=LABEL_WIDTH,
            y=i * ROW_HEIGHT + 2,
            reference_width=round(ref * scale, 2),
            current_width=round(cur * scale, 2),
            reference_text=f"{ref:.1%}",
            current_text=f"{cur:.1%}",
        )
        for i, (label, ref, cur) in enumerate(
            zip(comparison.labels, comparison.reference, comparison.current, strict=True)
        )
    ]
    return {
        "column": comparison.column,
        "kind": comparison.kind,
        "test": comparison.test,
        "statistic": _number(comparison.statistic),
        "threshold": _number(comparison.threshold),
        "drifted": comparison.drifted,
        "width": CHART_WIDTH,
        "height": max(len(bars), 1) * ROW_HEIGHT + 4,
        "bars": bars,
    }


def _number(value: Any) -> str:
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


@cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("iml4e.monitoring", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("monitor_report.html")
