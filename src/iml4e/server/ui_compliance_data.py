"""What the compliance pages show, read from the compliance room's Python API (no HTML here).

:func:`systems_page` lists every AI system with its newest assessment and open incidents;
:func:`system_page` gives one system's control matrix grouped by article, what blocks
promotion, its incidents with their reporting clocks, its documents and the obligations that
apply today. Plain rows out, so the data can be checked without rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from iml4e.compliance.checks import FAIL, NEEDS_ATTESTATION, NOT_APPLICABLE, PASS, STATUSES
from iml4e.errors import BadInput
from iml4e.store import Store

if TYPE_CHECKING:
    from iml4e.compliance.assessment import ControlResultInfo
    from iml4e.compliance.incidents import IncidentInfo
    from iml4e.compliance.systems import SystemRecord

RESULT_LABELS: dict[str, str] = {
    PASS: "pass",
    FAIL: "fail",
    NEEDS_ATTESTATION: "needs attestation",
    NOT_APPLICABLE: "not applicable",
}
"""How each result status reads on a page."""

_ARTICLE = re.compile(r"^(Art\. \d+|Annex [IVXL]+)")


class UnknownResultFilter(BadInput):
    """A ``?result=`` value that is not a result status; ``where`` is the value."""


@dataclass(frozen=True)
class SystemSummary:
    """One AI system on the compliance list."""

    name: str
    tier: str
    models: tuple[str, ...]
    assessed_at: str | None
    version: str | None
    counts: dict[str, int] = field(default_factory=dict)
    stale: bool = False
    open_incidents: int = 0


@dataclass(frozen=True)
class ControlRow:
    """One control of the matrix: its result, evidence and whether it blocks promotion."""

    control_id: str
    title: str
    articles: tuple[str, ...]
    type: str
    status: str
    label: str
    detail: str
    evidence: tuple[tuple[str, str], ...]
    taken_at: str
    attested_by: str | None
    required: bool
    blocks_promotion: bool
    attestable: bool


@dataclass(frozen=True)
class ArticleGroup:
    """The controls of one article (by the first article a control cites)."""

    article: str
    rows: tuple[ControlRow, ...]


@dataclass(frozen=True)
class IncidentRow:
    """An incident with its reporting clock as of the page's moment."""

    incident: IncidentInfo
    time_left: str
    overdue: bool


def systems_page(store: Store) -> dict[str, Any]:
    """Every AI system with tier, models, newest assessment counts, staleness, open incidents."""
    return {"systems": system_summaries(store), "labels": RESULT_LABELS, "statuses": STATUSES}


