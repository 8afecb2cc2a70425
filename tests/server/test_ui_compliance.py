"""The compliance pages: the systems list, a system's control matrix and its forms.

Reads use the shared demo home; forms that change something post to a copy of it, so the
shared home's assessment, incidents and documents stay as the demo left them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.compliance.assessment import latest_assessment
from iml4e.compliance.attestations import list_attestations
from iml4e.compliance.checks import NEEDS_ATTESTATION
from iml4e.compliance.incidents import list_incidents, open_incident
from iml4e.compliance.records import record_document
from iml4e.compliance.systems import load_system_file, register_system, system_example_path
from iml4e.config import Settings
from iml4e.server import create_platform_app
from iml4e.server.ui_compliance_data import article_of, system_page
from iml4e.store import Store, open_store
from tests.server.conftest import DemoPlatform, copy_of_demo_home, ui_login

SYSTEM = "credit-scoring"
PAGE = f"/ui/compliance/{SYSTEM}"
EVIL = "<script>alert(1)</script>"
EVIL_PATH_NAME = '"><script>alert(2)'


@dataclass
class Pages:
    client: TestClient
    store: Store
    settings: Settings

    def login(self, role: str) -> str:
        """Log in as ``<role>-user``; returns the CSRF token of the pages' forms."""
        return ui_login(self.client, f"{role}-user")


@pytest.fixture(scope="module")
def demo(demo_platform: DemoPlatform) -> Iterator[Pages]:
    """The shared demo home: read only."""
    with (
        open_store(demo_platform.settings) as store,
        TestClient(create_platform_app(demo_platform.settings)) as client,
    ):
        yield Pages(client, store, demo_platform.settings)


