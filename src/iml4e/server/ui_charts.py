"""SVG charts of the web UI, drawn on the server from a column's stored profile.

A numeric or datetime column is a histogram over its stored bins, a categorical or boolean
column horizontal bars of its most frequent values; the geometry comes from
:func:`iml4e.data.profile_html.column_card`, so the page and the HTML profile report draw the
same chart. The SVG is an image with a name (``role="img"``, ``aria-labelledby`` its
``<title>`` and ``<desc>``), and each bar has a ``<title>`` a mouse or a screen reader can read.
Every text from the data (column names, categories, figures) is escaped here, so the markup
returned is safe to put on a page as it is.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from iml4e.data.profile_html import AXIS_HEIGHT, Chart

_TICK = '<text class="tick" x="{x}" y="{y}"{anchor}>{text}</text>'
_BAR = '<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}"><title>{label}</title></rect>'


def chart_svg(chart: Chart, chart_id: str) -> Markup:
    """``chart`` as an inline ``<svg>`` element whose ids start with ``chart_id``.

    ``chart_id`` must be unique on the page (it names the ``<title>`` and ``<desc>``).
    """
    ident = escape(chart_id)
    parts = [
        f'<svg class="chart chart-{escape(chart.kind)}" viewBox="0 0 {chart.width} '
        f'{chart.height}" width="{chart.width}" height="{chart.height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(chart.title)}</title>',
        f'<desc id="{ident}-desc">{escape(chart.description)}</desc>',
    ]
    if chart.kind == "histogram":
        parts += [_bar(bar.x, bar.y, bar.width, bar.height, bar.label) for bar in chart.bars]
        base = chart.height - AXIS_HEIGHT
        parts.append(f'<line class="axis" x1="0" y1="{base}" x2="{chart.width}" y2="{base}"/>')
        parts.append(_tick(0, chart.height - 3, chart.axis[0]))
        parts.append(_tick(chart.width, chart.height - 3, chart.axis[1], anchor="end"))
    else:
        for bar in chart.bars:
            baseline = round(bar.y + bar.height - 3, 2)
            parts.append(_tick(round(bar.x - 6, 2), baseline, bar.text, anchor="end"))
            parts.append(_bar(bar.x, bar.y, bar.width, bar.height, bar.label))
            parts.append(_tick(round(bar.x + bar.width + 4, 2), baseline, bar.value))
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _bar(x: float, y: float, width: float, height: float, label: str) -> str:
    return _BAR.format(x=x, y=y, w=width, h=height, label=escape(label))


def _tick(x: float, y: float, text: str, *, anchor: str = "") -> str:
    extra = f' text-anchor="{anchor}"' if anchor else ""
    return _TICK.format(x=x, y=y, anchor=extra, text=escape(text))
