"""Serious incidents (Art. 73) on a real SQLite store with a registered system and deployment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from iml4e.compliance.errors import IncidentInvalid, UnknownIncident, UnknownSystem
from iml4e.compliance.incidents import (
    IncidentInfo,
    close_incident,
    draft_incident_report,
    freezing_incidents,
    get_incident,
    list_incidents,
    open_incident,
    override_freeze,
    report_incident,
)
from iml4e.compliance.systems import load_system_file, register_system, system_example_path
from iml4e.config import Settings
from iml4e.serving.deployments import deployment_events, record_deployment
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord
from iml4e.store import Store, open_store
from iml4e.store.models import utcnow

SYSTEM = "credit-scoring"
DEPLOYMENT = "credit-prod"
OPENED = datetime(2025, 3, 1, 12, 0, 0)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """A SQLite store with the credit-scoring system and a deployment of its model."""
    with open_store(settings) as opened:
        register_system(opened, load_system_file(system_example_path("credit_scoring")))
        record_deployment(
            opened, DEPLOYMENT, model_name="credit-default", model_version="3", url=None, actor="t"
        )
        yield opened


def stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def open_one(store: Store, severity: str = "serious", **options: object) -> IncidentInfo:
    values: dict[str, object] = {
        "system": SYSTEM,
        "deployment": DEPLOYMENT,
        "severity": severity,
        "title": "Loan refused for a whole postcode",
        "actor": "alice",
        "now": OPENED,
    }
    values.update(options)
    return open_incident(store, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("severity", "days"), [("serious", 15), ("widespread", 2), ("death", 10)])
def test_deadline_is_the_legal_one(store: Store, severity: str, days: int) -> None:
    incident = open_one(store, severity)
    assert incident.due_at == OPENED + timedelta(days=days)
    assert incident.model_version == "3" and incident.state == "open"
    assert incident.time_left(OPENED) == timedelta(days=days)
    assert not incident.overdue(OPENED)
    assert incident.overdue(OPENED + timedelta(days=days, seconds=1))
    opened = [e for e in deployment_events(store, DEPLOYMENT) if e["kind"] == "incident_opened"]
    assert opened[-1]["detail"] == {
        "incident": incident.id,
        "severity": severity,
        "due_at": incident.due_at.isoformat(),
    }


def test_policy_limits_shorten_but_never_lengthen_the_deadline(store: Store) -> None:
    limits = {"incident_report_days": 5, "incident_report_days_death": 30}
    assert open_one(store, policy_limits=limits).due_at == OPENED + timedelta(days=5)
    assert open_one(store, "death", policy_limits=limits).due_at == OPENED + timedelta(days=10)
    assert open_one(store, "widespread", policy_limits=limits).due_at == OPENED + timedelta(days=2)


def test_an_aware_now_is_stored_as_naive_utc(store: Store) -> None:
    incident = open_one(store, now=OPENED.replace(tzinfo=UTC))
    assert incident.opened_at == get_incident(store, incident.id).opened_at == OPENED


@pytest.mark.parametrize(
    ("options", "where", "words"),
    [
        ({"deployment": "nowhere"}, "deployment 'nowhere'", "no such deployment"),
        ({"deployment": "other-prod"}, "deployment 'other-prod'", "'fraud-model'"),
        ({"severity": "bad"}, "severity", "serious, widespread, death"),
        ({"title": "  "}, "title", "title"),
    ],
)
def test_bad_incidents_are_refused_before_anything_is_written(
    store: Store, options: dict[str, str], where: str, words: str
) -> None:
    record_deployment(
        store, "other-prod", model_name="fraud-model", model_version="1", url=None, actor="t"
    )
    with pytest.raises(IncidentInvalid) as caught:
        open_one(store, **options)
    assert caught.value.where == where and words in caught.value.message
    assert list_incidents(store) == []
    kinds = {e["kind"] for e in deployment_events(store, DEPLOYMENT)}
    assert "incident_opened" not in kinds


def test_unknown_system_propagates(store: Store) -> None:
    with pytest.raises(UnknownSystem):
        open_one(store, system="nope")
    assert list_incidents(store) == []


def test_open_incident_freezes_until_overridden_with_a_reason(store: Store) -> None:
    incident = open_one(store)
    assert freezing_incidents(store, SYSTEM) == [incident]
    assert freezing_incidents(store, "another-system") == []
    with pytest.raises(IncidentInvalid) as caught:
        override_freeze(store, incident.id, actor="bob", reason=" ")
    assert caught.value.where == "reason"
    assert freezing_incidents(store, SYSTEM) == [incident]
    moment = OPENED + timedelta(hours=1)
    lifted = override_freeze(store, incident.id, actor="bob", reason="hotfix", now=moment)
    assert lifted.freeze_override == {"actor": "bob", "reason": "hotfix", "at": moment.isoformat()}
    assert lifted.state == "open" and not lifted.freezes_promotion
    assert freezing_incidents(store, SYSTEM) == []
    assert list_incidents(store, open_only=True) == [lifted]


def test_reporting_lifts_the_freeze_and_cannot_happen_twice(store: Store) -> None:
    incident = open_one(store, "widespread")
    late = OPENED + timedelta(days=3)
    reported = report_incident(store, incident.id, actor="carol", now=late)
    assert reported.state == "reported" and reported.reported_at == late
    assert reported.overdue(OPENED) and freezing_incidents(store, SYSTEM) == []
    assert list_incidents(store, open_only=True) == []
    assert list_incidents(store, system=SYSTEM) == [reported]
    with pytest.raises(IncidentInvalid, match="already reported"):
        report_incident(store, incident.id, actor="carol")


def test_a_closed_incident_cannot_be_changed(store: Store) -> None:
    incident = open_one(store)
    with pytest.raises(IncidentInvalid) as caught:
        close_incident(store, incident.id, actor="dave", note="")
    assert caught.value.where == "note"
    closed = close_incident(store, incident.id, actor="dave", note="not serious", now=OPENED)
    assert closed.state == "closed" and not closed.overdue(OPENED + timedelta(days=30))
    as_dict = json.loads(json.dumps(closed.as_dict()))
    assert as_dict["state"] == "closed" and as_dict["article"] == "Art. 73(2)"
    assert as_dict["closed_at"] == OPENED.isoformat() and as_dict["reported_at"] is None
    events = [e for e in deployment_events(store, DEPLOYMENT) if e["kind"] == "incident_closed"]
    assert events[-1]["detail"]["note"] == "not serious"
    for change in (
        lambda: report_incident(store, incident.id, actor="dave"),
        lambda: close_incident(store, incident.id, actor="dave", note="again"),
        lambda: override_freeze(store, incident.id, actor="dave", reason="why"),
    ):
        with pytest.raises(IncidentInvalid, match="closed"):
            change()


def test_unknown_incident_names_the_id(store: Store) -> None:
    with pytest.raises(UnknownIncident) as caught:
        get_incident(store, 404)
    assert caught.value.where == "404"


def test_draft_report_has_every_section_and_the_log_counts(
    store: Store, settings: Settings
) -> None:
    # after the deployment's own event, recorded just now
    opened = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    writer = InferenceLogWriter(store, settings.inference_log_root, DEPLOYMENT)
    base = opened.replace(tzinfo=UTC).timestamp()
    offsets = [-30 * 3600, -3600, -1800, -60]  # the first one is outside the 24 h window
    roles = ["champion", "champion", "fallback", "champion"]
    for n, (offset, role) in enumerate(zip(offsets, roles, strict=True)):
        version = "2" if role == "fallback" else "3"
        at = base + offset
        rows, outputs = [{"x": 1}], [0]
        model = "credit-default"
        record = InferenceRecord(
            f"r{n}", at, DEPLOYMENT, model, version, "mlflow", rows, outputs, 1.0, role=role
        )
        writer.append(record)
    writer.close()
    incident = open_one(store, "death", description="A person died.", now=opened)
    draft = draft_incident_report(store, incident.id, now=opened + timedelta(days=11))
    assert draft.startswith("# DRAFT")
    for heading in (
        "## 1. Provider and system",
        "## 2. The incident",
        "## 3. Affected deployment and model version",
        "## 4. Inference log around the incident",
        "## 5. Operational history",
        "## 6. Corrective actions",
        "## 7. Contact",
    ):
        assert heading in draft
    assert "Example Bank AG" in draft and "5(b)" in draft and "high" in draft
    assert "Art. 73(4)" in draft
    assert f"Reporting deadline: {stamp(opened + timedelta(days=10))} UTC" in draft
    assert "OVERDUE by 1 d 0 h 0 min" in draft
    assert "no lineage recorded" in draft
    assert "- Requests: 3" in draft
    assert f"First request: {stamp(opened - timedelta(hours=1))} UTC" in draft
    assert f"Last request: {stamp(opened - timedelta(minutes=1))} UTC" in draft
    assert "Model versions answering: 2 (1), 3 (2)" in draft
    assert "Share answered by fallback: 33.3%" in draft
    assert "deployment deployed by t" in draft
    assert "To be written by the provider" in draft and "Art. 73(6)" in draft


def test_draft_report_says_time_left_and_empty_windows(store: Store) -> None:
    incident = open_one(store)
    draft = draft_incident_report(store, incident.id, now=OPENED + timedelta(hours=1, minutes=30))
    assert "Time left: 14 d 22 h 30 min" in draft
    assert "- Requests: 0" in draft
