"""``iml4e schedule …``: pipelines the background scheduler of ``iml4e up`` runs every N
minutes, hours or days."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.pipelines.schedules import ScheduleRecord
    from iml4e.store import Store

schedule_app = typer.Typer(
    name="schedule",
    help="Run pipelines on a schedule inside `iml4e up`: add, list, pause, resume, remove.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NameArgument = Annotated[str, typer.Argument(help="Schedule name.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: the user setting).")
]


@contextmanager
def _store(ctx: typer.Context) -> Iterator[tuple[Store, Settings]]:
    from iml4e.platform import initialize
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    initialize(settings)
    with open_store(settings) as store:
        yield store, settings


def _print_one(record: ScheduleRecord, json_output: bool, verb: str) -> None:
    if json_output:
        print_json(record.as_dict())
        return
    console.print(
        f"schedule {record.name} ({record.pipeline} every {record.every}) {verb}; "
        f"next run {record.next_run_at.isoformat(timespec='seconds')} UTC"
        + (" (paused)" if record.paused else ""),
        highlight=False,
        soft_wrap=True,
    )


@schedule_app.command("add")
def add_command(
    ctx: typer.Context,
    name: NameArgument,
    pipeline: Annotated[str, typer.Argument(help="module:pipeline or path/file.py:pipeline.")],
    every: Annotated[str, typer.Option("--every", help="How often: 30m, 1h, 1d (at least 10s).")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Pipeline parameter as key=value (repeatable)."),
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local, local:N, ray or ray://host:port.")
    ] = None,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Schedule a pipeline; the reference and parameters are checked before it is saved."""
    from iml4e.pipelines.params import split_assignments
    from iml4e.pipelines.schedules import add_schedule

    params = split_assignments(param or [])
    with _store(ctx) as (store, settings):
        record = add_schedule(
            store,
            name,
            pipeline,
            params=params,
            every=every,
            executor=executor,
            actor=by or settings.user,
        )
    _print_one(record, json_output, "added")


@schedule_app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Every schedule: pipeline, interval, next run, last run and its outcome."""
    from iml4e.pipelines.schedules import list_schedules

    with _store(ctx) as (store, _settings):
        records = list_schedules(store)
    if json_output:
        print_json([record.as_dict() for record in records])
        return
    print_table(
        "pipeline schedules",
        ["name", "pipeline", "every", "state", "next run", "last run", "status", "run"],
        [
            [
                r.name,
                r.pipeline,
                r.every,
                "paused" if r.paused else "active",
                r.next_run_at.isoformat(timespec="seconds"),
                r.last_run_at.isoformat(timespec="seconds") if r.last_run_at else "",
                r.last_status or "",
                (r.last_run_id or "")[:12],
            ]
            for r in records
        ],
    )


def _change(ctx: typer.Context, name: str, by: str | None, json_output: bool, verb: str) -> None:
    from iml4e.pipelines import schedules

    changes: dict[str, Callable[..., Any]] = {
        "paused": schedules.pause_schedule,
        "resumed": schedules.resume_schedule,
        "removed": schedules.remove_schedule,
    }
    with _store(ctx) as (store, settings):
        record = changes[verb](store, name, actor=by or settings.user)
    _print_one(record, json_output, verb)


@schedule_app.command("pause")
def pause_command(
    ctx: typer.Context, name: NameArgument, by: ByOption = None, json_output: JsonOption = False
) -> None:
    """Stop running a schedule until it is resumed."""
    _change(ctx, name, by, json_output, "paused")


@schedule_app.command("resume")
def resume_command(
    ctx: typer.Context, name: NameArgument, by: ByOption = None, json_output: JsonOption = False
) -> None:
    """Run a paused schedule again at its next due time."""
    _change(ctx, name, by, json_output, "resumed")


@schedule_app.command("remove")
def remove_command(
    ctx: typer.Context, name: NameArgument, by: ByOption = None, json_output: JsonOption = False
) -> None:
    """Delete a schedule (the runs it made stay in the pipeline records)."""
    _change(ctx, name, by, json_output, "removed")


def register(app: typer.Typer) -> None:
    """Add the schedule group to the root command."""
    app.add_typer(schedule_app)
