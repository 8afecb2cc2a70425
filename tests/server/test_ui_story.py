"""The demo's whole story followed and steered in the web UI, in a real headless Chromium.

A person new to the platform gets an account, logs in and walks every page over a home the
demo ran in: the overview, the dataset and its drifted version, the training pipeline's DAG,
the model with its lineage, the deployment with its live charts, the scheduler, the AI system's
control matrix. They approve a version, are refused an action their role does not allow, and a
compliance officer attests a control, generates the Annex IV and downloads it; the audit log
shows all of it. Screenshots of every page go to ``tests-artifacts/ui/story-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from iml4e.server import create_platform_app
from iml4e.server.users import add_user
from iml4e.store import open_store
from tests.server.conftest import DEMO_PASSWORD, DemoPlatform, copy_of_demo_home
from tests.server.helpers import serving_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "tests-artifacts" / "ui"
NEWCOMER = "maria"
MODEL = "credit-default"
SYSTEM = "credit-scoring"


@pytest.fixture(scope="module")
def base_url(
    demo_platform: DemoPlatform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = copy_of_demo_home(demo_platform, tmp_path_factory)
    with open_store(settings) as store:
        add_user(store, NEWCOMER, role="approver", password=DEMO_PASSWORD, actor="admin-user")
    with serving_in_thread(create_platform_app(settings), "story-uvicorn") as url:
        yield url


ACCESSIBILITY_PROBLEMS = """() => {
  const problems = [];
  if (!document.documentElement.lang) problems.push("no lang on <html>");
  if (document.querySelectorAll("h1").length !== 1) problems.push("not exactly one <h1>");
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden") continue;
    const named = field.labels.length > 0 || field.getAttribute("aria-label");
    if (!named) problems.push(`unlabelled ${field.tagName} ${field.name}`);
  }
  for (const button of document.querySelectorAll("button")) {
    if (!button.textContent.trim() && !button.getAttribute("aria-label"))
      problems.push("a button without text");
  }
  for (const chart of document.querySelectorAll("svg[role=img]")) {
    const named = chart.getAttribute("aria-label") || chart.getAttribute("aria-labelledby")
      || chart.querySelector(":scope > title");
    if (!named) problems.push("an SVG image without a name");
  }
  for (const image of document.querySelectorAll("img")) {
    if (!image.hasAttribute("alt")) problems.push(`img without alt: ${image.src}`);
  }
  for (const link of document.querySelectorAll("a[href]")) {
    if (!link.textContent.trim() && !link.getAttribute("aria-label")
        && !link.querySelector("title"))
      problems.push(`a link without text: ${link.getAttribute("href")}`);
  }
  return problems;
}"""
"""Basics a screen-reader or keyboard user needs on every page, checked in the browser."""


class Walk:
    """One browser page and the base URL; screenshots numbered in the order taken."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page, self.base_url, self.shots = page, base_url, 0

    def shot(self, name: str) -> None:
        """Check the page's accessibility basics, then keep a screenshot of it."""
        problems = self.page.evaluate(ACCESSIBILITY_PROBLEMS)
        assert problems == [], f"{self.page.url}: {problems}"
        self.shots += 1
        path = ARTIFACTS / f"story-{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def log_in(self, name: str) -> None:
        self.page.goto(f"{self.base_url}/ui/login")
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(f"{self.base_url}/ui/")

    def log_in_by_keyboard(self, name: str) -> None:
        """Log in with the keyboard alone: type, Tab to the password, Enter."""
        self.page.goto(f"{self.base_url}/ui/login")
        self.page.get_by_label("Name").focus()
        self.page.keyboard.type(name)
        self.page.keyboard.press("Tab")
        assert self.page.evaluate("document.activeElement.name") == "password"
        self.page.keyboard.type(DEMO_PASSWORD)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(f"{self.base_url}/ui/")

    def log_out(self) -> None:
        self.page.get_by_role("button", name="Log out").click()
        self.page.wait_for_url(f"{self.base_url}/ui/login")

    def nav(self, label: str, url_glob: str) -> None:
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
        self.page.wait_for_url(f"{self.base_url}{url_glob}")


def _browser_page(driver: Any) -> tuple[Any, Any]:
    browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    return browser, context.new_page()


