"""The legal calendar: which AI Act obligations apply to a system on a given date.

The dates live in ``data/legal_calendar.yaml``. The Digital Omnibus on AI moves the high-risk
dates; until its publication in the Official Journal is confirmed, the dates of the Regulation as
published stay the default and the Omnibus dates are used only when asked for.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict

from iml4e.compliance.classification import Tier
from iml4e.compliance.errors import CatalogueInvalid

IN_FORCE = "in force"
IN_FORCE_UNLESS_AMENDED = "in force unless amended by the Digital Omnibus"


class AppliesTo(BaseModel):
    """Which systems an obligation concerns; an obligation matches when any criterion holds."""

    model_config = ConfigDict(frozen=True)

    tiers: list[Literal["all", "prohibited", "high-risk", "limited", "minimal"]] = []
    annex: Literal["I", "III"] | None = None
    gpai: bool = False
    transparency: bool = False


class CalendarEntry(BaseModel):
    """One dated obligation as written in the calendar file."""

    model_config = ConfigDict(frozen=True)

    name: str
    articles: list[str]
    applies_from: date
    applies_to: AppliesTo
    source: Literal["regulation", "omnibus"]
    replaced_by_omnibus: bool = False


class LegalCalendar(BaseModel):
    """The versioned calendar file."""

    model_config = ConfigDict(frozen=True)

    version: str
    omnibus_status: str
    obligations: list[CalendarEntry]


class Obligation(BaseModel):
    """An obligation that applies on the date asked for, with the status of its date."""

    model_config = ConfigDict(frozen=True)

    name: str
    articles: list[str]
    applies_from: date
    status: str


@cache
def load_calendar() -> LegalCalendar:
    """Return the legal calendar shipped with the package."""
    entry = resources.files("iml4e.compliance").joinpath("data", "legal_calendar.yaml")
    try:
        return LegalCalendar.model_validate(yaml.safe_load(entry.read_text(encoding="utf-8")))
    except ValueError as error:
        raise CatalogueInvalid(str(error), where="legal_calendar.yaml") from error


def _concerns(
    target: AppliesTo,
    *,
    tier: Tier,
    annex: Literal["III", "I"] | None,
    gpai: bool,
    transparency: bool,
) -> bool:
    if target.annex is not None and target.annex != annex:
        return False
    return (
        "all" in target.tiers
        or tier in target.tiers
        or (target.gpai and gpai)
        or (target.transparency and transparency)
    )


def _status(entry: CalendarEntry, calendar: LegalCalendar) -> str:
    if entry.source == "omnibus":
        return calendar.omnibus_status
    return IN_FORCE_UNLESS_AMENDED if entry.replaced_by_omnibus else IN_FORCE


def _selected(entry: CalendarEntry, assume_omnibus: bool) -> bool:
    if assume_omnibus:
        return not entry.replaced_by_omnibus
    return entry.source == "regulation"


def obligations_in_force(
    on: date,
    *,
    tier: Tier,
    annex: Literal["III", "I"] | None = None,
    gpai: bool = False,
    transparency: bool | None = None,
    assume_omnibus: bool = False,
) -> list[Obligation]:
    """Return the obligations that apply on ``on`` to a system of this tier, oldest first.

    ``annex`` says whether a high-risk system is high-risk through Annex III or Annex I;
    ``transparency`` defaults to ``tier == "limited"`` (pass True for a high-risk system with
    Art. 50 duties). With ``assume_omnibus`` the Digital Omnibus dates replace the high-risk
    dates of the Regulation; each obligation's ``status`` says how settled its date is.
    """
    calendar = load_calendar()
    has_transparency = tier == "limited" if transparency is None else transparency
    applicable = [
        entry
        for entry in calendar.obligations
        if _selected(entry, assume_omnibus)
        and entry.applies_from <= on
        and _concerns(
            entry.applies_to,
            tier=tier,
            annex=annex,
            gpai=gpai,
            transparency=has_transparency,
        )
    ]
    return [
        Obligation(
            name=entry.name,
            articles=entry.articles,
            applies_from=entry.applies_from,
            status=_status(entry, calendar),
        )
        for entry in sorted(applicable, key=lambda entry: entry.applies_from)
    ]