@pytest.fixture(scope="module")
def own(demo_platform: DemoPlatform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    """A copy of the demo home that the forms may change."""
    settings = copy_of_demo_home(demo_platform, tmp_path_factory)
    with open_store(settings) as store, TestClient(create_platform_app(settings)) as client:
        yield Pages(client, store, settings)


def test_the_list_shows_every_system_with_its_newest_assessment(demo: Pages) -> None:
    demo.login("viewer")
    page = demo.client.get("/ui/compliance")
    assert page.status_code == 200
    assert f'href="/ui/compliance/{SYSTEM}"' in page.text
    assert 'href="/static/compliance.css"' in page.text
    found = latest_assessment(demo.store, SYSTEM)
    assert found is not None
    for status, count in found.counts().items():
        assert f'<td class="num count-{status}">{count}</td>' in page.text
    assert demo.client.get("/static/compliance.css").status_code == 200


def test_the_matrix_shows_every_control_with_its_result(demo: Pages) -> None:
    demo.login("viewer")
    page = demo.client.get(PAGE)
    assert page.status_code == 200, page.text
    found = latest_assessment(demo.store, SYSTEM)
    assert found is not None and found.results
    for result in found.results:
        assert f'id="control-{result.control_id}" class="result-row result-{result.status}"' in (
            page.text
        )
        assert f"<caption>{article_of(result.articles)}</caption>" in page.text
    assert page.text.count('class="result-row ') == len(found.results)
    for blocking in found.blocking():
        assert f'<a href="#control-{blocking.control_id}">' in page.text
    assert "Applies today:" in page.text and "Promotion gate" in page.text
    assert 'action="/ui/compliance/credit-scoring/assess"' in page.text
    documents = system_page(demo.store, SYSTEM)["documents"]
    assert documents and f'href="/api/compliance/documents/{documents[0].id}"' in page.text


def test_the_matrix_filters_by_result(demo: Pages) -> None:
    demo.login("viewer")
    found = latest_assessment(demo.store, SYSTEM)
    assert found is not None
    counts = found.counts()
    for status in (s for s, n in counts.items() if n):
        page = demo.client.get(PAGE, params={"result": status})
        assert page.status_code == 200
        assert page.text.count('class="result-row ') == counts[status]
        assert page.text.count(f'class="result-row result-{status}"') == counts[status]
    wrong = demo.client.get(PAGE, params={"result": "maybe"})
    assert wrong.status_code == 400 and "unknown result" in wrong.text


def test_an_unknown_system_is_a_404_page(demo: Pages) -> None:
    demo.login("viewer")
    answer = demo.client.get("/ui/compliance/nowhere")
    assert answer.status_code == 404 and "<title>Not found" in answer.text


def _control_needing_attestation(pages: Pages) -> str:
    found = latest_assessment(pages.store, SYSTEM)
    assert found is not None
    waiting = [r.control_id for r in found.results if r.status == NEEDS_ATTESTATION]
    assert waiting, "the demo's assessment has no control awaiting an attestation"
    return waiting[0]


def test_a_developer_may_not_attest(own: Pages) -> None:
    control = _control_needing_attestation(own)
    csrf = own.login("developer")
    answer = own.client.post(
        f"{PAGE}/attest", data={"control": control, "statement": "I say so", "csrf_token": csrf}
    )
    assert answer.status_code == 403
    assert "role developer may not compliance.attest" in answer.text
    denied = list_audit(
        own.store, actor="developer-user", action="compliance.attest", outcome="denied"
    )
    assert denied and denied[0].target == f"{PAGE}/attest"
    assert not list_attestations(own.store, SYSTEM, control_id=control)


def test_an_attestation_without_the_csrf_token_is_refused(own: Pages) -> None:
    control = _control_needing_attestation(own)
    own.login("compliance_officer")
    answer = own.client.post(f"{PAGE}/attest", data={"control": control, "statement": "Yes."})
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert not list_attestations(own.store, SYSTEM, control_id=control)


def test_a_compliance_officer_attests_a_control(own: Pages) -> None:
    control = _control_needing_attestation(own)
    found = latest_assessment(own.store, SYSTEM)
    assert found is not None
    csrf = own.login("compliance_officer")
    form = own.client.get(PAGE).text
    assert f'id="version-{control}" name="version" type="text" maxlength="32" value="' in form
    assert f'value="{found.model_version}"' in form
    answer = own.client.post(
        f"{PAGE}/attest",
        data={
            "control": control,
            "statement": "Two trained officers review every refusal.",
            "model": found.model_name,
            "version": found.model_version,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == f"{PAGE}#matrix"
    [recorded] = list_attestations(own.store, SYSTEM, control_id=control)
    assert recorded.actor == "compliance_officer-user"
    assert recorded.statement == "Two trained officers review every refusal."
    assert recorded.model_version == found.model_version
    page = own.client.get(PAGE).text
    assert f'id="control-{control}" class="result-row result-pass"' in page
    assert "attested by compliance_officer-user" in page
    assert "Two trained officers review every refusal." in page


PREFIX_OTHER = "/ui/compliance/another-system"


def test_an_incident_is_shown_with_its_deadline_and_freeze_until_overridden(own: Pages) -> None:
    before = len(list_incidents(own.store, system=SYSTEM))
    csrf = own.login("developer")
    page = own.client.get(PAGE).text
    assert '<label for="incident-title">' in page and 'value="credit-default"' in page
    answer = own.client.post(
        f"{PAGE}/incidents",
        data={
            "deployment": "credit-default",
            "severity": "widespread",
            "title": "Refusals for a whole region",
            "description": "Every applicant of one postcode refused.",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{PAGE}#incidents"
    incident = list_incidents(own.store, system=SYSTEM)[-1]
    assert incident.due_at - incident.opened_at == timedelta(days=2)
    page = own.client.get(PAGE).text
    assert f'id="incident-{incident.id}"' in page and "Refusals for a whole region" in page
    assert incident.due_at.isoformat(timespec="seconds") in page and "1 d 23 h" in page
    assert 'id="freeze"' in page and "freezes promotion" in page
    assert 'id="stale-reasons"' in page and f"incident #{incident.id}" in page

    refused = own.client.post(
        f"{PAGE}/incidents/{incident.id}/override", data={"reason": "hotfix", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    csrf = own.login("compliance_officer")
    lifted = own.client.post(
        f"{PAGE}/incidents/{incident.id}/override",
        data={"reason": "the fix for this very incident", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert lifted.status_code == 303
    elsewhere = own.client.post(  # the incident through another system's page: not found
        f"{PREFIX_OTHER}/incidents/{incident.id}/close",
        data={"note": "wrong system", "csrf_token": csrf},
    )
    assert elsewhere.status_code == 404 and f"no incident #{incident.id}" in elsewhere.text
    page = own.client.get(PAGE).text
    assert "lifted by compliance_officer-user: the fix for this very incident" in page
    assert 'id="freeze"' not in page
    closed = own.client.post(
        f"{PAGE}/incidents/{incident.id}/close",
        data={"note": "root cause fixed", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    assert list_incidents(own.store, system=SYSTEM)[-1].state == "closed"
    bad = own.client.post(
        f"{PAGE}/incidents",
        data={"deployment": "credit-default", "severity": "mild", "title": "x", "csrf_token": csrf},
    )
    assert bad.status_code == 400 and "unknown severity" in bad.text
    assert len(list_incidents(own.store, system=SYSTEM)) == before + 1


def test_a_document_is_generated_and_downloaded(own: Pages) -> None:
    csrf = own.login("compliance_officer")
    page = own.client.get(PAGE).text
    assert '<option value="model-card">' in page and '<option value="md">' in page
    before = len(system_page(own.store, SYSTEM)["documents"])
    answer = own.client.post(
        f"{PAGE}/documents",
        data={"kind": "model-card", "format": "md", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    documents = system_page(own.store, SYSTEM)["documents"]
    assert len(documents) == before + 1
    newest = documents[0]
    assert newest.kind == "model-card" and newest.actor == "compliance_officer-user"
    link = f"/api/compliance/documents/{newest.id}"
    assert f'href="{link}"' in own.client.get(PAGE).text
    download = own.client.get(link)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/markdown")
    assert SYSTEM in download.text
    wrong = own.client.post(
        f"{PAGE}/documents", data={"kind": "novel", "format": "md", "csrf_token": csrf}
    )
    assert wrong.status_code == 400 and "unknown document kind" in wrong.text
    assert len(system_page(own.store, SYSTEM)["documents"]) == before + 1


def test_a_download_outside_the_compliance_folder_is_refused(own: Pages) -> None:
    own.login("viewer")
    for bad_id in ("..%2F..%2Fiml4e.db", "1%2F..%2F..%2Fiml4e.db", "-1"):
        answer = own.client.get(f"/api/compliance/documents/{bad_id}")
        assert answer.status_code in (404, 422), bad_id
    outside = record_document(
        own.store,
        system=SYSTEM,
        kind="annex-iv",
        model_name="credit-default",
        model_version="1",
        fmt="html",
        path=str(own.settings.home / "compliance" / ".." / "iml4e.db"),
        sha256="0" * 64,
        facts={},
        actor="tests",
    )
    refused = own.client.get(f"/api/compliance/documents/{outside.id}")
    assert refused.status_code == 404 and "not in the compliance folder" in refused.text


def test_reassess_now_stores_a_new_assessment(own: Pages) -> None:
    previous = latest_assessment(own.store, SYSTEM)
    assert previous is not None
    csrf = own.login("developer")
    refused = own.client.post(f"{PAGE}/assess", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "compliance.assess" in refused.text
    csrf = own.login("compliance_officer")
    answer = own.client.post(f"{PAGE}/assess", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == PAGE
    fresh = latest_assessment(own.store, SYSTEM)
    assert fresh is not None and fresh.id > previous.id
    assert fresh.actor == "compliance_officer-user"
    assert f"#{fresh.id} of" in own.client.get(PAGE).text


def test_names_are_escaped(own: Pages) -> None:
    system = load_system_file(system_example_path("credit_scoring"))
    register_system(own.store, system.model_copy(update={"name": EVIL}), actor="setup")
    register_system(own.store, system.model_copy(update={"name": EVIL_PATH_NAME}), actor="setup")
    open_incident(
        own.store,
        system=EVIL_PATH_NAME,
        deployment="credit-default",
        severity="serious",
        title=EVIL,
        description=EVIL,
        actor="setup",
    )
    own.login("admin")
    pages = [
        own.client.get("/ui/compliance"),
        own.client.get(f"/ui/compliance/{quote(EVIL_PATH_NAME, safe='')}"),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>" not in page.text
        assert "&#34;&gt;&lt;script&gt;alert(2)" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text + pages[1].text
