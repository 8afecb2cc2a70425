"""Platform commands: init, config, doctor, up."""

from __future__ import annotations

from typing import Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def init(ctx: typer.Context, json: JsonOption = False) -> None:
    """Create the home folder, the metadata database and MLflow's tables."""
    from iml4e.platform import initialize

    settings = cli_state(ctx).resolve().settings
    report = initialize(settings)
    if json:
        print_json(report)
        return
    console.print(f"home      {report['home']}")
    console.print(f"database  {report['database_url']} (schema {report['schema_revision']})")
    console.print(f"artifacts {report['artifact_root']}")
    console.print(f"mlflow    {report['mlflow_tracking_uri']}")


def config(ctx: typer.Context, json: JsonOption = False) -> None:
    """Print the effective settings and where each value came from (secrets masked)."""
    resolved = cli_state(ctx).resolve()
    values = resolved.settings.masked()
    if json:
        print_json(
            {
                "config_file": str(resolved.config_file) if resolved.config_file else None,
                "settings": {
                    key: {"value": value, "source": resolved.sources[key]}
                    for key, value in values.items()
                },
            }
        )
        return
    print_table(
        f"config file: {resolved.config_file or 'none'}",
        ["setting", "value", "source"],
        ((key, value, resolved.sources[key]) for key, value in values.items()),
    )


def doctor(ctx: typer.Context, json: JsonOption = False) -> None:
    """Check the database, migrations, artifact root, MLflow and optional extras.

    Exits 1 when a required check fails.
    """
    from iml4e.doctor import run_checks

    settings = cli_state(ctx).resolve().settings
    results = run_checks(settings)
    if json:
        print_json([result.as_dict() for result in results])
    else:
        print_table(
            "iml4e doctor",
            ["check", "status", "detail"],
            ((r.name, r.status, r.detail) for r in results),
        )
    if any(result.failed for result in results):
        raise typer.Exit(1)


def up(ctx: typer.Context) -> None:
    """Start the platform server and the MLflow UI beside it; Ctrl-C stops both."""
    from iml4e.server import run_platform

    run_platform(cli_state(ctx).resolve().settings)


def register(app: typer.Typer) -> None:
    """Add the platform commands to the root command."""
    for command in (init, config, doctor, up):
        app.command()(command)
