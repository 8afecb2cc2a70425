"""A profile as one self-contained HTML page a person can read at a glance.

The page has a summary (rows, columns, duplicates, missing cells, target balance), a card per
column with its key figures and an inline SVG chart (a histogram for numeric and datetime
columns, horizontal bars of the top categories otherwise), and a correlation heat-map table of
the numeric columns. It needs no JavaScript and no network: CSS is inline, charts are SVG with
``<title>``/``<desc>`` for screen readers. Everything from the data (column names, categories)
goes through Jinja2's autoescaping, so a category named ``<script>`` is shown, never run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from iml4e.data.profile import OTHER, ColumnProfile, DatasetProfile, Histogram

CHART_WIDTH = 320
CHART_HEIGHT = 120
AXIS_HEIGHT = 16
BAR_ROW_HEIGHT = 18
LABEL_WIDTH = 110
MAX_LABEL_CHARS = 16
DASH = "\u2013"  # shown for a figure that is undefined, and in ranges


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, in SVG user units, with the text a tooltip and a reader get."""

    x: float
    y: float
    width: float
    height: float
    label: str
    text: str = ""
    value: str = ""


@dataclass(frozen=True)
class Chart:
    """An SVG chart: ``kind`` is ``"histogram"`` or ``"bars"``."""

    kind: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    axis: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Card:
    """What the page shows of one column."""

    anchor: str
    name: str
    kind: str
    dtype: str
    facts: list[tuple[str, str]]
    chart: Chart | None
    note: str = ""
    warnings: list[str] = field(default_factory=list)


