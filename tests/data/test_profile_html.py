"""The HTML report, parsed with the standard library: well formed, complete, escaped, accessible."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iml4e.data.profile import DatasetProfile, profile_frame
from iml4e.data.profile_html import render_profile_html

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
HOSTILE = ['<script>alert("x")</script>', '" onmouseover="alert(1)', "a & b", "</svg><svg>"]


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    found.append(child)
                found.extend(child.find_all(tag))
        return found

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()


class Page(HTMLParser):
    """A strict little DOM: every non-void element must be closed, in order."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.problems: list[str] = []
        self.feed(document)
        self.close()
        if len(self.stack) != 1:
            self.problems.append(f"unclosed {[n.tag for n in self.stack[1:]]}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if self.stack[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


@pytest.fixture(scope="module")
def profile() -> DatasetProfile:
    rng = np.random.default_rng(11)
    n = 600
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(3000, 800, n)),
            HOSTILE[0]: rng.choice(HOSTILE, n),
            "city": rng.choice([f"city {i}" for i in range(40)], n),
            "joined": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, n), "D"),
            "active": rng.random(n) < 0.6,
            "churned": rng.choice([0, 1], n, p=[0.7, 0.3]),
            "nothing": np.nan,
        }
    )
    return profile_frame(frame, target="churned", max_categories=25)


@pytest.fixture(scope="module")
def page(profile: DatasetProfile) -> Page:
    return Page(render_profile_html(profile, title="Customers <b>2024</b>"))


def _cards(page: Page) -> dict[str, Node]:
    return {card.find_all("h3")[0].text(): card for card in page.root.find_all("article")}


def test_the_report_is_well_formed_html(page: Page) -> None:
    assert page.problems == []
    assert page.root.find_all("html")[0].attrs["lang"] == "en"
    assert [h.text() for h in page.root.find_all("h1")] == ["Customers <b>2024</b>"]
    assert page.root.find_all("title")[0].text().startswith("Customers <b>2024</b>")
    assert [h.text() for h in page.root.find_all("h2")] == ["Summary", "Columns", "Correlations"]


def test_every_column_has_a_card_under_its_escaped_name(
    page: Page, profile: DatasetProfile
) -> None:
    assert list(_cards(page)) == list(profile.columns)
    links = [a.text() for a in page.root.find_all("nav")[0].find_all("a")]
    assert links == list(profile.columns)


def test_data_cannot_inject_markup() -> None:
    hostile = _hostile_profile()
    document = render_profile_html(hostile, title=HOSTILE[0])
    assert "<script" not in document.lower() and "<svg><svg>" not in document
    parsed = Page(document)
    assert parsed.problems == []
    for node in _walk(parsed.root):
        assert node.tag not in {"script", "iframe", "object"}, node
        assert not any(attr.startswith("on") for attr in node.attrs), node
    assert _headings(parsed) == list(hostile.columns)
    assert [h.text() for h in parsed.root.find_all("h1")] == [HOSTILE[0]]
    # the values are shown as text: in the bar tooltips of the column named like a script
    card = _cards(parsed)[HOSTILE[0]]
    tooltips = {rect.find_all("title")[0].text() for rect in card.find_all("rect")}
    assert tooltips == {f"{HOSTILE[0]}: 2", "a & b: 1", '"q" onmouseover: 1'}


def test_numeric_and_datetime_columns_get_a_histogram(page: Page, profile: DatasetProfile) -> None:
    cards = _cards(page)
    for name, column in profile.columns.items():
        svgs = cards[name].find_all("svg")
        if column.histogram is not None:
            assert len(svgs) == 1, name
            assert svgs[0].find_all("title")[0].text() == f"Histogram of {name}"
            bars = [r for r in svgs[0].find_all("rect") if r.has_class("bar")]
            assert len(bars) == len(column.histogram.counts)
        elif column.categories:
            assert len(svgs) == 1, name
            assert svgs[0].find_all("title")[0].text() == f"Most frequent values of {name}"
        else:
            assert svgs == [], name
    assert cards["income"].find_all("svg") and cards["age"].find_all("svg")


