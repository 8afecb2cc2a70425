"""The web UI in a real headless Chromium against a real uvicorn server: a viewer is refused
the pause button, an admin pauses, and the audit page shows the refusal.

It drives the system Chromium (``/usr/bin/chromium``, installed by ``make system-packages``)
through playwright; it never downloads a browser and fails, not skips, without one. Screenshots
of every page go to ``tests-artifacts/ui/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iml4e.platform import initialize
from iml4e.server import create_platform_app
from iml4e.server.users import add_user
from iml4e.serving.deployments import record_deployment
from iml4e.store import open_store
from tests.server.helpers import auth_on_settings, serving_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests-artifacts" / "ui"
PASSWORD = "correct horse battery"
DEPLOYMENT = "credit-default"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("ui-browser")
    settings = auth_on_settings(folder)
    initialize(settings)
    with open_store(settings) as store:
        add_user(store, "admin", role="admin", password=PASSWORD, actor="setup")
        add_user(store, "viewer", role="viewer", password=PASSWORD, actor="setup")
        record_deployment(
            store, DEPLOYMENT, model_name="credit-default", model_version="3", url=None, actor="ci"
        )
    with serving_in_thread(create_platform_app(settings), "ui-uvicorn") as url:
        yield url


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _log_in(page: Any, base_url: str, name: str) -> None:
    page.goto(f"{base_url}/ui/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/ui/")


def test_a_viewer_is_refused_and_an_admin_pauses(base_url: str) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make system-packages`"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as missing:  # a failure, never a skip
        raise AssertionError("playwright is missing: pip install -e '.[dev]'") from missing

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base_url}/ui/")
            assert page.url == f"{base_url}/ui/login"
            _shot(page, "01-login")

            _log_in(page, base_url, "viewer")
            assert page.title() == "Overview · iml4e"
            assert page.locator(".user-name").inner_text() == "viewer"
            assert page.get_by_role("link", name="MLflow UI").get_attribute("href") == "/mlflow/"
            _shot(page, "02-overview-viewer")

            answer = page.goto(f"{base_url}/ui/audit")
            assert answer is not None and answer.status == 403
            assert "role viewer may not audit.read" in page.get_by_role("alert").inner_text()
            _shot(page, "03-audit-refused-viewer")

            page.goto(f"{base_url}/ui/")
            page.get_by_role("link", name=DEPLOYMENT).click()
            page.wait_for_url(f"{base_url}/ui/deployments/{DEPLOYMENT}")
            assert page.locator("#state").inner_text() == "serving"
            _shot(page, "04-deployment-viewer")

            page.get_by_label("Reason").fill("viewer tries")
            page.get_by_role("button", name="Pause").click()
            refusal = page.get_by_role("alert").inner_text()
            assert refusal.startswith("Not allowed: role viewer may not deployment.pause")
            assert "(allowed: developer, approver, compliance_officer, admin)" in refusal
            _shot(page, "05-pause-refused-viewer")

            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{base_url}/ui/login")

            _log_in(page, base_url, "admin")
            page.goto(f"{base_url}/ui/deployments/{DEPLOYMENT}")
            page.get_by_label("Reason").fill("drift on income")
            page.get_by_role("button", name="Pause").click()
            page.wait_for_url(f"{base_url}/ui/deployments/{DEPLOYMENT}")
            assert page.locator("#state").inner_text() == "paused"
            assert page.get_by_role("button", name="Pause").count() == 0
            _shot(page, "06-deployment-paused-admin")

            page.goto(f"{base_url}/ui/audit")
            assert "Chain verified" in page.get_by_role("status").inner_text()
            page.get_by_label("Actor").fill("viewer")
            page.get_by_label("Outcome").select_option("denied")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_url(f"{base_url}/ui/audit?*")
            rows = page.locator("tbody tr").all_inner_texts()
            refused = [row for row in rows if "deployment.pause" in row]
            assert refused and "denied" in refused[0]
            assert f"/ui/deployments/{DEPLOYMENT}/pause" in refused[0]
            _shot(page, "07-audit-admin")
        finally:
            browser.close()
    assert len(list(ARTIFACTS.glob("*.png"))) >= 7
