"""``iml4e monitor alerts|alerts-history|ack|export``: alert states and rule exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.monitoring.alert_rules import AlertRules
    from iml4e.store import Store

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DeploymentArgument = Annotated[str, typer.Argument(help="Deployment name.")]


@contextmanager
def _store(ctx: typer.Context) -> Iterator[tuple[Settings, Store]]:
    from iml4e.config import prepare_home
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    prepare_home(settings)
    store = open_store(settings)
    try:
        yield settings, store
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def alerts_command(
    ctx: typer.Context, deployment: DeploymentArgument, json_output: JsonOption = False
) -> None:
    """Show the current state of every alert rule of DEPLOYMENT."""
    from iml4e.monitoring.alerts import alert_states
    from iml4e.serving.deployments import get_deployment

    with _store(ctx) as (_, store):
        get_deployment(store, deployment)  # an unknown name is an error, not an empty table
        states = alert_states(store, deployment)
    if json_output:
        print_json([asdict(state) for state in states])
        return
    print_table(
        f"alerts of {deployment}",
        ("rule", "state", "severity", "value", "since", "acknowledged by"),
        [[s.rule, s.state, s.severity, s.value, _when(s.since), s.acknowledged_by] for s in states],
    )


def alerts_history_command(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show every recorded change of DEPLOYMENT's alerts, oldest first."""
    from iml4e.monitoring.alerts import alert_history

    with _store(ctx) as (_, store):
        events = alert_history(store, deployment, rule)
    if json_output:
        print_json([asdict(event) for event in events])
        return
    print_table(
        f"alert history of {deployment}",
        ("when", "rule", "state", "value", "detail"),
        [
            [_when(e.created_at), e.rule, e.state, e.value, json.dumps(e.detail, default=str)]
            for e in events
        ],
    )


def ack_command(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    rule: Annotated[str, typer.Argument(help="Alert rule name.")],
    note: Annotated[str, typer.Option("--note", help="What is being done about it.")] = "",
    by: Annotated[
        str | None, typer.Option("--by", help="Who acknowledges (default: user).")
    ] = None,
) -> None:
    """Acknowledge a pending or firing alert (it keeps firing until its metric recovers)."""
    from iml4e.monitoring.alerts import acknowledge_alert

    with _store(ctx) as (settings, store):
        event = acknowledge_alert(store, deployment, rule, actor=by or settings.user, note=note)
    console.print(f"acknowledged {deployment}/{rule} by {event.detail['actor']}")


def _rules_files(home: Path, deployments: list[str]) -> list[AlertRules]:
    from iml4e.monitoring.alert_rules import alert_rules_files, alert_rules_path, load_alert_rules

    if deployments:
        return [
            load_alert_rules(alert_rules_path(home, name), deployment=name) for name in deployments
        ]
    return [load_alert_rules(path) for path in alert_rules_files(home)]


def export_command(
    ctx: typer.Context,
    prometheus_rules: Annotated[
        Path | None,
        typer.Option("--prometheus-rules", help="Write Prometheus alerting rules YAML here."),
    ] = None,
    grafana: Annotated[
        Path | None, typer.Option("--grafana", help="Write a Grafana dashboard JSON here.")
    ] = None,
    deployments: Annotated[
        list[str] | None,
        typer.Option("--deployment", help="Only this deployment (repeatable; default: all)."),
    ] = None,
    interval: Annotated[
        str, typer.Option("--interval", help="How often the monitoring job runs (for counts).")
    ] = "5m",
    datasource: Annotated[
        str, typer.Option("--datasource", help="Grafana's Prometheus data source.")
    ] = "Prometheus",
) -> None:
    """Export the alert rules files of <home>/monitoring/ for Prometheus and Grafana."""
    from iml4e.monitoring.alert_rules import parse_duration
    from iml4e.monitoring.exports import grafana_dashboard, prometheus_alert_rules

    if prometheus_rules is None and grafana is None:
        raise typer.BadParameter("give --prometheus-rules FILE, --grafana FILE or both")
    try:
        parse_duration(interval)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--interval") from None
    settings = cli_state(ctx).resolve().settings
    rules = _rules_files(settings.home, deployments or [])
    if prometheus_rules is not None:
        prometheus_rules.write_text(prometheus_alert_rules(rules, interval=interval))
        console.print(f"wrote {len(rules)} rule groups to {prometheus_rules}")
    if grafana is not None:
        dashboard = grafana_dashboard(rules, datasource=datasource)
        grafana.write_text(json.dumps(dashboard, indent=2) + "\n")
        console.print(f"wrote a dashboard of {len(rules)} deployments to {grafana}")


def register(monitor_app: typer.Typer) -> None:
    """Add the alert commands to the ``monitor`` group."""
    monitor_app.command("alerts")(alerts_command)
    monitor_app.command("alerts-history")(alerts_history_command)
    monitor_app.command("ack")(ack_command)
    monitor_app.command("export")(export_command)