def test_charts_are_described_for_screen_readers(page: Page) -> None:
    ids = {node.attrs["id"] for node in _walk(page.root) if node.attrs.get("id")}
    charts = page.root.find_all("svg")
    assert len(charts) >= 8
    for svg in charts:
        assert svg.attrs["role"] == "img"
        labelled = (svg.attrs["aria-labelledby"] or "").split()
        assert len(labelled) == 2 and set(labelled) <= ids
        assert svg.find_all("title")[0].text() and svg.find_all("desc")[0].text()


def test_category_bars_show_counts_and_the_other_bucket(
    page: Page, profile: DatasetProfile
) -> None:
    city = profile.columns["city"]
    assert city.categories is not None and city.other_categories == 15
    svg = _cards(page)["city"].find_all("svg")[0]
    tooltips = [rect.find_all("title")[0].text() for rect in svg.find_all("rect")]
    top_name, top_count = city.top_categories[0]
    assert tooltips[0] == f"{top_name}: {top_count:,}"
    assert tooltips[-1] == f"others (15): {city.categories['__other__']:,}"
    assert len(tooltips) == 11


def test_summary_shows_rows_duplicates_missing_and_target_balance(
    page: Page, profile: DatasetProfile
) -> None:
    summary = page.root.find_all("dl")[0]
    labels, values = summary.find_all("dt"), summary.find_all("dd")
    facts = {label.text(): value.text() for label, value in zip(labels, values, strict=True)}
    assert facts["Rows"] == "600" and facts["Columns"] == str(profile.n_columns)
    assert facts["Duplicate rows"].startswith(f"{profile.duplicate_rows:,} (")
    assert facts["Missing cells"].startswith(f"{profile.missing_cells:,} (")
    assert facts["Target"] == "churned"
    balance = page.root.find_all("svg")[0]
    assert balance.find_all("title")[0].text() == "Class balance of the target churned"
    assert profile.target_balance is not None
    shares = {f"{k}: {v:.1%}" for k, v in profile.target_balance.items()}
    assert {r.find_all("title")[0].text() for r in balance.find_all("rect")} == shares


def test_correlation_heat_map_covers_the_numeric_columns(
    page: Page, profile: DatasetProfile
) -> None:
    table = page.root.find_all("table")[0]
    names = list(profile.correlations)
    assert [th.text() for th in table.find_all("thead")[0].find_all("th")] == names
    rows = table.find_all("tbody")[0].find_all("tr")
    assert [row.find_all("th")[0].text() for row in rows] == names
    for row, name in zip(rows, names, strict=True):
        cells = row.find_all("td")
        assert len(cells) == len(names)
        for cell, other in zip(cells, names, strict=True):
            r = profile.correlations[name][other]
            assert cell.text() == ("\u2013" if r is None else f"{r:.2f}".replace("-0.00", "0.00"))
            assert "background: #" in (cell.attrs["style"] or "")


def test_an_empty_profile_still_renders() -> None:
    for frame in (
        pd.DataFrame(),
        pd.DataFrame({"x": pd.Series([], dtype=float), "y": 0.0, "s": pd.Series([], dtype=object)}),
    ):
        parsed = Page(render_profile_html(profile_frame(frame), title="empty"))
        assert parsed.problems == []
        assert parsed.root.find_all("h1")[0].text() == "empty"
        assert parsed.root.find_all("table") == []


def _hostile_profile() -> DatasetProfile:
    frame = pd.DataFrame(
        {name: [name, "a & b", name, '"q" onmouseover'] for name in HOSTILE} | {"n": [1, 2, 3, 4]}
    )
    return profile_frame(frame, target=HOSTILE[1])


def _headings(page: Page) -> list[str]:
    return [h.text() for h in page.root.find_all("h3") if h.attrs.get("id", "").endswith("-name")]


def _walk(node: Node) -> list[Node]:
    found = [node]
    for child in node.children:
        if isinstance(child, Node):
            found.extend(_walk(child))
    return found


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=4, unique=True),
    values=st.lists(st.text(max_size=10) | st.none(), min_size=1, max_size=8),
)
def test_any_names_and_values_render_as_text(names: list[str], values: list[str | None]) -> None:
    frame = pd.DataFrame({name: values for name in names})
    frame["number"] = np.arange(len(values), dtype=float)
    profile = profile_frame(frame)
    parsed = Page(render_profile_html(profile, title=names[0]))
    assert parsed.problems == []
    assert _headings(parsed) == list(profile.columns)
    assert all(node.tag != "script" for node in _walk(parsed.root))
