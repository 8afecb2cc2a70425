"""The legal calendar: obligations before and after each date of application."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from iml4e.compliance.legal_calendar import (
    IN_FORCE,
    IN_FORCE_UNLESS_AMENDED,
    load_calendar,
    obligations_in_force,
)

DAY = timedelta(days=1)


def names(obligations: list) -> set[str]:
    return {obligation.name for obligation in obligations}


def test_calendar_is_versioned_and_records_the_omnibus_status() -> None:
    calendar = load_calendar()
    assert calendar.version
    assert "Official Journal reference not confirmed" in calendar.omnibus_status


def test_nothing_applies_before_2_february_2025() -> None:
    assert obligations_in_force(date(2025, 2, 1), tier="prohibited") == []


def test_prohibitions_and_ai_literacy_from_2_february_2025() -> None:
    found = obligations_in_force(date(2025, 2, 2), tier="prohibited")
    assert names(found) == {"AI literacy", "Prohibited AI practices"}
    assert all(obligation.status == IN_FORCE for obligation in found)


@pytest.mark.parametrize(("on", "applies"), [(date(2025, 8, 1), False), (date(2025, 8, 2), True)])
def test_gpai_obligations_from_2_august_2025(on: date, applies: bool) -> None:
    found = obligations_in_force(on, tier="minimal", gpai=True)
    assert any("Art. 53" in obligation.articles for obligation in found) is applies


@pytest.mark.parametrize(("on", "applies"), [(date(2026, 8, 1), False), (date(2026, 8, 2), True)])
def test_transparency_from_2_august_2026(on: date, applies: bool) -> None:
    found = obligations_in_force(on, tier="limited")
    assert ("Transparency obligations" in names(found)) is applies


def test_transparency_listed_for_a_high_risk_system_when_asked() -> None:
    found = obligations_in_force(date(2026, 8, 2), tier="high-risk", annex="III", transparency=True)
    assert "Transparency obligations" in names(found)


@pytest.mark.parametrize(
    ("annex", "original", "omnibus"),
    [("III", date(2026, 8, 2), date(2027, 12, 2)), ("I", date(2027, 8, 2), date(2028, 8, 2))],
)
def test_high_risk_dates_with_and_without_the_omnibus(
    annex: str, original: date, omnibus: date
) -> None:
    name = f"High-risk obligations for Annex {annex} systems"

    def applies(on: date, assume_omnibus: bool) -> bool:
        found = obligations_in_force(
            on, tier="high-risk", annex=annex, assume_omnibus=assume_omnibus
        )
        return name in names(found)

    assert not applies(original - DAY, False)
    assert applies(original, False)
    assert not applies(omnibus - DAY, True)
    assert applies(omnibus, True)


def test_statuses_say_how_settled_the_high_risk_date_is() -> None:
    original = obligations_in_force(date(2028, 8, 2), tier="high-risk", annex="III")
    amended = obligations_in_force(
        date(2028, 8, 2), tier="high-risk", annex="III", assume_omnibus=True
    )
    [original_high_risk] = [o for o in original if o.name.startswith("High-risk")]
    [amended_high_risk] = [o for o in amended if o.name.startswith("High-risk")]
    assert original_high_risk.status == IN_FORCE_UNLESS_AMENDED
    assert amended_high_risk.status == load_calendar().omnibus_status


def test_annex_i_obligations_do_not_apply_to_an_annex_iii_system() -> None:
    found = obligations_in_force(date(2030, 1, 1), tier="high-risk", annex="III")
    assert "High-risk obligations for Annex I systems" not in names(found)


def test_omnibus_ban_only_when_assumed() -> None:
    on = date(2026, 12, 2)
    assert len(obligations_in_force(on, tier="prohibited")) == 3
    assert len(obligations_in_force(on, tier="prohibited", assume_omnibus=True)) == 4
    assert len(obligations_in_force(on - DAY, tier="prohibited", assume_omnibus=True)) == 3


def test_minimal_system_gets_only_general_obligations() -> None:
    found = obligations_in_force(date(2026, 8, 2), tier="minimal")
    assert names(found) == {"AI literacy", "General application of the Regulation"}
