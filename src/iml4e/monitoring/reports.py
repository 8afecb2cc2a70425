"""Monitor reports kept in the store: one row per monitoring run, with its HTML page."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from iml4e.config import Settings
from iml4e.monitoring.errors import ReportNotFound
from iml4e.store import Store, open_store
from iml4e.store.models import MonitorReport


@dataclass(frozen=True)
class ReportSummary:
    """A stored monitor report, as listed."""

    report_id: int
    deployment: str
    created_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    n_rows: int
    model_versions: list[str]
    drift_share: float | None
    metrics: dict[str, float]
    skipped: list[dict[str, str]]
    html_path: str | None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        data = dataclasses.asdict(self)
        for key in ("created_at", "window_start", "window_end"):
            data[key] = None if data[key] is None else data[key].isoformat()
        return data


def add_report(
    store: Store,
    *,
    deployment: str,
    window_start: datetime | None,
    window_end: datetime | None,
    n_rows: int,
    model_versions: list[str],
    drift: dict[str, Any],
    quality: dict[str, Any],
    performance: dict[str, Any],
    metrics: dict[str, float],
    skipped: list[dict[str, str]],
) -> int:
    """Store one monitoring run's results; returns the report id."""
    with store.session() as session:
        report = MonitorReport(
            deployment=deployment,
            window_start=window_start,
            window_end=window_end,
            n_rows=n_rows,
            model_versions=model_versions,
            drift=drift,
            quality=quality,
            performance=performance,
            metrics=metrics,
            skipped=skipped,
        )
        session.add(report)
        session.flush()
        return report.id


def set_report_html(store: Store, report_id: int, path: str) -> None:
    """Remember where report ``report_id``'s HTML page was written."""
    with store.session() as session:
        report = session.get(MonitorReport, report_id)
        if report is None:
            raise ReportNotFound("no such monitor report", where=str(report_id))
        report.html_path = path


def list_reports(settings: Settings, deployment: str, *, limit: int = 20) -> list[ReportSummary]:
    """The newest ``limit`` reports of ``deployment``, newest first."""
    with open_store(settings) as store:
        return reports_of(store, deployment, limit=limit)


def reports_of(store: Store, deployment: str, *, limit: int = 20) -> list[ReportSummary]:
    """The newest ``limit`` reports of ``deployment`` in ``store``, newest first."""
    with store.session() as session:
        rows = session.scalars(
            select(MonitorReport)
            .where(MonitorReport.deployment == deployment)
            .order_by(MonitorReport.id.desc())
            .limit(limit)
        ).all()
        return [_summary(row) for row in rows]


def latest_reports(store: Store) -> list[ReportSummary]:
    """The newest report of every deployment that has one."""
    with store.session() as session:
        newest = (
            select(MonitorReport.deployment, func.max(MonitorReport.id).label("id"))
            .group_by(MonitorReport.deployment)
            .subquery()
        )
        rows = session.scalars(
            select(MonitorReport).join(newest, MonitorReport.id == newest.c.id)
        ).all()
        return [_summary(row) for row in rows]


def get_report(store: Store, report_id: int) -> dict[str, Any]:
    """Everything stored for report ``report_id``."""
    with store.session() as session:
        report = session.get(MonitorReport, report_id)
        if report is None:
            raise ReportNotFound("no such monitor report", where=str(report_id))
        return {
            **_summary(report).as_dict(),
            "drift": report.drift,
            "quality": report.quality,
            "performance": report.performance,
        }


def _summary(row: MonitorReport) -> ReportSummary:
    share = row.drift.get("drift_share") if row.drift else None
    return ReportSummary(
        report_id=row.id,
        deployment=row.deployment,
        created_at=row.created_at,
        window_start=row.window_start,
        window_end=row.window_end,
        n_rows=row.n_rows,
        model_versions=list(row.model_versions),
        drift_share=None if share is None else float(share),
        metrics=dict(row.metrics),
        skipped=list(row.skipped),
        html_path=row.html_path,
    )
