"""The compliance REST routes that change things, on a copy of the demo home: assess, open,
close and lift the freeze of incidents, generate and list documents; bad input records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from iml4e.compliance.assessment import latest_assessment
from iml4e.compliance.classification import list_examples, load_example
from iml4e.compliance.incidents import list_incidents
from iml4e.compliance.records import document_records
from iml4e.server import create_platform_app
from iml4e.server.tokens import create_token
from iml4e.store import Store, open_store
from tests.server.conftest import DemoPlatform
from tests.server.test_ui_compliance import SYSTEM, copy_of_demo_home

INCIDENT = {
    "system": SYSTEM,
    "deployment": "credit-default",
    "severity": "serious",
    "title": "Scores shifted overnight",
    "description": "Approval rate fell by half.",
}


@dataclass
class Api:
    client: TestClient
    store: Store
    headers: dict[str, dict[str, str]]

    def post(self, role: str, path: str, body: object = None) -> tuple[int, object]:
        answer = self.client.post(f"/api{path}", json=body, headers=self.headers[role])
        return answer.status_code, answer.json()


@pytest.fixture(scope="module")
def api(demo_platform: DemoPlatform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = copy_of_demo_home(demo_platform, tmp_path_factory)
    with open_store(settings) as store, TestClient(create_platform_app(settings)) as client:
        headers = {
            role: {
                "Authorization": "Bearer "
                + create_token(store, f"{role}-user", name="api-tests", actor="setup").token
            }
            for role in ("developer", "compliance_officer", "viewer")
        }
        yield Api(client, store, headers)


def test_assess_stores_a_new_assessment(api: Api) -> None:
    previous = latest_assessment(api.store, SYSTEM)
    assert previous is not None
    status, body = api.post("compliance_officer", f"/compliance/systems/{SYSTEM}/assess")
    assert status == 200, body
    assert isinstance(body, dict) and body["id"] > previous.id
    assert body["actor"] == "compliance_officer-user" and body["results"]
    status, body = api.post("compliance_officer", "/compliance/systems/nowhere/assess")
    assert status == 404 and isinstance(body, dict) and body["where"] == "nowhere"
    status, _ = api.post(
        "compliance_officer", f"/compliance/systems/{SYSTEM}/assess", {"model": "x" * 201}
    )
    assert status == 422
    status, _ = api.post("developer", f"/compliance/systems/{SYSTEM}/assess")
    assert status == 403


def test_bad_incidents_are_refused_and_nothing_is_recorded(api: Api) -> None:
    before = len(list_incidents(api.store))
    cases = [
        ({**INCIDENT, "system": "nowhere"}, 404),
        ({**INCIDENT, "deployment": "nowhere"}, 404),
        ({**INCIDENT, "severity": "mild"}, 400),
        ({**INCIDENT, "title": "t" * 201}, 422),
        ({**INCIDENT, "title": ""}, 422),
        ({key: value for key, value in INCIDENT.items() if key != "severity"}, 422),
    ]
    for body, expected in cases:
        status, answer = api.post("developer", "/compliance/incidents", body)
        assert status == expected, (body, answer)
    assert len(list_incidents(api.store)) == before
    status, _ = api.post("viewer", "/compliance/incidents", INCIDENT)
    assert status == 403


def test_an_incident_is_opened_its_freeze_lifted_and_closed(api: Api) -> None:
    status, opened = api.post("developer", "/compliance/incidents", INCIDENT)
    assert status == 200, opened
    assert isinstance(opened, dict)
    assert opened["state"] == "open" and opened["freezes_promotion"] is True
    assert opened["opened_by"] == "developer-user" and opened["article"] == "Art. 73(2)"
    number = opened["id"]
    status, _ = api.post("developer", f"/compliance/incidents/{number}/override", {"reason": "x"})
    assert status == 403
    status, _ = api.post("compliance_officer", f"/compliance/incidents/{number}/override", {})
    assert status == 422
    status, lifted = api.post(
        "compliance_officer", f"/compliance/incidents/{number}/override", {"reason": "hotfix"}
    )
    assert status == 200 and isinstance(lifted, dict)
    assert lifted["freezes_promotion"] is False
    assert lifted["freeze_override"]["actor"] == "compliance_officer-user"
    status, _ = api.post("developer", "/compliance/incidents/999999/close", {"note": "over"})
    assert status == 404
    status, _ = api.post("developer", "/compliance/incidents/999999/override", {"reason": "r"})
    assert status == 403  # the permission is checked before anything is looked up
    status, _ = api.post(
        "compliance_officer", "/compliance/incidents/999999/override", {"reason": "r"}
    )
    assert status == 404
    status, _ = api.post("developer", f"/compliance/incidents/{number}/close", {"note": ""})
    assert status == 422
    status, closed = api.post(
        "developer", f"/compliance/incidents/{number}/close", {"note": "over"}
    )
    assert status == 200 and isinstance(closed, dict) and closed["state"] == "closed"
    status, again = api.post("developer", f"/compliance/incidents/{number}/close", {"note": "x"})
    assert status == 400 and isinstance(again, dict) and "closed" in again["error"]


def test_documents_are_generated_listed_and_downloaded(api: Api) -> None:
    before = len(document_records(api.store, SYSTEM))
    for body, expected in (
        ({"kind": "novel"}, 400),
        ({"kind": "model-card", "format": "docx"}, 400),
        ({"kind": "k" * 41}, 422),
    ):
        status, answer = api.post(
            "compliance_officer", f"/compliance/systems/{SYSTEM}/documents", body
        )
        assert status == expected, (body, answer)
    status, _ = api.post("compliance_officer", "/compliance/systems/nowhere/documents", {})
    assert status == 404
    assert len(document_records(api.store, SYSTEM)) == before
    status, _ = api.post("developer", f"/compliance/systems/{SYSTEM}/documents", {})
    assert status == 403

    status, made = api.post(
        "compliance_officer",
        f"/compliance/systems/{SYSTEM}/documents",
        {"kind": "instructions", "format": "html"},
    )
    assert status == 200, made
    assert isinstance(made, dict) and made["kind"] == "instructions" and made["format"] == "html"
    listed = api.client.get(
        f"/api/compliance/systems/{SYSTEM}/documents", headers=api.headers["viewer"]
    )
    assert listed.status_code == 200 and listed.json()[0]["id"] == made["id"]
    assert len(listed.json()) == before + 1
    unknown = api.client.get(
        "/api/compliance/systems/nowhere/documents", headers=api.headers["viewer"]
    )
    assert unknown.status_code == 404
    download = api.client.get(
        f"/api/compliance/documents/{made['id']}", headers=api.headers["viewer"]
    )
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/html") and SYSTEM in download.text


def test_each_worked_example_is_classified_through_the_api(api: Api) -> None:
    asked = api.client.get("/api/compliance/questionnaire", headers=api.headers["viewer"])
    assert asked.status_code == 200
    assert {"art5_practice"} <= {question["id"] for question in asked.json()["questions"]}
    for name in list_examples():
        example = load_example(name)
        status, body = api.post("viewer", "/compliance/classify", {"answers": example.answers})
        assert status == 200, (name, body)
        assert body["tier"] == example.expected_tier, name
    status, body = api.post("viewer", "/compliance/classify", {"answers": {"art5_practice": []}})
    assert status == 400 and body["where"], body
