"""A deployment's live numbers for charts: requests and latency per bucket from the inference
log, and the drift share of every monitor report in the same window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iml4e.monitoring.windows import parse_window
from iml4e.serving.request_stats import RequestStats
from iml4e.store import Store

MAX_REPORTS = 500
MAX_WINDOW_S = 31 * 86_400


@dataclass(frozen=True)
class DriftPoint:
    """The drift share one monitor report measured."""

    at: datetime
    report_id: int
    drift_share: float | None
    n_rows: int


@dataclass(frozen=True)
class DeploymentStats:
    """What the charts of a deployment's page draw."""

    window: str
    requests: RequestStats
    drift: list[DriftPoint]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "window": self.window,
            **self.requests.as_dict(),
            "drift": [
                {
                    "at": point.at.isoformat(),
                    "report_id": point.report_id,
                    "drift_share": point.drift_share,
                    "n_rows": point.n_rows,
                }
                for point in self.drift
            ],
        }


def deployment_stats(
    store: Store,
    deployment: str,
    *,
    window: str = "1h",
    buckets: int = 30,
    until: datetime | None = None,
) -> DeploymentStats:
    """Requests per bucket, p50/p95 latency and drift share of ``deployment`` over ``window``
    (a duration such as ``15m``, ``1h``, ``1d``; at most 31 days).

    Raises :class:`~iml4e.serving.errors.DeploymentNotFound` for an unknown deployment and
    :class:`~iml4e.errors.BadInput` for a window that is not a duration.
    """
    from iml4e.errors import BadInput
    from iml4e.monitoring.reports import reports_of
    from iml4e.serving.deployments import get_deployment
    from iml4e.serving.request_stats import request_stats

    get_deployment(store, deployment)
    parsed = parse_window(window, where="window")
    if parsed.seconds is None or parsed.seconds > MAX_WINDOW_S:
        raise BadInput("must be a duration of at most 31d (15m, 1h, 1d)", where="window")
    requests = request_stats(
        store, deployment, window_s=parsed.seconds, buckets=buckets, until=until
    )
    drift = [
        DriftPoint(report.created_at, report.report_id, report.drift_share, report.n_rows)
        for report in reports_of(store, deployment, limit=MAX_REPORTS)
        if requests.since <= report.created_at <= requests.until
    ]
    drift.sort(key=lambda point: point.at)
    return DeploymentStats(str(parsed), requests, drift)
