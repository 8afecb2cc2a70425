"""Alert rules exported for Prometheus (alerting rules YAML) and Grafana (dashboard JSON).

Both read the ``iml4e_monitor_value`` gauge (see :mod:`iml4e.monitoring.gauges`), so a team
that already runs Prometheus and Grafana gets the same alerts and thresholds iml4e evaluates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import yaml

from iml4e.monitoring.alert_rules import AlertRule, AlertRules, format_duration, parse_duration
from iml4e.monitoring.gauges import metric_label

DEFAULT_INTERVAL = "5m"
SCHEMA_VERSION = 39
SEVERITY_COLORS = {"info": "blue", "warning": "orange", "critical": "red"}
UPPER_BOUNDS = (">", ">=")
FIRING_BY_RULE = (
    'sum by (deployment, rule, severity) (iml4e_alert_firing{deployment=~"$deployment"})'
)
PANEL_WIDTH, PANEL_HEIGHT, PANELS_PER_ROW = 12, 8, 2


def alert_name(rule: AlertRule) -> str:
    """The Prometheus alert name of a rule: ``feature-drift`` → ``FeatureDrift``."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", rule.name) if word]
    name = "".join(word[0].upper() + word[1:] for word in words)
    return name if re.match(r"^[A-Za-z_]", name) else f"Iml4e{name}"


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def metric_selector(deployment: str, metric: str) -> str:
    """The PromQL selector of one monitoring metric of one deployment."""
    return (
        f"iml4e_monitor_value{{deployment={_quoted(deployment)},"
        f"metric={_quoted(metric_label(metric))}}}"
    )


def prometheus_for(rule: AlertRule, interval: timedelta) -> timedelta:
    """The Prometheus ``for`` of a rule.

    A count of ``n`` evaluations, one every ``interval``, is ``(n - 1) * interval``: the
    gauge first breaches at the first evaluation and the ``n``-th comes that much later.
    """
    if rule.for_duration is not None:
        return rule.for_duration
    return interval * ((rule.for_count or 1) - 1)


def _prometheus_rule(deployment: str, rule: AlertRule, interval: timedelta) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "alert": alert_name(rule),
        "expr": f"{metric_selector(deployment, rule.metric)} {rule.op} {rule.threshold!r}",
    }
    wait = prometheus_for(rule, interval)
    if wait > timedelta():
        entry["for"] = format_duration(wait)
    entry["labels"] = {"severity": rule.severity, "deployment": deployment, "rule": rule.name}
    entry["annotations"] = {
        "summary": f"{deployment}: {rule.name} ({rule})",
        "description": rule.description
        or (
            f"{rule.metric} of deployment {deployment} is {{{{ $value }}}}, "
            f"breaching {rule.op} {rule.threshold:g} (window {rule.window})."
        ),
    }
    return entry


def prometheus_alert_rules(
    rules_by_deployment: Sequence[AlertRules], *, interval: str = DEFAULT_INTERVAL
) -> str:
    """Prometheus alerting rules YAML: one group ``iml4e-<deployment>`` per rules file.

    ``interval`` is how often the monitoring job runs; it turns a ``for`` count into the
    duration Prometheus needs.
    """
    every = parse_duration(interval)
    groups = [
        {
            "name": f"iml4e-{rules.deployment}",
            "rules": [_prometheus_rule(rules.deployment, rule, every) for rule in rules.rules],
        }
        for rules in rules_by_deployment
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True)


def _threshold_steps(rules: Sequence[AlertRule]) -> list[dict[str, Any]]:
    lower_bound = any(rule.op not in UPPER_BOUNDS for rule in rules)
    base = SEVERITY_COLORS[max(rules, key=_severity_rank).severity] if lower_bound else "green"
    steps: list[dict[str, Any]] = [{"color": base, "value": None}]
    for rule in sorted(rules, key=lambda rule: rule.threshold):
        color = SEVERITY_COLORS[rule.severity] if rule.op in UPPER_BOUNDS else "green"
        steps.append({"color": color, "value": rule.threshold})
    return steps


def _severity_rank(rule: AlertRule) -> int:
    return list(SEVERITY_COLORS).index(rule.severity)


def _datasource() -> dict[str, str]:
    return {"type": "prometheus", "uid": "${datasource}"}


def _metric_panel(
    panel_id: int, deployment: str, metric: str, rules: Sequence[AlertRule], x: int, y: int
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": metric,
        "description": "; ".join(f"{rule.name}: {rule}" for rule in rules),
        "datasource": _datasource(),
        "gridPos": {"x": x, "y": y, "w": PANEL_WIDTH, "h": PANEL_HEIGHT},
        "targets": [
            {
                "refId": "A",
                "datasource": _datasource(),
                "expr": metric_selector(deployment, metric),
                "legendFormat": metric,
            }
        ],
        "fieldConfig": {
            "defaults": {
                "thresholds": {"mode": "absolute", "steps": _threshold_steps(rules)},
                "custom": {"thresholdsStyle": {"mode": "line+area"}},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
    }


def _overview_panel(panel_id: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": "Firing alerts",
        "datasource": _datasource(),
        "gridPos": {"x": 0, "y": 0, "w": 24, "h": PANEL_HEIGHT},
        "targets": [
            {
                "refId": "A",
                "datasource": _datasource(),
                "expr": FIRING_BY_RULE,
                "legendFormat": "{{deployment}}/{{rule}} ({{severity}})",
            }
        ],
        "fieldConfig": {"defaults": {"min": 0, "max": 1}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
    }


def _templating(deployments: Sequence[str], datasource: str) -> dict[str, Any]:
    options = ",".join(deployments)
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {"text": datasource, "value": datasource},
            },
            {
                "name": "deployment",
                "label": "Deployment",
                "type": "custom",
                "query": options,
                "multi": True,
                "includeAll": True,
                "current": {"text": ["All"], "value": ["$__all"]},
                "options": [
                    {"text": name, "value": name, "selected": False} for name in deployments
                ],
            },
        ]
    }


def grafana_dashboard(
    rules_by_deployment: Sequence[AlertRules], *, datasource: str = "Prometheus"
) -> dict[str, Any]:
    """A Grafana dashboard model: an overview of firing alerts, then one row per deployment
    with a time series panel per metric its rules watch, thresholds drawn.

    ``datasource`` is the Prometheus data source the ``datasource`` variable starts on.
    """
    panels: list[dict[str, Any]] = [_overview_panel(1)]
    next_id, y = 2, PANEL_HEIGHT
    for rules in rules_by_deployment:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": f"Deployment {rules.deployment}",
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        next_id, y = next_id + 1, y + 1
        by_metric: dict[str, list[AlertRule]] = {}
        for rule in rules.rules:
            by_metric.setdefault(rule.metric, []).append(rule)
        for index, (metric, metric_rules) in enumerate(by_metric.items()):
            x = (index % PANELS_PER_ROW) * PANEL_WIDTH
            row_y = y + (index // PANELS_PER_ROW) * PANEL_HEIGHT
            panels.append(_metric_panel(next_id, rules.deployment, metric, metric_rules, x, row_y))
            next_id += 1
        y += -(-len(by_metric) // PANELS_PER_ROW) * PANEL_HEIGHT
    return {
        "uid": "iml4e-monitoring",
        "title": "iml4e monitoring",
        "tags": ["iml4e", "monitoring"],
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "timezone": "utc",
        "templating": _templating([rules.deployment for rules in rules_by_deployment], datasource),
        "annotations": {"list": []},
        "panels": panels,
    }
