"""The release half of the main job: deploy, canary, promote through the policy, roll back,
then the monitoring loop (:mod:`iml4e.scenarios.monitoring_loop`).

The deployment is a managed background server (``iml4e deploy``) following the aliases
``champion`` and ``challenger`` with a canary split. A second training run (twice the rows, a
new dataset version) registers a challenger; the server picks it up, the canary batch shows
both versions in the inference log, the promotion policy promotes the challenger (thresholds,
must beat the champion, one approval), the server swaps it in without a restart, and a
rollback brings the previous champion back the same way.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from iml4e.config import Settings
from iml4e.errors import CheckFailed
from iml4e.registry import (
    PromotionPolicy,
    PromotionRejected,
    approve,
    current_alias_version,
    promote,
    remove_alias,
    rollback,
    set_alias,
)
from iml4e.registry.policy import default_policy_path, load_policy
from iml4e.scenarios.cases import DemoCase
from iml4e.scenarios.monitoring_loop import LoopSummary, monitor_and_retrain
from iml4e.scenarios.oversight import drill_token, oversight_drill
from iml4e.scenarios.traffic import SentRequest
from iml4e.serving.manager import create_deployment, stop_deployment
from iml4e.store import Store
from iml4e.tracking import connect_tracking

CANARY_SPLIT = 0.25
SWAP_TIMEOUT_S = 120.0
POLICY = """\
# Promotion policy of {model}: what a version needs before `champion` may point at it.
model: {model}
to: champion
thresholds:
  - roc_auc >= 0.75
  - accuracy >= 0.70
must_beat:
  metric: roc_auc
  margin: 0.001
approvals: 1
"""


@dataclass
class ReleaseSummary:
    """What the release half did, as observed from outside the server."""

    deployment: str
    url: str
    pid: int
    champion_version: str
    challenger_version: str
    canary_split: float
    canary_answers: dict[str, int] = field(default_factory=dict)
    promotion: str = ""
    served_after_promotion: str | None = None
    rolled_back_to: str | None = None
    served_after_rollback: str | None = None
    server_restarts: int = 0
    loop: LoopSummary | None = None
    oversight: str = ""


@dataclass(frozen=True)
class Release:
    """The inputs of the release half."""

    settings: Settings
    store: Store
    case: DemoCase
    champion_version: str
    train_challenger: Callable[[], str]
    """Runs the second training; returns the registered version."""
    send: Callable[[str, str], list[SentRequest]]
    """(url, batch name) → the requests sent."""
    on_step: Callable[[str, str], None]
    rows: int = 20_000
    seed: int = 7
    drift: float = 0.8
    """Rows, seed and drift of the newest data the monitoring loop retrains on."""


def deploy_and_release(release: Release) -> tuple[ReleaseSummary, list[SentRequest]]:
    """Deploy the champion, canary a challenger, promote it, roll back; stop the deployment."""
    settings, store, case, on_step = release.settings, release.store, release.case, release.on_step
    client = connect_tracking(settings, store)
    name = case.model_name
    if current_alias_version(client, name, "champion") != release.champion_version:
        set_alias(client, name, "champion", release.champion_version, store=store, actor="demo")
    remove_alias(client, name, "challenger", store=store, actor="demo")
    info = create_deployment(
        settings,
        name,
        model=f"{name}@champion",
        challenger=f"{name}@challenger",
        split=CANARY_SPLIT,
    )
    url = info.url or ""
    pid = info.pid or 0
    on_step("deploy", f"{name} serving version {release.champion_version} at {url} (pid {pid})")
    summary = ReleaseSummary(
        deployment=name,
        url=url,
        pid=pid,
        champion_version=release.champion_version,
        challenger_version="",
        canary_split=CANARY_SPLIT,
    )
    sent: list[SentRequest] = []
    try:
        sent += release.send(url, "reference")
        sent += release.send(url, "drifted")
        on_step("serve", f"sent {len(sent)} requests to version {release.champion_version}")

        challenger = release.train_challenger()
        summary.challenger_version = challenger
        set_alias(client, name, "challenger", challenger, store=store, actor="demo")
        wait_until_served(url, challenger, role="challenger")
        canary = release.send(url, "canary")
        sent += canary
        summary.canary_answers = dict(Counter(r.model_version or "?" for r in canary))
        shares = ", ".join(
            f"v{version}: {count}" for version, count in sorted(summary.canary_answers.items())
        )
        on_step("canary", f"challenger v{challenger} on {CANARY_SPLIT:.0%} of traffic ({shares})")

        policy = _policy(settings, name)
        approve(client, store, name, challenger, actor=settings.user, note="demo review")
        try:
            result = promote(client, store, name, challenger, policy=policy, actor=settings.user)
        except PromotionRejected as exc:
            summary.promotion = f"rejected: {exc.message}"
            remove_alias(client, name, "challenger", store=store, actor=settings.user)
            on_step("promote", summary.promotion)
        else:
            summary.promotion = (
                f"v{challenger} promoted over v{result.previous_version} "
                f"({'; '.join(f'{c.name}: {c.detail}' for c in result.evaluation.checks)})"
            )
            remove_alias(client, name, "challenger", store=store, actor=settings.user)
            on_step("promote", summary.promotion)
            summary.served_after_promotion = wait_until_served(url, challenger)
            sent += release.send(url, "promoted")
            on_step("hot-swap", f"server (same pid {pid}) now answers with v{challenger}")
            rolled = rollback(client, store, name, actor=settings.user)
            summary.rolled_back_to = rolled.restored_version
            summary.served_after_rollback = wait_until_served(url, rolled.restored_version or "")
            sent += release.send(url, "rolled-back")
            on_step(
                "rollback", f"champion back to v{rolled.restored_version}, served without restart"
            )
        summary.loop, looped = monitor_and_retrain(release, url, sent)
        sent += looped
        with drill_token(settings, store, urlsplit(url).hostname or "") as token:
            summary.oversight = oversight_drill(url, sent, actor=settings.user, token=token)
        on_step("oversight", summary.oversight)
        summary.server_restarts = 0 if _health(url).get("pid", pid) == pid else 1
    finally:
        stop_deployment(settings, name, actor=settings.user)
        on_step("stop", f"deployment {name} stopped")
    return summary, sent


def _policy(settings: Settings, name: str) -> PromotionPolicy:
    path = default_policy_path(settings.home, name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(POLICY.format(model=name), encoding="utf-8")
    return load_policy(path)


def _health(url: str) -> dict:
    return httpx.get(f"{url}/health", timeout=5.0).json()


def wait_until_served(url: str, version: str, *, role: str = "champion") -> str:
    """Wait until the server at ``url`` serves ``version`` as ``role``; returns the version."""
    deadline = time.monotonic() + SWAP_TIMEOUT_S
    while time.monotonic() < deadline:
        served = {s["role"]: s["version"] for s in _health(url).get("served", [])}
        if served.get(role) == version:
            return version
        time.sleep(0.2)
    raise CheckFailed(
        f"the server did not pick up {role} version {version} within {SWAP_TIMEOUT_S:.0f}s",
        where=url,
    )
