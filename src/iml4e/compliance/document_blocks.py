"""The format-neutral shape of a compliance document: sections holding a few kinds of blocks.

Each document kind is built once in Python as a :class:`Document`; two small templates
(``templates/document.html.j2`` and ``templates/document.md.j2``) turn any document into HTML or
Markdown, so what a document says is decided in one place for both formats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from iml4e.compliance.document_facts import DocumentFacts, EvaluationFacts

DATASHEET_FIELDS = ("origin", "purpose", "collection", "labelling", "cleaning", "assumptions")
"""The datasheet fields Art. 10(2) and Annex IV(2)(d) ask a provider to write per dataset."""


@dataclass(frozen=True)
class Text:
    """A paragraph."""

    text: str
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class Fields:
    """Label/value pairs, shown as a two-column list."""

    rows: tuple[tuple[str, str], ...]
    kind: ClassVar[str] = "fields"


@dataclass(frozen=True)
class Table:
    """A table with column headings."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    kind: ClassVar[str] = "table"


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    items: tuple[str, ...]
    kind: ClassVar[str] = "items"


@dataclass(frozen=True)
class Marker:
    """A visibly marked gap or draft note: ``label`` says who has to act, ``text`` on what.

    ``css`` is ``to-write`` (a part the provider writes), ``missing`` (a fact the platform has
    not recorded), ``to-sign`` (completed when signing) or ``draft``.
    """

    label: str
    text: str
    css: str
    kind: ClassVar[str] = "marker"


@dataclass
class Section:
    """A titled part of a document; children are rendered one heading level deeper."""

    title: str
    blocks: list[Any] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def add(self, *blocks: Any) -> Section:
        """Append blocks and return the section, so builders can chain."""
        self.blocks.extend(blocks)
        return self

    def sub(self, title: str, *blocks: Any) -> Section:
        """Add and return a child section."""
        child = Section(title, list(blocks))
        self.children.append(child)
        return child


@dataclass
class Document:
    """A whole document: title, header facts and sections in reading order."""

    title: str
    header: Fields
    sections: list[Section] = field(default_factory=list)
    draft: bool = False

    def section(self, title: str, *blocks: Any) -> Section:
        """Add and return a top-level section."""
        new = Section(title, list(blocks))
        self.sections.append(new)
        return new


def to_write(what: str, article: str, key: str | None = None) -> Marker:
    """A placeholder for a part the provider writes (in the system file under ``key``)."""
    where = f"system file key '{key}'; " if key else ""
    return Marker("To be written by the provider:", f"{what} ({where}{article}).", "to-write")


def not_recorded(what: str, article: str) -> Marker:
    """A marker for a fact the platform would supply but has not recorded yet."""
    return Marker("Not recorded by the platform:", f"{what} ({article}).", "missing")


def to_sign(what: str, article: str) -> Marker:
    """A placeholder completed by the person who signs the document."""
    return Marker("To be completed when signing:", f"{what} ({article}).", "to-sign")


