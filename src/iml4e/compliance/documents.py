"""Compliance documents of the EU AI Act (Regulation (EU) 2024/1689) rendered from plain facts.

Each kind is built once as a format-neutral :class:`~iml4e.compliance.document_blocks.Document`
and then written as HTML (self-contained, printable, escaped) or GitHub-flavoured Markdown by
one template per format; PDF is the HTML printed by WeasyPrint (the optional ``pdf`` extra).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from iml4e.compliance import document_kinds
from iml4e.compliance.document_annex_iv import AnnexIVSection, annex_iv_sections, build_annex_iv
from iml4e.compliance.document_blocks import Document
from iml4e.compliance.document_facts import DocumentFacts
from iml4e.compliance.errors import DocumentChoiceInvalid, PdfUnavailable

__all__ = [
    "DOCUMENT_KINDS",
    "FORMATS",
    "AnnexIVSection",
    "annex_iv_sections",
    "document_text",
    "render_document",
    "render_pdf",
]

DOCUMENT_KINDS: dict[str, str] = {
    "annex-iv": "Technical documentation (Annex IV)",
    "instructions": "Instructions for use (Art. 13)",
    "model-card": "Model card",
    "monitoring-plan": "Post-market monitoring plan (Art. 72(3))",
    "monitoring-report": "Periodic post-market monitoring report (Art. 72)",
    "declaration": "EU declaration of conformity draft (Annex V)",
}
"""Every document kind the compliance room renders, with its title."""

FORMATS = ("html", "md", "pdf")
"""The output formats of :func:`document_text`; :func:`render_document` writes the text ones."""

_BUILDERS: dict[str, Callable[[DocumentFacts], Document]] = {
    "annex-iv": lambda facts: build_annex_iv(facts)[0],
    "instructions": document_kinds.instructions,
    "model-card": document_kinds.model_card,
    "monitoring-plan": document_kinds.monitoring_plan,
    "monitoring-report": document_kinds.monitoring_report,
    "declaration": document_kinds.declaration,
}


@cache
def _environment() -> Environment:
    """The template environment: HTML templates autoescaped, Markdown ones not."""
    environment = Environment(
        loader=PackageLoader("iml4e.compliance", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["cell"] = _markdown_cell
    return environment


def _markdown_cell(value: str) -> str:
    """A value that stays inside one Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def check_choice(kind: str, fmt: str) -> None:
    """Raise :class:`DocumentChoiceInvalid` unless ``kind`` and ``fmt`` are known."""
    _check(kind, list(DOCUMENT_KINDS), "document kind")
    _check(fmt, FORMATS, "format")


def _check(value: str, allowed: tuple[str, ...] | list[str], what: str) -> None:
    if value not in allowed:
        raise DocumentChoiceInvalid(
            f"unknown {what} {value!r}; use one of: {', '.join(allowed)}", where=f"{what} {value}"
        )


def render_document(kind: str, facts: DocumentFacts, fmt: str = "html") -> str:
    """Render the document ``kind`` (a key of :data:`DOCUMENT_KINDS`) as ``html`` or ``md``.

    Parts a person still has to write appear as marked placeholders naming what is needed and
    which article asks for it, so a document is complete to read even before it is complete.
    """
    _check(kind, list(DOCUMENT_KINDS), "document kind")
    _check(fmt, ("html", "md"), "format")
    document = _BUILDERS[kind](facts)
    rendered = _environment().get_template(f"document.{fmt}.j2").render(doc=document)
    return re.sub(r"\n{3,}", "\n\n", rendered)


def render_pdf(html: str) -> bytes:
    """Print rendered HTML to PDF with WeasyPrint, which the optional ``pdf`` extra installs."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise PdfUnavailable(
            "PDF output needs the pdf extra: pip install 'iml4e[pdf]'", where="format pdf"
        ) from error
    return HTML(string=html).write_pdf()


def document_text(kind: str, facts: DocumentFacts, fmt: str) -> bytes:
    """The document ``kind`` as bytes in ``fmt`` (``html``, ``md`` or ``pdf``), ready to store."""
    _check(fmt, FORMATS, "format")
    if fmt == "pdf":
        return render_pdf(render_document(kind, facts, "html"))
    return render_document(kind, facts, fmt).encode("utf-8")
