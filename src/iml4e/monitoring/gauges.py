"""Prometheus gauges of the monitoring job: metric values, firing alerts, last run time.

:class:`MonitorGauges` keeps its own :class:`CollectorRegistry` (never the process-global
one), so several can live in one process and the platform server mounts its exposition.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from iml4e.monitoring.alerts import FIRING, AlertState, alert_states
from iml4e.monitoring.reports import latest_reports
from iml4e.store import Store

LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]")


def metric_label(metric: str) -> str:
    """The ``metric`` label value of a monitoring metric: characters outside ``[A-Za-z0-9_.:-]``
    (spaces, quotes, slashes in column names) become ``_``.
    """
    return LABEL_UNSAFE.sub("_", metric)


class MonitorGauges:
    """The gauges one monitoring process exposes, with the series it set per deployment."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.value = Gauge(
            "iml4e_monitor_value",
            "Last value of a monitoring metric of a deployment.",
            ("deployment", "metric"),
            registry=self.registry,
        )
        self.firing = Gauge(
            "iml4e_alert_firing",
            "1 while an alert rule of a deployment is firing, else 0.",
            ("deployment", "rule", "severity"),
            registry=self.registry,
        )
        self.last_run = Gauge(
            "iml4e_monitor_last_run_timestamp_seconds",
            "Unix time of the last monitoring run of a deployment.",
            ("deployment",),
            registry=self.registry,
        )
        self._values: dict[str, set[tuple[str, str]]] = {}
        self._alerts: dict[str, set[tuple[str, str, str]]] = {}

    def update(
        self,
        deployment: str,
        values: Mapping[str, float],
        states: Sequence[AlertState],
        *,
        at: datetime | None = None,
    ) -> None:
        """Set the gauges of ``deployment`` from one run's ``values`` and alert ``states``.

        Series of metrics or rules the run no longer has are removed, so a dropped column
        does not linger with its last value. ``at`` is the run's time (default: now; naive
        times are UTC).
        """
        current_values = set()
        for metric, value in values.items():
            labels = (deployment, metric_label(metric))
            self.value.labels(*labels).set(float(value))
            current_values.add(labels)
        for labels in self._values.get(deployment, set()) - current_values:
            self.value.remove(*labels)
        self._values[deployment] = current_values

        current_alerts = set()
        for state in states:
            labels = (deployment, state.rule, state.severity)
            self.firing.labels(*labels).set(1 if state.state == FIRING else 0)
            current_alerts.add(labels)
        for labels in self._alerts.get(deployment, set()) - current_alerts:
            self.firing.remove(*labels)
        self._alerts[deployment] = current_alerts

        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=UTC)  # the store keeps naive UTC times
        self.last_run.labels(deployment).set(at.timestamp() if at is not None else time.time())

    def exposition(self) -> bytes:
        """The gauges in the Prometheus text exposition format."""
        return generate_latest(self.registry)


def monitoring_exposition(store: Store) -> bytes:
    """The newest monitoring values of every deployment and its alert states, as Prometheus
    text (what the platform server serves at ``/metrics``)."""
    gauges = MonitorGauges()
    for report in latest_reports(store):
        states = alert_states(store, report.deployment)
        gauges.update(
            report.deployment, report.metrics, states, at=report.created_at.replace(tzinfo=UTC)
        )
    return gauges.exposition()
