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
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from iml4e.config import Settings
from iml4e.errors import Iml4eError
from iml4e.monitoring.windows import Window
from iml4e.serving.deployments import get_deployment
from iml4e.serving.inference_log import InferenceRecord, read_inference_log
from iml4e.store import Store, open_store
from iml4e.store.models import MonitorReport


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
        skipped: list[dict[str, str]] = []
        result = MonitorResult(
            report_id=0,
            deployment=deployment,
            window=str(window),
            window_start=_at(records[0].timestamp) if records else None,
            window_end=_at(records[-1].timestamp) if records else None,
            n_rows=sum(len(r.inputs) for r in records),
            model_versions=sorted({r.model_version for r in records}),
            values={},
            skipped=skipped,
        )
        if not records:
            skipped.append({"what": "everything", "reason": f"no traffic in the last {window}"})
        else:
            _analyse(
                settings, store, info.model_name, info.model_version, records, result, group_by
            )
        result.values = metric_values(result, records)
        result.report_id = _store_report(store, result)
        result.html_path = _write_html(settings, store, result)
        result.alerts = _evaluate_alerts(settings, store, deployment, result.values, now, skipped)
    return result


def window_records(
    store: Store, deployment: str, window: Window, now: datetime
) -> list[InferenceRecord]:
    """The answered requests of ``deployment`` in ``window`` ending at ``now``, oldest first."""
    since = None if window.seconds is None else now - timedelta(seconds=window.seconds)
    records = [
        r
        for r in read_inference_log(store, deployment, since=since, until=now)
        if r.role != "shadow"
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


def _analyse(
    settings: Settings,
    store: Store,
    model_name: str,
    model_version: str,
    records: list[InferenceRecord],
    result: MonitorResult,
    group_by: str | None,
) -> None:
    from iml4e.monitoring.drift import detect_drift
    from iml4e.monitoring.feedback import read_labels
    from iml4e.monitoring.performance import live_performance
    from iml4e.monitoring.quality import inputs_frame, live_quality
    from iml4e.monitoring.reference import load_reference

    frame = inputs_frame(records)
    try:
        reference = load_reference(
            settings, store, model_name=model_name, model_version=model_version
        )
    except Iml4eError as exc:
        result.skipped.append({"what": "drift and quality", "reason": str(exc)})
        reference = None
    if reference is not None:
        features = frame[[c for c in frame.columns if c in reference.columns]]
        try:
            drift = detect_drift(reference, features, predictions=frame[PREDICTION].tolist())
            result.drift = _plain(dataclasses.asdict(drift))
            result.skipped.extend(
                {"what": f"drift of {s['column']}", "reason": s["reason"]} for s in drift.skipped
            )
        except Iml4eError as exc:
            result.skipped.append({"what": "drift", "reason": str(exc)})
        quality = live_quality(
            expectations(reference), frame[[c for c in frame.columns if c not in EXTRA_COLUMNS]]
        )
        result.quality = _plain(dataclasses.asdict(quality))
    labels = read_labels(store, result.deployment)
    if not labels:
        result.skipped.append({"what": "performance", "reason": "no ground-truth labels received"})
    else:
        performance = live_performance(records, labels, group_by=group_by)
        result.performance = _plain(dataclasses.asdict(performance))


def metric_values(result: MonitorResult, records: Sequence[InferenceRecord]) -> dict[str, float]:
    """The report as flat metric values (alert rules and Prometheus gauges read these)."""
    values: dict[str, float] = {"rows": float(result.n_rows)}
    if records:
        latencies = sorted(r.latency_ms for r in records)
        values["latency.p50_ms"] = statistics.median(latencies)
        values["latency.p99_ms"] = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    drift = result.drift
    if drift:
        values["drift.share"] = float(drift["drift_share"])
        values["drift.dataset"] = 1.0 if drift["dataset_drift"] else 0.0
        for column in drift["columns"]:
            values[f"drift.column.{column['column']}"] = float(column["statistic"])
        if drift.get("prediction"):
            values["prediction.drift"] = float(drift["prediction"]["statistic"])
    for name, number in _numbers(result.quality, "quality"):
        values[name] = number
    for name, number in _numbers(result.performance.get("overall", {}), "performance"):
        values[name] = number
    return {k: v for k, v in values.items() if math.isfinite(v)}
