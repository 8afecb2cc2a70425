"""``iml4e monitor feedback``: upload ground-truth labels of a deployment's answered requests."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table


def feedback_command(
    ctx: typer.Context,
    deployment: Annotated[str, typer.Argument(help="Deployment whose requests are labelled.")],
    file: Annotated[
        Path,
        typer.Option(
            "--file", help="Labels: CSV with columns request_id,label, or JSON Lines (.jsonl)."
        ),
    ],
    source: Annotated[
        str | None, typer.Option("--source", help="Where the labels come from (default: file).")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who sends the labels (default: the `user` setting)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = (
        False
    ),
) -> None:
    """Record ground-truth labels joined to the deployment's answered requests.

    Each label is recorded once: unknown request ids, requests already labelled and ids given
    twice are refused and listed (exit 1); the valid labels are recorded. A malformed file
    records nothing (exit 2, naming file and line).
    """
    from iml4e.monitoring.feedback import load_label_file, record_labels
    from iml4e.store import open_store

    labels = load_label_file(file)
    settings = cli_state(ctx).resolve().settings
    with open_store(settings) as store:
        result = record_labels(
            store, deployment, labels, source=source or file.name, actor=by or settings.user
        )
    if json_output:
        print_json(asdict(result))
    else:
        console.print(
            f"{deployment}: {result.recorded} labels recorded, {len(result.rejected)} refused",
            soft_wrap=True,
        )
        if result.rejected:
            print_table(
                "refused labels",
                ("request_id", "reason"),
                [(item.request_id, item.reason) for item in result.rejected],
            )
    if result.rejected:
        raise typer.Exit(1)


def register(monitor_app: typer.Typer) -> None:
    """Add ``feedback`` to the ``monitor`` command group."""
    monitor_app.command("feedback")(feedback_command)
