"""The web UI's pages in-process: login, the pages' content, the pause form's permission and
CSRF checks, and escaping of every name shown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit, record_audit
from iml4e.compliance.systems import load_system_file, register_system, system_example_path
from iml4e.config import Settings
from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.access import SESSION_COOKIE
from iml4e.server.users import add_user
from iml4e.serving.deployments import get_deployment, record_deployment
from iml4e.store import Store, open_store
from tests.server.helpers import auth_on_settings, free_port

PASSWORD = "correct horse battery"
ROLES = ("viewer", "developer", "compliance_officer", "admin")
EVIL = "<script>alert(1)</script>"
EVIL_PATH_NAME = '"><script>alert(2)'  # a name that fits in one URL path segment


@dataclass
class Ui:
    client: TestClient
    store: Store

    def login(self, role: str) -> str:
        """Log in as the user of ``role``; returns the CSRF token of the pages' forms."""
        self.client.cookies.clear()
        answer = self.client.post(
            "/ui/login",
            data={"name": f"{role}-user", "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return csrf_of(self.client.get("/ui/").text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    folder = tmp_path_factory.mktemp("ui")
    settings = auth_on_settings(folder)
    initialize(settings)
    store = open_store(settings)
    for role in ROLES:
        add_user(store, f"{role}-user", role=role, password=PASSWORD, actor="setup")
    register_system(store, load_system_file(system_example_path("credit_scoring")), actor="setup")
    for name in ("credit-default", "fraud-check"):
        record_deployment(
            store, name, model_name="credit-default", model_version="3", url=None, actor="setup"
        )
    with TestClient(create_platform_app(settings)) as client:
        yield Ui(client, store)
    store.close()


def test_pages_need_a_login(ui: Ui) -> None:
    ui.client.cookies.clear()
    for path in ("/ui/", "/ui/audit", "/ui/deployments/credit-default"):
        answer = ui.client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/login", path
    form = ui.client.get("/ui/login")
    assert form.status_code == 200
    assert '<html lang="en">' in form.text and "<title>Log in" in form.text
    assert '<label for="name">' in form.text and '<label for="password">' in form.text
    assert "autofocus" in form.text


def test_a_login_sets_the_session_and_redirects_to_the_overview(ui: Ui) -> None:
    ui.client.cookies.clear()
    answer = ui.client.post(
        "/ui/login",
        data={"name": "viewer-user", "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    cookie = answer.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "viewer-user" in ui.client.get("/ui/").text


def test_a_wrong_password_is_401_and_a_denied_event(ui: Ui) -> None:
    ui.client.cookies.clear()
    answer = ui.client.post("/ui/login", data={"name": "admin-user", "password": "wrong one!"})
    assert answer.status_code == 401
    assert "Wrong name or password" in answer.text and "wrong one!" not in answer.text
    assert SESSION_COOKIE not in ui.client.cookies
    denied = list_audit(ui.store, actor="admin-user", action="user.login", outcome="denied")
    assert denied and denied[0].detail


def test_the_overview_shows_systems_and_deployments(ui: Ui) -> None:
    ui.login("viewer")
    page = ui.client.get("/ui/")
    assert page.status_code == 200
    text = page.text
    system = load_system_file(system_example_path("credit_scoring"))
    assert system.name in text and "not assessed yet" in text
    assert 'href="/ui/deployments/credit-default"' in text and "serving" in text
    assert 'href="/mlflow/"' in text and 'href="/ui/audit"' in text
    assert "viewer-user" in text and '(<span class="user-role">viewer</span>)' in text
    assert "No alert is firing." in text and "No monitor report yet." in text
    css = ui.client.get("/static/ui.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_the_audit_page_lists_filtered_events_and_the_verification(ui: Ui) -> None:
    ui.login("compliance_officer")
    page = ui.client.get("/ui/audit")
    assert page.status_code == 200
    assert "Chain verified" in page.text and "session.start" in page.text
    narrowed = ui.client.get("/ui/audit", params={"action": "user.login", "outcome": "denied"})
    assert "user.login" in narrowed.text and "session.start" not in narrowed.text
    assert '<option value="denied" selected>' in narrowed.text
    # a later load walks only what was appended since the last walk that held
    assert "walked now" in narrowed.text
    ui.login("viewer")
    refused = ui.client.get("/ui/audit")
    assert refused.status_code == 403 and "role viewer may not audit.read" in refused.text


def test_a_viewer_may_not_pause(ui: Ui) -> None:
    csrf = ui.login("viewer")
    page = ui.client.get("/ui/deployments/credit-default")
    assert page.status_code == 200 and '<label for="reason">' in page.text
    answer = ui.client.post(
        "/ui/deployments/credit-default/pause", data={"reason": "drill", "csrf_token": csrf}
    )
    assert answer.status_code == 403
    assert (
        "Not allowed: role viewer may not deployment.pause "
        "(allowed: developer, approver, compliance_officer, admin)"
    ) in answer.text
    assert get_deployment(ui.store, "credit-default").state == "serving"
    denied = list_audit(ui.store, actor="viewer-user", action="deployment.pause", outcome="denied")
    assert denied and denied[0].target == "/ui/deployments/credit-default/pause"


def test_a_developer_pauses_a_deployment(ui: Ui) -> None:
    csrf = ui.login("developer")
    answer = ui.client.post(
        "/ui/deployments/fraud-check/pause",
        data={"reason": "odd scores", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/deployments/fraud-check"
    page = ui.client.get("/ui/deployments/fraud-check")
    assert 'id="state" class="state state-paused">paused<' in page.text
    assert "odd scores" in page.text and "developer-user" in page.text
    assert get_deployment(ui.store, "fraud-check").state == "paused"
    done = list_audit(ui.store, actor="developer-user", action="deployment.pause", outcome="ok")
    assert done and done[0].target == "deployment:fraud-check"


def test_forms_without_the_csrf_token_are_refused(ui: Ui) -> None:
    csrf = ui.login("admin")
    for data in ({"reason": "drill"}, {"reason": "drill", "csrf_token": csrf + "x"}):
        answer = ui.client.post("/ui/deployments/credit-default/pause", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    as_json = ui.client.post(
        "/ui/deployments/credit-default/pause", json={"reason": "drill", "csrf_token": csrf}
    )
    assert as_json.status_code == 403
    assert ui.client.post("/ui/logout", follow_redirects=False).status_code == 403
    assert get_deployment(ui.store, "credit-default").state == "serving"
    assert ui.client.get("/ui/").status_code == 200  # still logged in
    out = ui.client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/ui/login"
    ui.client.cookies.clear()
    assert ui.client.get("/ui/", follow_redirects=False).status_code == 303


def test_an_unknown_deployment_is_a_404_page(ui: Ui) -> None:
    ui.login("viewer")
    answer = ui.client.get("/ui/deployments/nowhere")
    assert answer.status_code == 404 and "<title>Not found" in answer.text


def test_names_are_escaped(ui: Ui) -> None:
    system = load_system_file(system_example_path("credit_scoring"))
    register_system(ui.store, system.model_copy(update={"name": EVIL}), actor="setup")
    record_deployment(
        ui.store, EVIL_PATH_NAME, model_name=EVIL, model_version="1", url=None, actor="setup"
    )
    record_audit(ui.store, actor=EVIL, action="data.write", target=f"dataset:{EVIL}")
    ui.login("admin")
    pages = [
        ui.client.get("/ui/"),
        ui.client.get("/ui/audit", params={"actor": EVIL}),
        ui.client.get(f"/ui/deployments/{quote(EVIL_PATH_NAME, safe='')}"),
    ]
    for page in pages:
        assert page.status_code == 200, page.text
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&#34;&gt;&lt;script&gt;alert(2)" in pages[0].text + pages[2].text


def test_without_auth_the_local_user_sees_the_pages(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(server_auth="off", mlflow_port=free_port())
    initialize(settings)
    with open_store(settings) as store:
        record_deployment(store, "local", model_name="m", model_version="1", url=None, actor="me")
    with TestClient(create_platform_app(settings)) as client:
        page = client.get("/ui/")
        assert page.status_code == 200 and settings.user in page.text
        assert "Log out" not in page.text
        assert client.get("/ui/login", follow_redirects=False).status_code == 303
        assert client.get("/ui/audit").status_code == 200
        refused = client.post("/ui/deployments/x/pause", data={"reason": "r"})
        assert refused.status_code == 403
        csrf = csrf_of(client.get("/ui/deployments/local").text)
        missing = client.post("/ui/deployments/x/pause", data={"reason": "r", "csrf_token": csrf})
        assert missing.status_code == 404  # past the CSRF and permission checks
