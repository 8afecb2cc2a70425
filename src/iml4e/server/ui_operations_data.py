"""What the operations pages show: deployments with their traffic and alerts, one deployment's
live numbers, the background scheduler and its pipeline schedules (plain rows, no HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from iml4e.store import Store

if TYPE_CHECKING:
    from iml4e.monitoring.scheduler import MonitorScheduler

RATE_WINDOW_S = 3600.0
STATS_WINDOW = "1h"
STATS_BUCKETS = 30


@dataclass(frozen=True)
class DeploymentRow:
    """A deployment on the list: what it serves, where, its traffic and firing alerts."""

    name: str
    state: str
    model_name: str
    model_version: str
    url: str | None
    updated_at: datetime
    requests_last_hour: int
    firing: tuple[str, ...]

    @property
    def per_minute(self) -> float:
        """Mean requests per minute over the last hour."""
        return self.requests_last_hour / (RATE_WINDOW_S / 60)


def deployments_page(store: Store, *, until: datetime | None = None) -> dict[str, Any]:
    """Every deployment with its requests in the last hour and its firing alert rules."""
    from iml4e.monitoring.alerts import FIRING, alert_states
    from iml4e.serving.deployments import list_deployments
    from iml4e.serving.request_stats import request_count

    rows = [
        DeploymentRow(
            name=d.name,
            state=d.state,
            model_name=d.model_name,
            model_version=d.model_version,
            url=d.url,
            updated_at=d.updated_at,
            requests_last_hour=request_count(store, d.name, window_s=RATE_WINDOW_S, until=until),
            firing=tuple(s.rule for s in alert_states(store, d.name) if s.state == FIRING),
        )
        for d in list_deployments(store)
    ]
    return {"deployments": rows}


def deployment_page(store: Store, name: str, *, window: str = STATS_WINDOW) -> dict[str, Any]:
    """One deployment: record, history (newest first), alerts, live numbers, canary split."""
    from iml4e.monitoring.alerts import alert_states
    from iml4e.monitoring.live_stats import deployment_stats
    from iml4e.serving.deployments import deployment_events, get_deployment

    deployment = get_deployment(store, name)
    stats = deployment_stats(store, name, window=window, buckets=STATS_BUCKETS)
    return {
        "deployment": deployment,
        "events": list(reversed(deployment_events(store, name))),
        "alerts": alert_states(store, name),
        "stats": stats,
        "busy_buckets": [bucket for bucket in stats.requests.buckets if bucket.count],
        "challenger": deployment.spec.get("challenger_uri"),
        "split": deployment.spec.get("split"),
    }


@dataclass(frozen=True)
class OutcomeRow:
    """The last scheduled run of one deployment (or of the compliance reassessment)."""

    what: str
    at: datetime
    ok: bool
    report_id: int | None
    detail: str


def scheduler_page(
    scheduler: MonitorScheduler | None, store: Store | None = None
) -> dict[str, Any]:
    """The scheduler's status and last outcomes (``status`` None when the server has none),
    and every pipeline schedule in ``store`` (which exist whether a scheduler runs or not)."""
    from iml4e.pipelines.schedules import list_schedules

    schedules = [] if store is None else list_schedules(store)
    if scheduler is None:
        return {"status": None, "outcomes": [], "compliance": None, "schedules": schedules}
    status = scheduler.status()
    outcomes = [
        OutcomeRow(o.deployment, o.at, o.ok, o.report_id, o.detail)
        for _, o in sorted(status.last.items())
    ]
    compliance = status.compliance
    return {
        "status": status,
        "outcomes": outcomes,
        "compliance": None
        if compliance is None
        else OutcomeRow("compliance", compliance.at, compliance.ok, None, compliance.detail),
        "schedules": schedules,
    }
