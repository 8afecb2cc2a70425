"""Request bodies over ``server_max_body_bytes`` are refused with a 413 naming the limit, by
declared length and by counting a streamed body, and nothing is changed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.config import load_settings
from iml4e.server import create_platform_app
from iml4e.server.body_limit import limit_text
from iml4e.server.tokens import create_token
from iml4e.server.users import add_user
from iml4e.serving.deployments import get_deployment, record_deployment
from iml4e.store import Store, open_store
from tests.server.helpers import free_port

LIMIT = 2048
PASSWORD = "correct horse battery"


@dataclass
class Limited:
    client: TestClient
    store: Store
    token: str


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Limited]:
    folder = tmp_path_factory.mktemp("body-limit")
    settings = load_settings(
        {
            "home": str(folder / "home"),
            "server_auth": "on",
            "mlflow_port": free_port(),
            "server_max_body_bytes": LIMIT,
        },
        environ={},
        cwd=folder,
    ).settings
    store = open_store(settings)  # the platform's tables; MLflow's are not needed here
    add_user(store, "ops-user", role="developer", password=PASSWORD, actor="setup")
    token = create_token(store, "ops-user", name="tests", actor="setup").token
    record_deployment(store, "limited", model_name="m", model_version="1", url=None, actor="setup")
    with TestClient(create_platform_app(settings)) as client:
        yield Limited(client, store, token)
    store.close()


def test_the_limit_reads_well() -> None:
    assert limit_text(1_048_576) == "1048576 bytes (1 MiB)"
    assert limit_text(2048) == "2048 bytes (2 KiB)"
    assert limit_text(100) == "100 bytes"


def test_a_declared_body_over_the_limit_is_413_and_changes_nothing(limited: Limited) -> None:
    headers = {"Authorization": f"Bearer {limited.token}"}
    answer = limited.client.post(
        "/api/deployments/limited/pause", json={"reason": "x" * (LIMIT + 10)}, headers=headers
    )
    assert answer.status_code == 413
    assert answer.json() == {
        "error": "the request body is larger than the limit of 2048 bytes (2 KiB)",
        "where": "server_max_body_bytes",
    }
    assert get_deployment(limited.store, "limited").state == "serving"
    assert not list_audit(limited.store, action="deployment.pause")


def test_a_streamed_body_is_counted(limited: Limited) -> None:
    headers = {"Authorization": f"Bearer {limited.token}", "Content-Type": "application/json"}
    chunks = [b'{"reason": "', *([b"y" * 512] * 8), b'"}']
    answer = limited.client.post(
        "/api/deployments/limited/pause", content=iter(chunks), headers=headers
    )
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.status_code == 413 and "2048 bytes" in answer.json()["error"]
    assert get_deployment(limited.store, "limited").state == "serving"


def test_a_large_form_gets_an_html_page_and_a_normal_form_passes(limited: Limited) -> None:
    client = limited.client
    client.cookies.clear()
    logged = client.post(
        "/ui/login", data={"name": "ops-user", "password": PASSWORD}, follow_redirects=False
    )
    assert logged.status_code == 303
    page = client.get("/ui/deployments/limited").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    huge = client.post(
        "/ui/deployments/limited/pause",
        data={"reason": "z" * (LIMIT * 2), "csrf_token": csrf[1]},
    )
    assert huge.status_code == 413 and "text/html" in huge.headers["content-type"]
    assert "Request too large" in huge.text and "server_max_body_bytes" in huge.text
    assert get_deployment(limited.store, "limited").state == "serving"
    small = client.post(
        "/ui/deployments/limited/pause",
        data={"reason": "a drill", "csrf_token": csrf[1]},
        follow_redirects=False,
    )
    assert small.status_code == 303
    assert get_deployment(limited.store, "limited").state == "paused"