def system_summaries(store: Store) -> list[SystemSummary]:
    """Every registered AI system with its newest assessment's counts and open incidents."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.incidents import list_incidents
    from iml4e.compliance.systems import list_systems

    rows = []
    for system in list_systems(store):
        open_count = len(list_incidents(store, system=system.name, open_only=True))
        found = latest_assessment(store, system.name)
        if found is None:
            rows.append(
                SystemSummary(
                    system.name, system.tier, system.models, None, None, open_incidents=open_count
                )
            )
            continue
        rows.append(
            SystemSummary(
                name=system.name,
                tier=system.tier,
                models=system.models,
                assessed_at=found.created_at.isoformat(timespec="seconds"),
                version=f"{found.model_name} v{found.model_version}",
                counts=found.counts(),
                stale=found.stale,
                open_incidents=open_count,
            )
        )
    return rows


def system_page(
    store: Store, name: str, *, result: str | None = None, today: date | None = None
) -> dict[str, Any]:
    """One system: its control matrix (filtered by ``result``), gate, incidents, documents.

    An unknown system raises :class:`~iml4e.compliance.errors.UnknownSystem`; a ``result``
    that is not a status raises :class:`UnknownResultFilter`.
    """
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.attestations import list_attestations
    from iml4e.compliance.documents import DOCUMENT_KINDS, FORMATS
    from iml4e.compliance.incidents import LEGAL_DEADLINE_DAYS, freezing_incidents
    from iml4e.compliance.records import document_records
    from iml4e.compliance.systems import get_system
    from iml4e.serving.deployments import list_deployments

    if result and result not in STATUSES:
        raise UnknownResultFilter(
            f"unknown result {result!r}; use one of: {', '.join(STATUSES)}", where="result"
        )
    system = get_system(store, name)
    assessment = latest_assessment(store, system.name)
    rows = [] if assessment is None else [_control_row(r) for r in assessment.results]
    shown = [row for row in rows if not result or row.status == result]
    return {
        "system": system,
        "assessment": assessment,
        "counts": {} if assessment is None else assessment.counts(),
        "groups": group_by_article(shown),
        "shown": len(shown),
        "result": result or "",
        "blocking": [row for row in rows if row.blocks_promotion],
        "freezing": freezing_incidents(store, system.name),
        "incidents": incident_rows(store, system.name),
        "severities": tuple(LEGAL_DEADLINE_DAYS.items()),
        "deployments": [d for d in list_deployments(store) if d.model_name in system.models],
        "attestations": list(reversed(list_attestations(store, system.name))),
        "documents": list(reversed(document_records(store, system.name))),
        "document_kinds": DOCUMENT_KINDS,
        "formats": FORMATS,
        "obligations": obligations_today(system, today or date.today()),
        "labels": RESULT_LABELS,
        "statuses": STATUSES,
    }


def group_by_article(rows: list[ControlRow]) -> list[ArticleGroup]:
    """Rows grouped by the article they cite first, in the order the articles first appear."""
    groups: dict[str, list[ControlRow]] = {}
    for row in rows:
        groups.setdefault(article_of(row.articles), []).append(row)
    return [ArticleGroup(article, tuple(members)) for article, members in groups.items()]


def article_of(articles: tuple[str, ...]) -> str:
    """``Art. 10`` for ``("Art. 10(2)(b)", …)``; ``Other`` when nothing is cited."""
    if not articles:
        return "Other"
    found = _ARTICLE.match(articles[0])
    return found.group(1) if found else articles[0]


def incident_rows(store: Store, system: str, now: datetime | None = None) -> list[IncidentRow]:
    """The system's incidents, newest first, with the time left until each report is due."""
    from iml4e.compliance.incidents import list_incidents

    moment = now or datetime.now()
    rows = []
    for incident in reversed(list_incidents(store, system=system)):
        rows.append(
            IncidentRow(incident, _left(incident, moment), incident.overdue(moment)),
        )
    return rows


def obligations_today(system: SystemRecord, today: date) -> list[Any]:
    """The legal calendar's obligations that apply to the system on ``today``."""
    from iml4e.compliance.legal_calendar import obligations_in_force

    classification = system.classification
    annex = "III" if classification.annex_iii else ("I" if system.tier == "high-risk" else None)
    return obligations_in_force(
        today,
        tier=classification.tier,
        annex=annex,
        gpai=classification.gpai,
        transparency=bool(classification.transparency) or None,
    )


def _control_row(result: ControlResultInfo) -> ControlRow:
    return ControlRow(
        control_id=result.control_id,
        title=result.title,
        articles=result.articles,
        type=result.type,
        status=result.status,
        label=RESULT_LABELS.get(result.status, result.status),
        detail=result.detail,
        evidence=tuple((str(k), _short(v)) for k, v in sorted(result.evidence.items())),
        taken_at=result.taken_at.isoformat(timespec="seconds"),
        attested_by=result.attested_by,
        required=result.required_for_promotion,
        blocks_promotion=result.blocks_promotion,
        attestable=result.type != "automatic",
    )


def _short(value: Any, limit: int = 160) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _left(incident: IncidentInfo, now: datetime) -> str:
    if incident.state != "open":
        return ""
    seconds = int(incident.time_left(now).total_seconds())
    sign, seconds = ("overdue by " if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86_400)
    return f"{sign}{days} d {rest // 3600} h"