def when(value: datetime | date | None) -> str:
    """A date or time as people read it in a document; ``—`` when absent."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        offset = value.utcoffset()
        zone = "" if offset is None else " UTC" if not offset else value.strftime(" %z")
        return value.strftime("%Y-%m-%d %H:%M") + zone
    return value.isoformat()


def num(value: Any, digits: int = 3) -> str:
    """A number with a fixed number of decimals; other values as text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return text(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def text(value: Any) -> str:
    """Any fact value as one line of text: lists joined with ``; ``, mappings as ``k: v``."""
    if value is None:
        return "—"
    if isinstance(value, datetime | date):
        return when(value)
    if isinstance(value, float):
        return num(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {text(item)}" for key, item in value.items()) or "—"
    if isinstance(value, list | tuple | set):
        return "; ".join(text(item) for item in value) or "—"
    return str(value)


def label(key: str) -> str:
    """A system-file key as a heading: ``expected_lifetime`` -> ``Expected lifetime``."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def human_fields(value: Mapping[str, Any]) -> Fields:
    """A human-written mapping from the system file as label/value rows."""
    return Fields(tuple((label(str(key)), text(item)) for key, item in value.items()))


def header(facts: DocumentFacts) -> Fields:
    """What every document starts with: system, provider, model version and date."""
    model = facts.model
    return Fields(
        (
            ("AI system", facts.system.name),
            ("Provider", facts.system.provider),
            ("Risk tier", facts.system.tier),
            ("Model version", f"{model.name} version {model.version}" if model else "—"),
            ("Generated at", when(facts.generated_at)),
            ("Legal calendar read on", when(facts.on)),
        )
    )


def accuracy_line(evaluation: EvaluationFacts) -> str:
    """Accuracy with its 95% interval and the number of test rows it was measured on."""
    return (
        f"{num(evaluation.accuracy)} (95% interval {num(evaluation.accuracy_low)}"
        f" to {num(evaluation.accuracy_high)}, {num(evaluation.n_test_rows)} test rows)"
    )


def metrics_table(metrics: Mapping[str, float]) -> Table:
    """The model version's logged metrics."""
    return Table(("Metric", "Value"), tuple((name, num(v)) for name, v in sorted(metrics.items())))


def fairness_blocks(evaluation: EvaluationFacts) -> list[Any]:
    """Per sensitive feature: the parity gaps and one row per group."""
    blocks: list[Any] = []
    for feature in evaluation.fairness:
        blocks.append(
            Text(
                f"Sensitive feature '{text(feature.get('feature'))}': demographic parity "
                f"difference {num(feature.get('demographic_parity_difference'))}, equalized "
                f"odds difference {num(feature.get('equalized_odds_difference'))}."
            )
        )
        blocks.append(
            Table(
                ("Group", "Rows", "Selection rate", "Accuracy", "TPR", "FPR"),
                tuple(
                    (
                        text(group.get("group")),
                        num(group.get("n")),
                        num(group.get("selection_rate")),
                        num(group.get("accuracy")),
                        num(group.get("true_positive_rate")),
                        num(group.get("false_positive_rate")),
                    )
                    for group in feature.get("groups", ())
                ),
            )
        )
    return blocks


def robustness_fields(robustness: Mapping[str, Any]) -> Fields:
    """Clean versus perturbed accuracy and the perturbations applied."""
    return Fields(
        (
            ("Clean accuracy", num(robustness.get("clean_accuracy"))),
            ("Perturbed accuracy", num(robustness.get("perturbed_accuracy"))),
            ("Accuracy drop", num(robustness.get("accuracy_drop"))),
            ("Perturbations", text(robustness.get("perturbations"))),
        )
    )


def datasets_table(facts: DocumentFacts) -> Table:
    """Every dataset version in the lineage with its content hash."""
    return Table(
        ("Dataset", "Version", "Rows", "Source", "Content hash (SHA-256)"),
        tuple(
            (d.name, str(d.version), num(d.rows), text(d.source), d.content_hash)
            for d in facts.datasets
        ),
    )


def inputs_table(inputs: Iterable[Mapping[str, Any]]) -> Table:
    """The model signature's columns."""
    return Table(
        ("Column", "Type", "Required"),
        tuple(
            (
                text(column.get("name")),
                text(column.get("type")),
                "yes" if column.get("required", True) else "no",
            )
            for column in inputs
        ),
    )


def risk_table(register: Iterable[Mapping[str, Any]]) -> Table:
    """The human-written risk register."""
    return Table(
        ("Risk", "Mitigation", "Residual risk"),
        tuple(
            (text(r.get("risk")), text(r.get("mitigation")), text(r.get("residual")))
            for r in register
        ),
    )


def obligations_blocks(facts: DocumentFacts) -> list[Any]:
    """The legal calendar's obligations in force on the document's date."""
    return [
        Text(f"Obligations of Regulation (EU) 2024/1689 applying on {when(facts.on)}."),
        Table(
            ("Obligation", "Articles", "Applies from", "Status"),
            tuple(
                (o.name, ", ".join(o.articles), when(o.applies_from), o.status)
                for o in facts.obligations
            ),
        ),
    ]


def status_blocks(facts: DocumentFacts) -> list[Any]:
    """The assessment (when, whether stale and why) and its control results."""
    a = facts.assessment
    if a is None:
        return [Text("No assessment has been made for this version."), controls_table(facts)]
    summary = Fields(
        (
            ("Assessment", str(a.id)),
            ("Assessed at", when(a.created_at)),
            ("Stale", "yes: " + text(a.stale_reasons) if a.stale else "no"),
            ("Controls per status", text(a.counts)),
            ("Control catalogue version", facts.catalogue_version or "—"),
        )
    )
    return [summary, controls_table(facts)]


def controls_table(facts: DocumentFacts) -> Table:
    """The latest result of every control in the assessment."""
    return Table(
        ("Control", "Title", "Articles", "Status", "Detail"),
        tuple(
            (c.id, c.title, ", ".join(c.articles), c.status.replace("_", " "), c.detail)
            for c in facts.controls
        ),
    )


def incidents_table(facts: DocumentFacts) -> Table:
    """Serious incidents with their Art. 73 reporting clocks."""
    rows = []
    for incident in facts.incidents:
        if incident.reported_at is not None:
            clock = f"reported {when(incident.reported_at)}"
        elif facts.generated_at > incident.due_at:
            clock = "overdue"
        else:
            hours = int((incident.due_at - facts.generated_at).total_seconds() // 3600)
            clock = f"{hours // 24} days left" if hours >= 48 else f"{hours} hours left"
        rows.append(
            (
                str(incident.id),
                incident.deployment,
                incident.severity,
                incident.title,
                when(incident.opened_at),
                when(incident.due_at),
                clock,
                incident.state,
            )
        )
    return Table(
        ("Id", "Deployment", "Severity", "Title", "Opened", "Report due", "Clock", "State"),
        tuple(rows),
    )


def report_row(deployment: str, report: Mapping[str, Any]) -> tuple[str, ...]:
    """One monitoring report as a table row."""
    return (
        deployment,
        text(report.get("id")),
        text(report.get("created_at")),
        num(report.get("n_rows")),
        text(report.get("drifted")) if report.get("drifted") else "none",
        text(report.get("metrics")),
    )


REPORT_COLUMNS = ("Deployment", "Report", "Created", "Rows", "Drifted features", "Metrics")