def test_a_newcomer_follows_and_steers_the_demo_story(base_url: str) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make system-packages`"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as missing:  # a failure, never a skip
        raise AssertionError("playwright is missing: pip install -e '.[dev]'") from missing

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser, page = _browser_page(driver)
        try:
            walk = Walk(page, base_url)
            _newcomer_walks_and_approves(walk)
            _officer_attests_and_downloads_the_annex_iv(walk)
        finally:
            browser.close()
    assert walk.shots >= 12


def _newcomer_walks_and_approves(walk: Walk) -> None:
    page, base = walk.page, walk.base_url
    walk.log_in_by_keyboard(NEWCOMER)
    assert page.locator(".user-name").inner_text() == NEWCOMER
    overview = page.locator("main").inner_text()
    assert SYSTEM in overview and MODEL in overview
    walk.shot("overview")

    # collect and analyze: the dataset, its profile charts, the drifted version compared
    walk.nav("Datasets", "/ui/datasets*")
    page.get_by_role("link", name="credit-applications").first.click()
    page.wait_for_url(f"{base}/ui/datasets/credit-applications*")
    assert page.locator("svg[role=img]").count() >= 5
    walk.shot("dataset")
    page.locator("#compare").select_option(index=0)
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url("**compare=*")
    assert page.locator("#comparison").count() == 1
    walk.shot("dataset-compare")

    # process and train: the pipeline run's DAG, every step succeeded or came from the cache
    walk.nav("Pipelines", "/ui/pipelines*")
    page.locator("#runs tbody tr a").first.click()
    page.wait_for_url(f"{base}/ui/pipelines/*")
    nodes = page.locator("svg .node")
    assert nodes.count() >= 3
    walk.shot("pipeline-run")

    # register: the model's versions, its lineage, and an approval by this approver
    walk.nav("Models", "/ui/models*")
    page.get_by_role("link", name=MODEL).first.click()
    page.wait_for_url(f"{base}/ui/models/{MODEL}")
    assert page.locator("#versions tbody tr").count() >= 3
    walk.shot("model")
    page.locator("#approve-version").select_option("2")
    page.locator("#approve-note").fill("reviewed the evaluation and the data profile")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{base}/ui/models/{MODEL}*")
    assert NEWCOMER in page.locator("#versions").inner_text()
    walk.shot("model-approved")
    page.goto(f"{base}/ui/models/{MODEL}/versions/3")
    lineage = page.locator("main svg").first.inner_html()
    assert "credit-applications" in lineage and "train" in lineage
    walk.shot("model-lineage")

    # deploy and monitor: the deployment's page with its charts
    walk.nav("Deployments", "/ui/deployments*")
    page.get_by_role("link", name=MODEL).first.click()
    page.wait_for_url(f"{base}/ui/deployments/{MODEL}")
    walk.shot("deployment")
    walk.nav("Scheduler", "/ui/scheduler")
    walk.shot("scheduler")

    # compliance: the matrix; attesting is not an approver's job, and the page says so
    walk.nav("Compliance", "/ui/compliance*")
    page.get_by_role("link", name=SYSTEM).first.click()
    page.wait_for_url(f"{base}/ui/compliance/{SYSTEM}*")
    assert page.locator(".result-row").count() == 37
    walk.shot("compliance")
    pending = page.locator("details.attest-form").first
    pending.locator("summary").click()
    pending.locator("textarea").fill("I may not sign this")
    pending.get_by_role("button").click()
    refusal = page.get_by_role("alert").inner_text()
    assert refusal.startswith("Not allowed: role approver may not compliance.attest")
    walk.shot("attest-refused")
    page.goto(f"{base}/ui/")
    walk.log_out()


def _officer_attests_and_downloads_the_annex_iv(walk: Walk) -> None:
    page, base = walk.page, walk.base_url
    walk.log_in("compliance_officer-user")
    page.goto(f"{base}/ui/compliance/{SYSTEM}?result=needs_attestation")
    row = page.locator(".result-row").first
    control = (row.get_attribute("id") or "").removeprefix("control-")
    row.locator("details.attest-form summary").click()
    row.locator("textarea").fill("The risk register was reviewed with the credit team.")
    row.get_by_role("button", name=f"Attest {control}").click()
    page.wait_for_url(f"{base}/ui/compliance/{SYSTEM}*")
    page.goto(f"{base}/ui/compliance/{SYSTEM}")
    attested = page.locator(f"#control-{control}")
    assert "result-pass" in (attested.get_attribute("class") or "")
    assert "compliance_officer-user" in page.locator("main").inner_text()
    walk.shot("attested")

    page.get_by_label("Kind").select_option("annex-iv")
    page.get_by_label("Format").select_option("html")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(f"{base}/ui/compliance/{SYSTEM}*")
    newest = page.locator("section[aria-labelledby=documents] tbody tr").first
    assert "compliance_officer-user" in newest.inner_text()
    with page.expect_download() as download_info:
        newest.locator("a.download").click()
    downloaded = Path(download_info.value.path())
    assert "Annex IV" in downloaded.read_text(encoding="utf-8")
    walk.shot("documents")

    # the audit log holds the approval, the refusal and the attestation, and verifies
    walk.nav("Audit log", "/ui/audit*")
    assert "Chain verified" in page.get_by_role("status").inner_text()
    page.get_by_label("Actor").fill(NEWCOMER)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"{base}/ui/audit?*")
    rows = page.locator("tbody tr").all_inner_texts()
    assert any("registry.approve" in row for row in rows)
    assert any("compliance.attest" in row and "denied" in row for row in rows)
    walk.shot("audit")
