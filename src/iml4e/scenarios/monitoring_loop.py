"""The monitoring half of the main job: labels, drifted traffic, alert, retraining, promotion.

Ground truth for the traffic served so far is posted to the server's ``/feedback``. Drifted
traffic follows; a monitoring run over it finds the drift, the ``feature-drift`` rule fires,
and the deployment's retraining plan trains a new version on the newest (drifted) data. It is
measured against the champion on the same fresh hold-out; the promotion policy wants one
approval, so a person (the demo's user) approves and the challenger is promoted on that
head-to-head. The server swaps it in, and the next drifted requests are answered by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from iml4e.monitoring.alert_rules import alert_rules_path
from iml4e.monitoring.jobs import run_monitor
from iml4e.monitoring.retraining import retraining_plan_path
from iml4e.monitoring.windows import Window
from iml4e.registry import HeadToHead, approve, promote, remove_alias, resolve_policy
from iml4e.scenarios.traffic import SentRequest

ALERT_RULES = """\
# Alert rules of {deployment}: evaluated by every monitoring run (iml4e monitor run, iml4e up).
deployment: {deployment}
notify:
  - log: true
rules:
  - name: feature-drift
    metric: drift.share
    op: ">="
    threshold: 0.3
    window: 1h
    severity: warning
"""
RETRAINING_PLAN = """\
# Retraining plan of {deployment}: what runs when one of on_alerts starts firing.
deployment: {deployment}
on_alerts: [feature-drift]
run: iml4e.scenarios.retraining:retrain_case
# the newest data has missing values and a new purpose: its data owner agreed to the evolved
# contract that lets them through
params: {{case: {case}, rows: {rows}, seed: {seed}, drift: {drift}, evolved_contract: true}}
"""


@dataclass
class LoopSummary:
    """What the monitoring loop did, as observed."""

    labels_recorded: int = 0
    baseline_drift_share: float | None = None
    """Drift share of the normal traffic before the drifted requests."""
    live_accuracy: float | None = None
    """Accuracy of the drifted window's answers against the labels posted for them."""
    report_id: int | None = None
    drift_share: float | None = None
    drifted_columns: list[str] = field(default_factory=list)
    alert: str = ""
    retraining: str = ""
    retrained_version: str | None = None
    compared_on: str = ""
    roc_auc_challenger: float | None = None
    roc_auc_champion: float | None = None
    promoted: bool = False
    served_after: str | None = None
    report_html: str | None = None


def monitor_and_retrain(
    release: Any, url: str, sent: list[SentRequest]
) -> tuple[LoopSummary, list[SentRequest]]:
    """Run the loop against the deployment at ``url`` (``release`` is the release half's
    :class:`~iml4e.scenarios.release.Release`); returns the summary and the requests sent."""
    from iml4e.scenarios.release import wait_until_served
    from iml4e.tracking import connect_tracking

    settings, store, case, on_step = release.settings, release.store, release.case, release.on_step
    name = case.model_name
    summary = LoopSummary()
    _write_once(alert_rules_path(settings.home, name), ALERT_RULES.format(deployment=name))
    _write_once(
        retraining_plan_path(settings.home, name),
        RETRAINING_PLAN.format(
            deployment=name,
            case=case.name,
            rows=release.rows,
            seed=release.seed + 100,
            drift=release.drift,
        ),
    )
    normal = sum(1 for r in sent if r.batch in ("canary", "promoted", "rolled-back"))
    baseline = run_monitor(settings, name, window=Window(rows=max(normal, 1)))
    summary.baseline_drift_share = baseline.values.get("drift.share")
    on_step(
        "monitor",
        f"report {baseline.report_id}: the last {normal} normal requests, drift share "
        f"{summary.baseline_drift_share}; alerts: "
        + (", ".join(f"{a['rule']} {a['state']}" for a in baseline.alerts) or "quiet"),
    )
    drifted = release.send(url, "drifted-live")
    labelled = [
        {"request_id": r.request_id, "label": r.label}
        for r in [*sent, *drifted]
        if r.status == 200 and r.batch in ("reference", "drifted", "drifted-live")
    ]
    answer = httpx.post(
        f"{url}/feedback",
        json={"labels": labelled, "actor": settings.user, "source": "demo"},
        timeout=60,
    )
    summary.labels_recorded = int(answer.json().get("recorded", 0))
    on_step("feedback", f"{summary.labels_recorded} ground-truth labels posted to /feedback")
    result = run_monitor(settings, name, window=Window(rows=len(drifted)))
    summary.report_id, summary.report_html = result.report_id, result.html_path
    summary.drift_share = result.values.get("drift.share")
    summary.drifted_columns = [c["column"] for c in result.drift.get("columns", []) if c["drifted"]]
    summary.alert = ", ".join(f"{a['rule']} {a['state']}" for a in result.alerts) or "none"
    summary.live_accuracy = result.values.get("performance.accuracy")
    on_step(
        "monitor",
        f"report {result.report_id}: drift share {summary.drift_share}, "
        f"drifted {', '.join(summary.drifted_columns) or 'nothing'}; live accuracy "
        f"{_auc(summary.live_accuracy)}; alerts: {summary.alert}",
    )
    outcome = result.retraining
    if outcome is None:
        summary.retraining = "not started (no alert fired)"
        on_step("retrain", summary.retraining)
        return summary, drifted
    summary.retrained_version = outcome["challenger_version"]
    summary.compared_on = outcome["compared_on"]
    summary.roc_auc_challenger = outcome["challenger_metrics"].get("roc_auc")
    summary.roc_auc_champion = outcome["champion_metrics"].get("roc_auc")
    summary.retraining = outcome["decision"]
    on_step(
        "retrain",
        f"v{summary.retrained_version} on the newest data; on {summary.compared_on}: ROC AUC "
        f"{_auc(summary.roc_auc_challenger)} vs champion {_auc(summary.roc_auc_champion)}; "
        f"{summary.retraining}",
    )
    client = connect_tracking(settings, store)
    version = summary.retrained_version
    if outcome["decision"].startswith("waiting for approval"):
        approve(client, store, name, version, actor=settings.user, note="demo: head-to-head read")
        promote(
            client,
            store,
            name,
            version,
            policy=resolve_policy(settings.home, name, "champion", None),
            actor=settings.user,
            head_to_head=HeadToHead(
                candidate=outcome["challenger_metrics"],
                holder=outcome["champion_metrics"],
                holder_version=outcome["champion_version"],
                on=outcome["compared_on"],
            ),
        )
        on_step("approve", f"{settings.user} approved v{version}; promoted on the head-to-head")
    elif not outcome["promoted"]:
        return summary, drifted
    summary.promoted = True
    remove_alias(client, name, "challenger", store=store, actor=settings.user)
    summary.served_after = wait_until_served(url, version)
    after = release.send(url, "retrained")
    served = {r.model_version for r in after}
    on_step("hot-swap", f"drifted traffic now answered by v{', v'.join(sorted(served))}")
    return summary, drifted + after


def _write_once(path: Any, text: str) -> None:
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
