"""One monitoring run over a window of a deployment's traffic.

Reads the answered requests of the window from the inference log (a shadow's answers are not
traffic), compares their inputs and predictions with the reference stored for the deployment's
champion version (drift), checks them against it (quality), joins the ground-truth labels
received so far (performance), stores the result as a monitor report with an HTML page, and
evaluates the deployment's alert rules on the flat metric values. What cannot be computed is
recorded in the report's ``skipped`` list with the reason; the run itself does not fail.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iml4e.config import Settings
from iml4e.errors import Iml4eError
from iml4e.monitoring.alert_rules import alert_rules_path, load_alert_rules
from iml4e.monitoring.alerts import evaluate_alerts
from iml4e.monitoring.drift import detect_drift
from iml4e.monitoring.errors import AlertRulesInvalid, ReferenceNotFound
from iml4e.monitoring.feedback import read_labels
from iml4e.monitoring.notify import notifiers_for, notify_changes, record_notification_outcomes
from iml4e.monitoring.performance import live_performance
from iml4e.monitoring.quality import META_COLUMNS, ColumnExpectation, inputs_frame, live_quality
from iml4e.monitoring.reference import OTHER, ReferenceProfile
from iml4e.monitoring.reference_store import load_reference
from iml4e.monitoring.report_html import Comparison, compare_distributions, render_report_html
from iml4e.monitoring.reports import add_report, set_report_html
from iml4e.monitoring.retraining import (
    load_retraining_plan,
    retraining_for,
    retraining_plan_path,
    run_retraining,
)
from iml4e.monitoring.windows import Window
from iml4e.serving.deployments import add_deployment_event, get_deployment
from iml4e.serving.inference_log import InferenceRecord, read_inference_log
from iml4e.store import Store, open_store

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
RETRAINING_ACTOR = "monitoring"
"""Who a retraining started by an alert is attributed to (the alert is in the event)."""


@dataclass
class MonitorResult:
    """What one monitoring run found and where it is kept."""

    report_id: int
    deployment: str
    window: str
    window_start: datetime | None
    window_end: datetime | None
    n_rows: int
    model_versions: list[str]
    values: dict[str, float]
    drift: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    performance: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    retraining: dict[str, Any] | None = None
    html_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return _plain(dataclasses.asdict(self))


def run_monitor(
    settings: Settings,
    deployment: str,
    *,
    window: Window,
    now: datetime | None = None,
    group_by: str | None = None,
) -> MonitorResult:
    """Monitor the last ``window`` of ``deployment`` and store the report (see module doc)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    with open_store(settings) as store:
        info = get_deployment(store, deployment)
        records = window_records(store, deployment, window, now)
        result = MonitorResult(
            report_id=0,
            deployment=deployment,
            window=str(window),
            window_start=_at(records[0].timestamp) if records else None,
            window_end=_at(records[-1].timestamp) if records else None,
            n_rows=sum(len(r.inputs) for r in records),
            model_versions=sorted({r.model_version for r in records}),
            values={},
        )
        comparisons: list[Comparison] = []
        if not records:
            result.skipped.append(
                {"what": "everything", "reason": f"no traffic in the last {window}"}
            )
        else:
            comparisons = _analyse(
                settings, store, info.model_name, info.model_version, records, result, group_by
            )
        result.values = metric_values(result, records)
        result.alerts = _evaluate_alerts(settings, store, result, now)
        result.retraining = _retrain_if_planned(settings, store, result)
        result.report_id = add_report(
            store,
            deployment=deployment,
            window_start=result.window_start,
            window_end=result.window_end,
            n_rows=result.n_rows,
            model_versions=result.model_versions,
            drift=result.drift,
            quality=result.quality,
            performance=result.performance,
            metrics=result.values,
            skipped=result.skipped,
        )
        result.html_path = str(_write_html(settings, result, comparisons))
        set_report_html(store, result.report_id, result.html_path)
    return result


def window_records(
    store: Store, deployment: str, window: Window, now: datetime
) -> list[InferenceRecord]:
    """The answered requests of ``deployment`` in ``window`` ending at ``now``, oldest first
    (a shadow's answers are not traffic)."""
    since = None if window.seconds is None else now - timedelta(seconds=window.seconds)
    records = [
        record
        for record in read_inference_log(store, deployment, since=since, until=now)
        if record.role != "shadow"
    ]
    if window.rows is None:
        return records
    kept: list[InferenceRecord] = []
    rows = 0
    for record in reversed(records):
        if rows >= window.rows:
            break
        kept.append(record)
        rows += len(record.inputs)
    return kept[::-1]


def expectations(reference: ReferenceProfile) -> dict[str, ColumnExpectation]:
    """What live data quality checks each reference column against: its kind, the range
    seen in the training data, and its categories."""
    return {
        name: ColumnExpectation(
            kind=column.kind,
            min=column.min,
            max=column.max,
            categories=frozenset(column.shares) - {OTHER} if column.kind == "categorical" else None,
        )
        for name, column in reference.columns.items()
    }


