"""Who may call which route of the REST API: the table of (route, role) → allowed or denied
is generated from the one permission table, so a route without a rule fails here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit, verify_audit
from iml4e.config import Settings
from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.access import CSRF_HEADER, SESSION_COOKIE
from iml4e.server.api import PUBLIC, ROUTE_ACTIONS
from iml4e.server.permissions import PERMISSIONS, ROLES, allowed
from iml4e.server.tokens import create_token
from iml4e.server.users import add_user
from iml4e.store import Store, open_store
from tests.server.helpers import auth_on_settings, free_port

PASSWORD = "correct horse battery"
PATH_VALUES = {
    "name": "credit-default",
    "version": "1",
    "run_id": "abc123",
    "deployment": "credit-default",
    "rule": "feature-drift",
    "incident_id": "1",
    "document_id": "1",
}
BODIES = {
    "/api/login": {"name": "nobody", "password": "x"},
    "/api/deployments/{name}/pause": {"reason": "check"},
    "/api/deployments/{name}/resume": {"reason": "check"},
    "/api/monitoring/{deployment}/alerts/{rule}/acknowledge": {"note": "seen"},
    "/api/compliance/systems/{name}/attestations": {
        "control": "ART14-OVERSIGHT-STAFF",
        "statement": "Officers are assigned.",
    },
    "/api/compliance/incidents": {
        "system": "credit-scoring",
        "deployment": "credit-default",
        "severity": "serious",
        "title": "check",
    },
    "/api/compliance/incidents/{incident_id}/close": {"note": "check"},
    "/api/compliance/incidents/{incident_id}/override": {"reason": "check"},
    "/api/compliance/systems/{name}/documents": {"kind": "model-card", "format": "md"},
    "/api/compliance/classify": {"answers": {}},
}


@dataclass
class Server:
    client: TestClient
    store: Store
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:

    folder = tmp_path_factory.mktemp("api")
    settings = auth_on_settings(folder)
    initialize(settings)
    store = open_store(settings)
    tokens = {}
    for role in ROLES:
        add_user(store, f"{role}-user", role=role, password=PASSWORD, actor="setup")
        tokens[role] = create_token(store, f"{role}-user", name="tests", actor="setup").token
    with TestClient(create_platform_app(settings)) as client:
        yield Server(client, store, tokens)
    store.close()


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: PATH_VALUES[match.group(1)], path)


def _call(server: Server, method: str, path: str, headers: dict[str, str]) -> int:
    body = BODIES.get(path)
    response = server.client.request(method, _url(path), json=body, headers=headers)
    return response.status_code


def test_every_api_route_names_its_action() -> None:
    paths = create_platform_app(_unused_settings()).openapi()["paths"]
    declared = {
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api")
        for method in operations
    }
    assert declared == set(ROUTE_ACTIONS)
    for action in ROUTE_ACTIONS.values():
        assert action == PUBLIC or action in PERMISSIONS, action


GUARDED = sorted((key, action) for key, action in ROUTE_ACTIONS.items() if action != PUBLIC)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("route", "action"), GUARDED, ids=[f"{m} {p}" for (m, p), _ in GUARDED])
def test_each_role_is_allowed_exactly_what_the_table_says(
    server: Server, role: str, route: tuple[str, str], action: str
) -> None:
    method, path = route
    before = len(list_audit(server.store, actor=f"{role}-user", outcome="denied", limit=1000))
    status = _call(server, method, path, {"Authorization": f"Bearer {server.tokens[role]}"})
    denials = list_audit(server.store, actor=f"{role}-user", outcome="denied", limit=1000)
    if allowed(role, action):
        assert status not in (401, 403) and status < 500, (role, action, status)
    else:
        assert status == 403, (role, action, status)
        assert len(denials) == before + 1
        assert denials[0].action == action and denials[0].target == _url(path)


def test_without_credentials_every_guarded_route_answers_401(server: Server) -> None:
    for (method, path), _action in GUARDED:
        assert _call(server, method, path, {}) == 401, path
    bad = {"Authorization": "Bearer iml4e_nothere_secret"}
    assert _call(server, "GET", "/api/me", bad) == 401
    assert server.client.get("/api/me", headers={"Authorization": "Basic x"}).status_code == 401


def test_a_browser_session_needs_its_csrf_token_to_change_anything(server: Server) -> None:
    client = server.client
    wrong = client.post("/api/login", json={"name": "admin-user", "password": "wrong password"})
    assert wrong.status_code == 401
    assert "wrong password" not in wrong.text
    logged = client.post("/api/login", json={"name": "admin-user", "password": PASSWORD})
    assert logged.status_code == 200
    csrf = logged.json()["csrf_token"]
    assert SESSION_COOKIE in client.cookies
    assert client.get("/api/me").json()["name"] == "admin-user"

    refused = client.post("/api/deployments/nowhere/pause", json={"reason": "drill"})
    assert refused.status_code == 403
    passed = client.post(
        "/api/deployments/nowhere/pause", json={"reason": "drill"}, headers={CSRF_HEADER: csrf}
    )
    assert passed.status_code in (400, 404)  # past the CSRF check: the deployment is unknown
    assert "nowhere" in passed.json()["where"]

    assert client.post("/api/logout", headers={CSRF_HEADER: csrf}).json() == {"ended": True}
    client.cookies.clear()
    assert client.get("/api/me").status_code == 401
    assert verify_audit(server.store).ok


def test_without_auth_the_local_user_is_admin(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(server_auth="off", mlflow_port=free_port())
    open_store(settings).close()
    with TestClient(create_platform_app(settings)) as client:
        me = client.get("/api/me").json()
    assert (me["name"], me["role"]) == (settings.user, "admin")


def _unused_settings() -> Settings:
    from iml4e.config import load_settings

    return load_settings({"home": "/nonexistent-iml4e-home"}, environ={}).settings


def test_documents_are_served_only_from_the_compliance_folder(server: Server) -> None:
    from iml4e.compliance.records import record_document

    home = server.client.app.state.settings.home  # type: ignore[attr-defined]
    folder = home / "compliance" / "credit-scoring"
    folder.mkdir(parents=True, exist_ok=True)
    inside = folder / "annex-iv-v1.html"
    inside.write_text("<h1>Annex IV</h1>", encoding="utf-8")
    outside = home / "iml4e.db"

    def recorded(path: str) -> int:
        return record_document(
            server.store,
            system="credit-scoring",
            kind="annex-iv",
            model_name="credit-default",
            model_version="1",
            fmt="html",
            path=path,
            sha256="0" * 64,
            facts={},
            actor="tests",
        ).id

    headers = {"Authorization": f"Bearer {server.tokens['viewer']}"}
    served = server.client.get(
        f"/api/compliance/documents/{recorded(str(inside))}", headers=headers
    )
    assert served.status_code == 200 and served.text == "<h1>Annex IV</h1>"
    for path in (str(outside), str(folder / ".." / ".." / "iml4e.db"), "/etc/hostname"):
        refused = server.client.get(f"/api/compliance/documents/{recorded(path)}", headers=headers)
        assert refused.status_code == 404, path
        assert "not in the compliance folder" in refused.json()["error"]
    missing = server.client.get("/api/compliance/documents/999999", headers=headers)
    assert missing.status_code == 404