def render_profile_html(profile: DatasetProfile, *, title: str) -> str:
    """The whole report as one HTML document (UTF-8 text)."""
    template = _environment().get_template("profile.html")
    return template.render(
        title=title,
        summary=_summary(profile),
        balance=_balance_chart(profile),
        target=profile.target,
        cards=[column_card(index, column) for index, column in enumerate(profile.columns.values())],
        correlations=_correlation_table(profile),
    )


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("iml4e.data", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --- the parts of the page --------------------------------------------------------------------


def _summary(profile: DatasetProfile) -> list[tuple[str, str]]:
    cells = profile.n_rows * profile.n_columns
    kinds: dict[str, int] = {}
    for column in profile.columns.values():
        kinds[column.kind] = kinds.get(column.kind, 0) + 1
    return [
        ("Rows", _count(profile.n_rows)),
        ("Columns", _count(profile.n_columns)),
        ("Duplicate rows", _with_share(profile.duplicate_rows, profile.n_rows)),
        ("Missing cells", _with_share(profile.missing_cells, cells)),
        ("Column kinds", ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or DASH),
        ("Target", profile.target if profile.target is not None else "none named"),
    ]


def _balance_chart(profile: DatasetProfile) -> Chart | None:
    if not profile.target_balance:
        return None
    items = sorted(profile.target_balance.items(), key=lambda item: -item[1])[:10]
    return _bar_chart(
        f"Class balance of the target {profile.target}",
        [(name, share, f"{share:.1%}") for name, share in items],
    )


def column_card(index: int, column: ColumnProfile) -> Card:
    """What a page shows of one column: key figures, warnings and its chart (``column-N``)."""
    facts = [
        ("count", _count(column.count)),
        ("missing", _with_share(column.missing, column.count + column.missing)),
        ("distinct", _count(column.distinct)),
    ]
    chart: Chart | None = None
    note = ""
    warnings: list[str] = []
    if column.count == 0 and column.missing > 0:
        warnings.append("every value is missing")
    if column.numeric is not None:
        show = _moment if column.kind == "datetime" else _number
        summary = column.numeric
        facts += [
            ("min", show(summary.min)),
            ("median", show(summary.quantiles.get("0.5"))),
            ("max", show(summary.max)),
        ]
        if column.kind == "numeric":
            facts += [("mean", _number(summary.mean)), ("std", _number(summary.std))]
        low, high = summary.quantiles.get("0.01"), summary.quantiles.get("0.99")
        facts.append((f"1 % {DASH} 99 %", f"{show(low)} {DASH} {show(high)}"))
        if summary.infinite:
            warnings.append(f"{_count(summary.infinite)} infinite values (in the outer bins)")
    if column.histogram is not None:
        chart = _histogram_chart(column.name, column.histogram, column.kind == "datetime")
    elif column.categories is not None:
        top = column.top_categories
        rows = [(name, n, _count(n)) for name, n in top]
        if column.other_categories:
            bucket = column.categories.get(OTHER, 0)
            others = f"others ({_count(column.other_categories)})"
            rows.append((others, bucket, _count(bucket)))
        if rows:
            chart = _bar_chart(f"Most frequent values of {column.name}", rows)
            facts.append(("most frequent", top[0][0] if top else DASH))
        named = len(column.categories) - (1 if column.other_categories else 0)
        hidden = named - len(top)
        if hidden > 0:
            note = f"{_count(hidden)} more values not drawn"
    if column.distinct == 1 and column.count > 1:
        warnings.append("constant")
    return Card(
        anchor=f"column-{index}",
        name=column.name,
        kind=column.kind,
        dtype=column.dtype,
        facts=facts,
        chart=chart,
        note=note,
        warnings=warnings,
    )


def _correlation_table(profile: DatasetProfile) -> dict[str, Any] | None:
    names = list(profile.correlations)
    defined = any(r is not None for row in profile.correlations.values() for r in row.values())
    if len(names) < 2 or not defined:  # a table of dashes tells nothing
        return None
    rows = []
    for name in names:
        cells = []
        for other in names:
            r = profile.correlations[name].get(other)
            background, ink = _heat(r)
            cells.append(
                {
                    "text": DASH if r is None else f"{r:.2f}".replace("-0.00", "0.00"),
                    "background": background,
                    "ink": ink,
                    "label": f"{name} \u00d7 {other}: "
                    + ("undefined" if r is None else f"{r:.3f}"),
                }
            )
        rows.append({"name": name, "cells": cells})
    return {"names": names, "rows": rows}


# --- charts -----------------------------------------------------------------------------------


def _histogram_chart(name: str, histogram: Histogram, moments: bool) -> Chart:
    show = _moment if moments else _number
    edges, counts = histogram.edges, histogram.counts
    tallest = max(max(counts), 1)
    width = CHART_WIDTH / len(counts)
    plot = CHART_HEIGHT - AXIS_HEIGHT
    bars = []
    for i, n in enumerate(counts):
        height = plot * n / tallest
        closing = "]" if i == len(counts) - 1 else ")"
        bars.append(
            Bar(
                x=round(i * width + 0.5, 2),
                y=round(plot - height, 2),
                width=round(max(width - 1.0, 0.5), 2),
                height=round(height, 2),
                label=f"[{show(edges[i])}, {show(edges[i + 1])}{closing}: {_count(n)}",
            )
        )
    return Chart(
        kind="histogram",
        title=f"Histogram of {name}",
        description=(
            f"{len(counts)} equal-width bins from {show(edges[0])} to {show(edges[-1])}; "
            f"the fullest bin holds {_count(max(counts))} values"
        ),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bars=bars,
        axis=(show(edges[0]), show(edges[-1])),
    )


def _bar_chart(title: str, rows: list[tuple[str, float, str]]) -> Chart:
    largest = max((value for _, value, _ in rows), default=0) or 1
    span = CHART_WIDTH - LABEL_WIDTH - 60
    bars = [
        Bar(
            x=LABEL_WIDTH,
            y=i * BAR_ROW_HEIGHT + 2,
            width=round(max(span * value / largest, 1.0), 2),
            height=BAR_ROW_HEIGHT - 4,
            label=f"{name}: {shown}",
            text=_shorten(name),
            value=shown,
        )
        for i, (name, value, shown) in enumerate(rows)
    ]
    return Chart(
        kind="bars",
        title=title,
        description="; ".join(f"{name}: {shown}" for name, _, shown in rows),
        width=CHART_WIDTH,
        height=len(rows) * BAR_ROW_HEIGHT + 4,
        bars=bars,
    )


def _heat(r: float | None) -> tuple[str, str]:
    """Cell background and text colour: blue for negative, red for positive correlation."""
    if r is None:
        return "#f1f3f5", "#495057"
    strength = min(abs(r), 1.0)
    base = (185, 28, 28) if r >= 0 else (29, 78, 216)
    rgb = tuple(round(255 + (c - 255) * strength) for c in base)
    ink = "#ffffff" if strength > 0.55 else "#1a1a1a"
    return "#{:02x}{:02x}{:02x}".format(*rgb), ink


# --- formatting -------------------------------------------------------------------------------


def format_number(value: float | None) -> str:
    """A figure as people read it: four significant digits, thousands separated, a dash if none."""
    return _number(value)


def _count(n: int) -> str:
    return f"{n:,}"


def _with_share(part: int, whole: int) -> str:
    return f"{part:,} ({part / whole:.1%})" if whole else f"{part:,}"


def _number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1e15 or abs(value) < 1e-3:
        return f"{value:.3e}"
    decimals = max(0, 3 - math.floor(math.log10(abs(value))))  # four significant digits
    return f"{value:,.{decimals}f}"


def _moment(seconds: float | None) -> str:
    """Epoch seconds as a UTC date and time (to the second; the date alone at midnight)."""
    if seconds is None:
        return DASH
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return _number(seconds)
    if moment.hour == moment.minute == moment.second == 0 and not moment.microsecond:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"
