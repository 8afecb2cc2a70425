"""The REST API's OpenAPI surface fuzzed with schemathesis: whatever the input, no 5xx.

Cases are generated from ``/openapi.json`` for every ``/api`` operation, sent in-process with
an admin token (so requests reach the rooms' code, not only the permission check), a bounded
number per operation and derandomized so a run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from iml4e.config import load_settings
from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.tokens import create_token
from iml4e.server.users import add_user
from iml4e.store import open_store
from tests.server.helpers import auth_on_settings

EXAMPLES_PER_OPERATION = 15


# The schema is read at collection from an app that is never started; the cases are sent to
# the app the fixture below runs on a real store.
_DESCRIBED = create_platform_app(
    load_settings({"home": "/nonexistent-iml4e-home"}, environ={}).settings
)
schema = schemathesis.openapi.from_dict(_DESCRIBED.openapi()).include(path_regex="^/api/")


@dataclass(frozen=True)
class Running:
    client: TestClient
    token: str


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("fuzz")
    platform = auth_on_settings(folder)
    initialize(platform)
    store = open_store(platform)
    add_user(store, "fuzzer", role="admin", password="a long enough password", actor="setup")
    token = create_token(store, "fuzzer", name="fuzz", actor="setup").token
    with TestClient(create_platform_app(platform)) as client:
        yield Running(client, token)
    store.close()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_fail_with_a_server_error(
    case: schemathesis.Case, running: Running
) -> None:
    sent = case.as_transport_kwargs(
        base_url="http://testserver", headers={"Authorization": f"Bearer {running.token}"}
    )
    if isinstance(sent.get("data"), bytes | str):  # raw bodies are `content` in httpx
        sent["content"] = sent.pop("data")
    cookies = sent.pop("cookies", None) or {}
    running.client.cookies.clear()
    running.client.cookies.update(cookies)  # per-request cookies are deprecated in httpx
    response = running.client.request(**sent)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
