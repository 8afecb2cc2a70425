"""A platform home holding the demo's whole story, shared by the server's page and API tests.

The demo runs once per test session (3,000 rows, 60 requests per phase): a dataset and its
drifted version, pipeline runs with cache hits, three model versions with approvals and alias
moves, a deployment with its inference log, monitor reports and alerts, an AI system with its
assessment and documents. One user per role is added; every test reads it, so tests that change
something use their own names or their own home.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from iml4e.config import Settings
from iml4e.scenarios.demo import DemoOptions, DemoSummary, run_demo
from iml4e.server.permissions import ROLES
from iml4e.server.users import add_user
from iml4e.store import open_store
from tests.server.helpers import auth_on_settings

DEMO_PASSWORD = "correct horse battery"
"""The password of every user of :func:`demo_platform` (``<role>-user``)."""


@dataclass(frozen=True)
class DemoPlatform:
    """Settings of a home the demo ran in (auth on) and what the demo did."""

    settings: Settings
    summary: DemoSummary


@pytest.fixture(scope="session")
def demo_platform(tmp_path_factory: pytest.TempPathFactory) -> DemoPlatform:
    """The demo's story in a fresh home, auth on, and ``<role>-user`` for every role.

    The settings' user, who runs the demo, is an approver with the same password."""
    folder = tmp_path_factory.mktemp("demo-platform")
    settings = auth_on_settings(folder)
    with open_store(settings) as store:
        # the demo's own actor pauses and overrides through the model server's guarded routes
        add_user(store, settings.user, role="approver", password=DEMO_PASSWORD, actor="setup")
        for role in ROLES:
            add_user(store, f"{role}-user", role=role, password=DEMO_PASSWORD, actor="setup")
    summary = run_demo(settings, DemoOptions(rows=3000, requests=60))
    return DemoPlatform(settings, summary)


def copy_of_demo_home(demo: DemoPlatform, folder: pytest.TempPathFactory) -> Settings:
    """Settings of a copy of the demo's home (same users, models, assessment, deployment), for
    tests whose forms change things. MLflow's artifacts stay where the demo wrote them."""
    target = folder.mktemp("demo-copy")
    shutil.copytree(demo.settings.home, target / "home")
    return auth_on_settings(target)


def ui_login(client: TestClient, name: str, password: str = DEMO_PASSWORD) -> str:
    """Log ``client`` in through the login form; returns the CSRF token of the pages' forms."""
    client.cookies.clear()
    answer = client.post(
        "/ui/login", data={"name": name, "password": password}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/").text)
    assert found, "no CSRF field on the overview"
    return found.group(1)
