"""Operations pages: the deployments list and a deployment's live numbers on the demo's home,
the resume, split and scheduler forms (roles, CSRF) on a home of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.monitoring.reports import reports_of
from iml4e.monitoring.scheduler import MonitorScheduler
from iml4e.server import create_platform_app
from iml4e.server.ui_operations_data import deployments_page, scheduler_page
from iml4e.server.users import add_user
from iml4e.serving.deployments import (
    get_deployment,
    record_deployment,
    record_deployment_start,
    set_deployment_state,
)
from iml4e.serving.inference_log import read_inference_log
from iml4e.serving.operator import pause_deployment
from iml4e.store import Store, open_store
from tests.server.conftest import DEMO_PASSWORD, DemoPlatform
from tests.server.helpers import auth_on_settings, free_port

DEPLOYMENT = "credit-default"


def login(client: TestClient, user: str, password: str = DEMO_PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the pages' forms."""
    client.cookies.clear()
    answer = client.post(
        "/ui/login", data={"name": user, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/").text)
    assert found
    return found[1]


# --- the demo's deployment ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_platform: DemoPlatform) -> Iterator[tuple[TestClient, Store]]:
    with (
        open_store(demo_platform.settings) as store,
        TestClient(create_platform_app(demo_platform.settings)) as client,
    ):
        yield client, store


def test_the_list_counts_the_requests_of_the_last_hour(
    demo: tuple[TestClient, Store],
) -> None:
    client, store = demo
    until = datetime.now(UTC).replace(tzinfo=None)
    logged = read_inference_log(store, DEPLOYMENT, since=until - timedelta(hours=1), until=until)
    assert logged
    rows = {row.name: row for row in deployments_page(store, until=until)["deployments"]}
    assert rows[DEPLOYMENT].requests_last_hour == len(logged)
    assert rows[DEPLOYMENT].model_name == "credit-default"

    login(client, "viewer-user")
    page = client.get("/ui/deployments")
    assert page.status_code == 200
    assert f'href="/ui/deployments/{DEPLOYMENT}"' in page.text
    assert f'<td class="num requests">{len(logged)}</td>' in page.text
    assert '<th scope="col">Firing alerts</th>' in page.text
    assert 'href="/static/operations.css"' in page.text


def test_the_stats_buckets_add_up_to_the_logged_requests(demo: tuple[TestClient, Store]) -> None:
    client, store = demo
    login(client, "viewer-user")  # the browser's session cookie is enough for a GET
    answer = client.get(f"/api/deployments/{DEPLOYMENT}/stats", params={"buckets": 12})
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    since, until = datetime.fromisoformat(stats["since"]), datetime.fromisoformat(stats["until"])
    assert until - since == timedelta(hours=1) and stats["window"] == "1h"
    logged = read_inference_log(store, DEPLOYMENT, since=since, until=until)
    counts = [bucket["count"] for bucket in stats["buckets"]]
    assert len(counts) == 12 and sum(counts) == stats["total"] == len(logged) > 0
    low, width = since.replace(tzinfo=UTC).timestamp(), 3600 / 12
    expected: list[list[float]] = [[] for _ in range(12)]
    for record in logged:
        expected[min(int((record.timestamp - low) / width), 11)].append(record.latency_ms)
    assert counts == [len(values) for values in expected]
    for bucket, values in zip(stats["buckets"], expected, strict=True):
        if values:
            assert bucket["p95_ms"] == pytest.approx(np.percentile(values, 95), abs=1e-3)
            assert sum(bucket["by_role"].values()) == len(values)
    reports = [r for r in reports_of(store, DEPLOYMENT, limit=500) if since <= r.created_at]
    assert len(stats["drift"]) == len(reports)

    refused = client.get(f"/api/deployments/{DEPLOYMENT}/stats", params={"window": "100 rows"})
    assert refused.status_code == 400 and refused.json()["where"] == "window"
    assert client.get("/api/deployments/nowhere/stats").status_code in (400, 404)


def test_the_deployment_page_has_live_charts_and_their_numbers(
    demo: tuple[TestClient, Store],
) -> None:
    client, _store = demo
    login(client, "viewer-user")
    page = client.get(f"/ui/deployments/{DEPLOYMENT}")
    assert page.status_code == 200
    text = page.text
    assert f'data-stats-url="/api/deployments/{DEPLOYMENT}/stats?window=1h&amp;buckets=30"' in text
    assert '<script src="/static/live.js" defer></script>' in text
    assert 'data-chart="latency"' in text and 'data-chart="drift"' in text
    assert "Buckets with requests (UTC)" in text and "champion:" in text
    script = client.get("/static/live.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "credentials" in script.text and "aria-label" in script.text


# --- forms on a home of their own -----------------------------------------------------------


@dataclass
class Ops:
    client: TestClient
    store: Store
    settings: object


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    folder = tmp_path_factory.mktemp("ops-ui")
    settings = auth_on_settings(folder)
    store = open_store(settings)
    for role in ("viewer", "developer"):
        add_user(store, f"{role}-user", role=role, password=DEMO_PASSWORD, actor="setup")
    record_deployment(store, "held", model_name="m", model_version="2", url=None, actor="setup")
    pause_deployment(store, "held", actor="setup", reason="odd scores")
    record_deployment_start(
        store,
        "canary",
        model_name="m",
        model_version="2",
        host="127.0.0.1",
        port=free_port(),
        url="http://127.0.0.1:1",
        log_path=str(folder / "canary.log"),
        spec={
            "model_uri": "models:/m@champion",
            "challenger_uri": "models:/m@challenger",
            "split": 0.2,
            "workers": 1,
        },
        actor="setup",
    )
    set_deployment_state(store, "canary", "serving", actor="setup")
    with TestClient(create_platform_app(settings)) as client:
        yield Ops(client, store, settings)
    store.close()


def test_a_paused_deployment_is_resumed_by_an_operator_with_the_form(ops: Ops) -> None:
    csrf = login(ops.client, "viewer-user")
    page = ops.client.get("/ui/deployments/held").text
    assert 'action="/ui/deployments/held/resume"' in page and "/pause" not in page
    assert 'action="/ui/deployments/held/split"' not in page  # no canary, no split form
    refused = ops.client.post("/ui/deployments/held/resume", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "may not deployment.pause" in refused.text

    csrf = login(ops.client, "developer-user")
    forged = ops.client.post("/ui/deployments/held/resume", data={"csrf_token": "x" + csrf})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert get_deployment(ops.store, "held").state == "paused"
    done = ops.client.post(
        "/ui/deployments/held/resume",
        data={"csrf_token": csrf, "reason": "checked"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/ui/deployments/held"
    assert get_deployment(ops.store, "held").state == "serving"
    assert list_audit(ops.store, actor="developer-user", action="deployment.resume")
    page = ops.client.get("/ui/deployments/held").text
    assert 'action="/ui/deployments/held/pause"' in page and "/resume" not in page


def test_a_canary_shows_its_split_form_which_a_viewer_may_not_use(ops: Ops) -> None:
    csrf = login(ops.client, "viewer-user")
    page = ops.client.get("/ui/deployments/canary").text
    assert 'action="/ui/deployments/canary/split"' in page
    assert '<label for="split-percent">' in page and 'value="20"' in page
    refused = ops.client.post(
        "/ui/deployments/canary/split", data={"csrf_token": csrf, "split": "30"}
    )
    assert refused.status_code == 403 and "may not deployment.create" in refused.text
    csrf = login(ops.client, "developer-user")
    for share, problem in (("150", "strictly between 0 and 1"), ("lots", "percentage")):
        bad = ops.client.post(
            "/ui/deployments/canary/split", data={"csrf_token": csrf, "split": share}
        )
        assert bad.status_code == 400 and problem in bad.text, bad.text
    assert get_deployment(ops.store, "canary").spec["split"] == 0.2
    assert get_deployment(ops.store, "canary").state == "serving"


def test_names_on_the_deployments_list_are_escaped(ops: Ops) -> None:
    evil = "<script>alert(3)</script>"
    record_deployment(
        ops.store, "evil-name", model_name=evil, model_version="1", url=evil, actor="x"
    )
    login(ops.client, "viewer-user")
    page = ops.client.get("/ui/deployments")
    assert page.status_code == 200 and "<script>" not in page.text
    assert page.text.count("&lt;script&gt;alert(3)&lt;/script&gt;") == 2


def test_the_scheduler_page_shows_and_pauses_a_real_scheduler(ops: Ops) -> None:
    csrf = login(ops.client, "developer-user")
    page = ops.client.get("/ui/scheduler")
    assert page.status_code == 200 and 'id="no-scheduler"' in page.text
    assert scheduler_page(None)["status"] is None

    scheduler = MonitorScheduler(ops.settings, interval_s=600, window="30m")  # type: ignore[arg-type]
    app = ops.client.app
    app.state.scheduler = scheduler  # type: ignore[attr-defined]
    try:
        page = ops.client.get("/ui/scheduler").text
        assert "600 s" in page and "30m" in page and ">running<" in page
        assert "No round has run yet." in page
        refused = ops.client.post("/ui/scheduler/pause", data={})
        assert refused.status_code == 403 and not scheduler.status().paused
        paused = ops.client.post(
            "/ui/scheduler/pause", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert paused.status_code == 303 and paused.headers["location"] == "/ui/scheduler"
        assert scheduler.status().paused
        page = ops.client.get("/ui/scheduler").text
        assert ">paused<" in page and 'action="/ui/scheduler/resume"' in page
        assert list_audit(ops.store, actor="developer-user", action="scheduler.pause")

        viewer_csrf = login(ops.client, "viewer-user")
        denied = ops.client.post("/ui/scheduler/resume", data={"csrf_token": viewer_csrf})
        assert denied.status_code == 403 and scheduler.status().paused
        csrf = login(ops.client, "developer-user")
        ops.client.post("/ui/scheduler/resume", data={"csrf_token": csrf})
        assert not scheduler.status().paused
    finally:
        app.state.scheduler = None  # type: ignore[attr-defined]


# --- the charts in a real browser -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_url(demo_platform: DemoPlatform) -> Iterator[str]:
    from tests.server.helpers import serving_in_thread

    with serving_in_thread(create_platform_app(demo_platform.settings), "ops-uvicorn") as url:
        yield url


def test_live_js_draws_the_charts_in_chromium(demo_url: str) -> None:
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    chromium = Path("/usr/bin/chromium")
    assert chromium.exists(), f"{chromium} is missing: run `make system-packages`"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(  # a CSP refusal is a console error; failed loads are checked below
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource")
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: (
                    problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico")
                    else None
                ),
            )
            page.goto(f"{demo_url}/ui/login")
            page.get_by_label("Name").fill("viewer-user")
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{demo_url}/ui/")
            page.goto(f"{demo_url}/ui/deployments/{DEPLOYMENT}")
            page.wait_for_selector("svg.line-chart >> nth=2", timeout=15_000)
            charts = page.locator("svg.line-chart[role=img]")
            assert charts.count() == 3
            labels = [charts.nth(i).get_attribute("aria-label") or "" for i in range(3)]
            assert labels[0].startswith("Requests per") and "requests" in labels[0]
            assert labels[1].startswith("Latency") and "p95 up to" in labels[1]
            assert page.locator("svg.line-chart polyline").count() >= 2
            assert "Updated" in page.locator("#live-status").inner_text()
            assert not problems, problems
            artifacts = Path(__file__).resolve().parents[2] / "tests-artifacts" / "ui"
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "ops-deployment.png"), full_page=True)
            page.goto(f"{demo_url}/ui/deployments")
            page.screenshot(path=str(artifacts / "ops-deployments.png"), full_page=True)
        finally:
            browser.close()