def metric_values(result: MonitorResult, records: Sequence[InferenceRecord]) -> dict[str, float]:
    """The report as flat metric values (alert rules and Prometheus gauges read these)."""
    values: dict[str, float] = {"rows": float(result.n_rows)}
    if records:
        latencies = sorted(record.latency_ms for record in records)
        values["latency.p50_ms"] = float(statistics.median(latencies))
        values["latency.p99_ms"] = float(
            latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        )
    drift = result.drift
    if drift:
        values["drift.share"] = float(drift["drift_share"])
        values["drift.dataset"] = 1.0 if drift["dataset_drift"] else 0.0
        for column in drift["columns"]:
            values[f"drift.drifted.{column['column']}"] = 1.0 if column["drifted"] else 0.0
            if column["statistic"] is not None:  # None: infinite (a category never seen)
                values[f"drift.column.{column['column']}"] = float(column["statistic"])
        prediction = drift.get("prediction")
        if prediction and prediction["statistic"] is not None:
            values["prediction.drift"] = float(prediction["statistic"])
    quality = result.quality
    for name, column in (quality.get("columns") or {}).items():
        values[f"quality.missing_rate.{name}"] = float(column["missing_rate"])
        values[f"quality.out_of_range.{name}"] = float(column["out_of_range_share"])
        values[f"quality.unseen.{name}"] = float(column["unseen_share"])
    if quality:
        values["quality.schema_violations"] = float(len(quality.get("violations") or []))
    overall = (result.performance or {}).get("overall") or {}
    for name, number in (overall.get("metrics") or {}).items():
        if number is not None:
            values[f"performance.{name}"] = float(number)
    if overall:
        values["performance.labelled"] = float(overall["n_labelled"])
    return {name: value for name, value in values.items() if math.isfinite(value)}


def _analyse(
    settings: Settings,
    store: Store,
    model_name: str,
    model_version: str,
    records: list[InferenceRecord],
    result: MonitorResult,
    group_by: str | None,
) -> list[Comparison]:
    frame = inputs_frame(records)
    comparisons: list[Comparison] = []
    try:
        reference = load_reference(
            settings, store, model_name=model_name, model_version=model_version
        )
    except ReferenceNotFound as exc:
        result.skipped.append({"what": "drift and quality", "reason": str(exc)})
        reference = None
    if reference is not None:
        features = frame[[c for c in frame.columns if c not in META_COLUMNS]]
        try:
            drift = detect_drift(
                reference, features, predictions=_numbers_if_all(frame["prediction"])
            )
        except Iml4eError as exc:
            result.skipped.append({"what": "drift", "reason": str(exc)})
        else:
            result.drift = _plain(dataclasses.asdict(drift))
            result.skipped.extend(
                {"what": f"drift of {item['column']}", "reason": item["reason"]}
                for item in drift.skipped
            )
            comparisons = compare_distributions(reference, features, drift)
        quality = live_quality(expectations(reference), features, ignore=())
        result.quality = _plain(dataclasses.asdict(quality))
    labels = read_labels(store, result.deployment)
    if not labels:
        result.skipped.append(
            {"what": "performance", "reason": "no ground-truth labels received yet"}
        )
    else:
        performance = live_performance(records, labels, group_by=group_by)
        result.performance = _plain(dataclasses.asdict(performance))
        if performance.reason:
            result.skipped.append({"what": "performance", "reason": performance.reason})
    return comparisons


def _evaluate_alerts(
    settings: Settings, store: Store, result: MonitorResult, now: datetime
) -> list[dict[str, Any]]:
    path = alert_rules_path(settings.home, result.deployment)
    if not path.is_file():
        return []
    try:
        rules = load_alert_rules(path, deployment=result.deployment)
    except AlertRulesInvalid as exc:
        result.skipped.append({"what": "alerts", "reason": str(exc)})
        return []
    changes = evaluate_alerts(store, rules, result.values, now=now)
    outcomes = notify_changes(changes, notifiers_for(rules))
    record_notification_outcomes(store, outcomes)
    result.skipped.extend(
        {"what": f"notification by {o.notifier} of {o.rule}", "reason": o.error or "failed"}
        for o in outcomes
        if not o.delivered
    )
    return [_plain(dataclasses.asdict(change)) for change in changes]


def _retrain_if_planned(
    settings: Settings, store: Store, result: MonitorResult
) -> dict[str, Any] | None:
    path = retraining_plan_path(settings.home, result.deployment)
    firing = [
        a["rule"] for a in result.alerts if a["state"] == "firing" and a["previous"] != "firing"
    ]
    if not firing or not path.is_file():
        return None
    try:
        plan = load_retraining_plan(path)
        reason = retraining_for(plan, firing)
        if reason is None:
            return None
        outcome = run_retraining(settings, plan, reason)
    except Iml4eError as exc:
        result.skipped.append({"what": "retraining", "reason": str(exc)})
        return None
    detail = _plain(dataclasses.asdict(outcome))
    add_deployment_event(
        store, result.deployment, "retrained", actor=RETRAINING_ACTOR, detail=detail
    )
    return detail


def _write_html(settings: Settings, result: MonitorResult, comparisons: list[Comparison]) -> Path:
    folder = settings.home / "monitoring" / "reports" / _SAFE_NAME.sub("-", result.deployment)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.report_id}.html"
    path.write_text(render_report_html(result.as_dict(), comparisons), encoding="utf-8")
    return path


def _numbers_if_all(series: pd.Series) -> pd.Series:
    """JSON predictions (an object column) as numbers when they all are, as the reference's."""
    try:
        return pd.to_numeric(series)
    except (ValueError, TypeError):
        return series


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars, tuples, sets and datetimes made JSON-ready."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_plain(item) for item in items]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
