"""Pipeline schedules on the scheduler page and in the REST API: listed with their last run,
paused and resumed by the roles the permission table allows, with CSRF, audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.config import Settings
from iml4e.monitoring.scheduler import MonitorScheduler
from iml4e.pipelines.schedules import add_schedule, get_schedule, record_schedule_run
from iml4e.server import create_platform_app
from iml4e.server.tokens import create_token
from iml4e.server.ui_operations_data import scheduler_page
from iml4e.server.users import add_user
from iml4e.store import Store, open_store
from tests.server.conftest import DEMO_PASSWORD
from tests.server.helpers import auth_on_settings
from tests.server.test_ui_operations import login

SAMPLE = "tests.pipelines.sample_pipelines"
RUN_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class Home:
    client: TestClient
    store: Store
    settings: Settings
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    folder = tmp_path_factory.mktemp("schedules-ui")
    settings = auth_on_settings(folder)
    store = open_store(settings)
    tokens = {}
    for role in ("viewer", "developer"):
        add_user(store, f"{role}-user", role=role, password=DEMO_PASSWORD, actor="setup")
        tokens[role] = create_token(store, f"{role}-user", name="tests", actor="setup").token
    add_schedule(
        store, "nightly", f"{SAMPLE}:branching", params={"rows": "8"}, every="1d", actor="setup"
    )
    record_schedule_run(
        store, "nightly", run_id=RUN_ID, status="succeeded", now=datetime(2026, 11, 27, 3)
    )
    add_schedule(store, "hourly", f"{SAMPLE}:failing", every="1h", actor="setup")
    record_schedule_run(
        store, "hourly", run_id=None, status="failed", error="<script>alert(1)</script>"
    )
    with TestClient(create_platform_app(settings)) as client:
        yield Home(client, store, settings, tokens)
    store.close()


def test_the_page_lists_the_schedules_with_or_without_a_scheduler(home: Home) -> None:
    rows = scheduler_page(None, home.store)["schedules"]
    assert [(s.name, s.every, s.last_status) for s in rows] == [
        ("hourly", "1h", "failed"),
        ("nightly", "1d", "succeeded"),
    ]
    login(home.client, "viewer-user")
    page = home.client.get("/ui/scheduler").text
    assert 'id="no-scheduler"' in page and 'id="schedule-nightly"' in page
    assert f'href="/ui/pipelines/{RUN_ID}">2026-11-27T03:00:00</a>' in page
    assert f"<code>{SAMPLE}:branching</code>" in page and "rows=8" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'action="/ui/scheduler/schedules/nightly/pause"' in page

    scheduler = MonitorScheduler(home.settings, interval_s=600, window="30m")
    home.client.app.state.scheduler = scheduler  # type: ignore[attr-defined]
    try:
        page = home.client.get("/ui/scheduler").text
        assert ">running<" in page and 'id="schedule-hourly"' in page
    finally:
        home.client.app.state.scheduler = None  # type: ignore[attr-defined]


def test_the_pause_form_checks_role_and_csrf(home: Home) -> None:
    viewer_csrf = login(home.client, "viewer-user")
    denied = home.client.post(
        "/ui/scheduler/schedules/nightly/pause", data={"csrf_token": viewer_csrf}
    )
    assert denied.status_code == 403 and not get_schedule(home.store, "nightly").paused

    csrf = login(home.client, "developer-user")
    refused = home.client.post("/ui/scheduler/schedules/nightly/pause", data={})
    assert refused.status_code == 403 and not get_schedule(home.store, "nightly").paused
    paused = home.client.post(
        "/ui/scheduler/schedules/nightly/pause",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert paused.status_code == 303 and paused.headers["location"] == "/ui/scheduler#schedules"
    assert get_schedule(home.store, "nightly").paused
    page = home.client.get("/ui/scheduler").text
    assert 'action="/ui/scheduler/schedules/nightly/resume"' in page
    unknown = home.client.post("/ui/scheduler/schedules/absent/pause", data={"csrf_token": csrf})
    assert unknown.status_code == 404
    home.client.post("/ui/scheduler/schedules/nightly/resume", data={"csrf_token": csrf})
    assert not get_schedule(home.store, "nightly").paused
    actions = [e.action for e in list_audit(home.store, actor="developer-user")]
    assert "pipeline.schedule_pause" in actions and "pipeline.schedule_resume" in actions


def test_the_rest_api_lists_pauses_and_resumes(home: Home) -> None:
    home.client.cookies.clear()

    def bearer(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {home.tokens[role]}"}

    listed = home.client.get("/api/schedules", headers=bearer("viewer"))
    assert listed.status_code == 200
    by_name = {s["name"]: s for s in listed.json()}
    assert by_name["nightly"]["last_run_id"] == RUN_ID and by_name["hourly"]["every"] == "1h"

    denied = home.client.post("/api/schedules/hourly/pause", headers=bearer("viewer"))
    assert denied.status_code == 403 and not get_schedule(home.store, "hourly").paused
    paused = home.client.post("/api/schedules/hourly/pause", headers=bearer("developer"))
    assert paused.status_code == 200 and paused.json()["paused"] is True
    resumed = home.client.post("/api/schedules/hourly/resume", headers=bearer("developer"))
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    missing = home.client.post("/api/schedules/absent/pause", headers=bearer("developer"))
    assert missing.status_code == 404 and missing.json()["where"] == "absent"
    targets = [e.target for e in list_audit(home.store, action="pipeline.schedule_pause")]
    assert "schedule:hourly" in targets
