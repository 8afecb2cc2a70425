"""Operations over REST: a developer creates and stops a real model server, a viewer may not;
the split needs a canary; the scheduler is read, paused and resumed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.config import Settings
from iml4e.monitoring.scheduler import MonitorScheduler
from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.tokens import create_token
from iml4e.server.users import add_user
from iml4e.serving.deployments import get_deployment, list_deployments
from iml4e.serving.process import process_running
from iml4e.store import Store, open_store
from tests.server.helpers import answers, auth_on_settings
from tests.serving.conftest import MODEL_NAME, register_tiny_version

PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: TestClient
    store: Store
    settings: Settings
    tokens: dict[str, str]

    def as_role(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("ops-api")
    settings = auth_on_settings(folder)
    initialize(settings)
    register_tiny_version(settings, "logistic_regression", "champion")
    store = open_store(settings)
    tokens = {}
    for role in ("viewer", "developer"):
        add_user(store, f"{role}-user", role=role, password=PASSWORD, actor="setup")
        tokens[role] = create_token(store, f"{role}-user", name="tests", actor="setup").token
    with TestClient(create_platform_app(settings)) as client:
        yield Api(client, store, settings, tokens)
    store.close()


def test_a_developer_creates_and_stops_a_deployment_a_viewer_may_not(api: Api) -> None:
    body = {"name": "ops-api", "model": f"{MODEL_NAME}@champion"}
    refused = api.client.post("/api/deployments", json=body, headers=api.as_role("viewer"))
    assert refused.status_code == 403
    assert "ops-api" not in {d.name for d in list_deployments(api.store)}

    created = api.client.post("/api/deployments", json=body, headers=api.as_role("developer"))
    assert created.status_code == 200, created.text
    info = created.json()
    try:
        assert info["name"] == "ops-api" and info["state"] in ("starting", "serving")
        assert info["pid"] and process_running(info["pid"])
        assert answers(f"{info['url']}/health", json_check={"deployment": "ops-api"})
        made = list_audit(api.store, actor="developer-user", action="deployment.create")
        assert made and made[0].target == "deployment:ops-api"

        split = api.client.post(
            "/api/deployments/ops-api/split", json={"split": 0.3}, headers=api.as_role("developer")
        )
        assert split.status_code == 400 and "challenger" in split.json()["error"]
        viewer_stop = api.client.post(
            "/api/deployments/ops-api/stop", headers=api.as_role("viewer")
        )
        assert viewer_stop.status_code == 403 and process_running(info["pid"])
    finally:
        stopped = api.client.post("/api/deployments/ops-api/stop", headers=api.as_role("developer"))
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    assert not process_running(info["pid"])
    assert get_deployment(api.store, "ops-api").state == "stopped"


def test_a_bad_create_is_refused_before_anything_starts(api: Api) -> None:
    headers = api.as_role("developer")
    bad_name = api.client.post(
        "/api/deployments",
        json={"name": "../x", "model": f"{MODEL_NAME}@champion"},
        headers=headers,
    )
    assert bad_name.status_code == 400 and "deployment name" in bad_name.json()["where"]
    unknown = api.client.post(
        "/api/deployments",
        json={"name": "nothing", "model": "no-such-model@champion"},
        headers=headers,
    )
    assert unknown.status_code in (400, 404)
    lonely_split = api.client.post(
        "/api/deployments",
        json={"name": "lonely", "model": f"{MODEL_NAME}@champion", "split": 0.5},
        headers=headers,
    )
    assert lonely_split.status_code == 400 and lonely_split.json()["where"] == "--split"
    assert {"nothing", "lonely"}.isdisjoint(d.name for d in list_deployments(api.store))


def test_the_scheduler_is_read_paused_and_resumed(api: Api) -> None:
    absent = api.client.get("/api/scheduler", headers=api.as_role("viewer"))
    assert absent.status_code == 409 and "iml4e up" in absent.json()["error"]
    scheduler = MonitorScheduler(api.settings, interval_s=120, window="1h")
    app = api.client.app
    app.state.scheduler = scheduler  # type: ignore[attr-defined]
    try:
        status = api.client.get("/api/scheduler", headers=api.as_role("viewer")).json()
        assert status == {
            "interval_s": 120,
            "window": "1h",
            "paused": False,
            "runs": 0,
            "last": {},
            "compliance": None,
            "check_s": 30.0,
            "pipeline_runs": {},
        }
        denied = api.client.post("/api/scheduler/pause", headers=api.as_role("viewer"))
        assert denied.status_code == 403 and not scheduler.status().paused
        paused = api.client.post("/api/scheduler/pause", headers=api.as_role("developer"))
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert scheduler.status().paused
        resumed = api.client.post("/api/scheduler/resume", headers=api.as_role("developer"))
        assert resumed.json()["paused"] is False and not scheduler.status().paused
        actions = [e.action for e in list_audit(api.store, actor="developer-user")]
        assert "scheduler.pause" in actions and "scheduler.resume" in actions
    finally:
        app.state.scheduler = None  # type: ignore[attr-defined]
