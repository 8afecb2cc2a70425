"""A monitor report as one self-contained HTML page: summary, what was skipped and why, and the
reference vs current distribution of every compared column (drifted ones first).

No JavaScript, no network: CSS inline, charts as SVG with labels for screen readers, every
value from the data through Jinja2's autoescaping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

CHART_WIDTH = 380
LABEL_WIDTH = 120
ROW_HEIGHT = 24
MAX_LABEL_CHARS = 18
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
