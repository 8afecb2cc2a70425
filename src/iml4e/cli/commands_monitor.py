"""``iml4e monitor …``: monitoring runs and their reports, feedback labels, alerts, exports."""

from __future__ import annotations

from typing import Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

monitor_app = typer.Typer(
    name="monitor",
    help="Monitor deployments: drift, data quality, live performance, alerts, labels, exports.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DeploymentArgument = Annotated[str, typer.Argument(help="Deployment name.")]


@monitor_app.command("run")
def run_command(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    window: Annotated[
        str, typer.Option(help="The last stretch of traffic: 30m, 1h, 2d or '10000 rows'.")
    ] = "1h",
    group_by: Annotated[
        str | None, typer.Option(help="Input column to break live performance down by.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Monitor one window of a deployment's traffic now and store the report."""
    from iml4e.monitoring.jobs import run_monitor
    from iml4e.monitoring.windows import parse_window

    parsed = parse_window(window)
    result = run_monitor(
        cli_state(ctx).resolve().settings, deployment, window=parsed, group_by=group_by
    )
    if json_output:
        print_json(result.as_dict())
        return
    rows = [
        ("report", str(result.report_id)),
        ("window", f"{result.window}: {result.window_start} … {result.window_end}"),
        ("rows", str(result.n_rows)),
        ("model versions", ", ".join(result.model_versions) or "-"),
        *((name, f"{value:.4g}") for name, value in sorted(result.values.items())),
        *((f"skipped: {s['what']}", s["reason"]) for s in result.skipped),
        *((f"alert {a['rule']}", a["state"]) for a in result.alerts),
        ("html", result.html_path or "-"),
    ]
    print_table(f"monitor {deployment}", ("what", "value"), rows)


@monitor_app.command("reports")
def reports_command(
    ctx: typer.Context,
    deployment: DeploymentArgument,
    limit: Annotated[int, typer.Option(min=1, help="How many of the newest reports.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """List a deployment's monitor reports, newest first."""
    from iml4e.monitoring.reports import list_reports

    reports = list_reports(cli_state(ctx).resolve().settings, deployment, limit=limit)
    if json_output:
        print_json([report.as_dict() for report in reports])
        return
    print_table(
        f"monitor reports of {deployment}",
        ("id", "created", "rows", "drift share", "skipped", "html"),
        [
            (
                str(r.report_id),
                str(r.created_at),
                str(r.n_rows),
                "-" if r.drift_share is None else f"{r.drift_share:.2f}",
                str(len(r.skipped)),
                r.html_path or "-",
            )
            for r in reports
        ],
    )
    if not reports:
        console.print("no reports yet: iml4e monitor run " + deployment)


def register(app: typer.Typer) -> None:
    """Add the monitor group (and its label and alert commands) to the root command."""
    from iml4e.cli import commands_alerts, commands_feedback

    commands_feedback.register(monitor_app)
    commands_alerts.register(monitor_app)
    app.add_typer(monitor_app)
