"""``iml4e deploy …``: model servers as managed background processes, and KServe manifests."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.serving.manager import DeploymentStatus

deploy_app = typer.Typer(
    name="deploy",
    help="Run model servers in the background: create, list, check, pause, override, stop, "
    "read logs, render.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NameArgument = Annotated[str, typer.Argument(help="Deployment name.")]
ModelRefHelp = "NAME@ALIAS, NAME/VERSION or a models:/ URI"


class RenderTarget(StrEnum):
    """Where a rendered deployment runs."""

    kserve = "kserve"


def _settings(ctx: typer.Context) -> Settings:
    return cli_state(ctx).resolve().settings


@deploy_app.command("create")
def create_command(
    ctx: typer.Context,
    name: NameArgument,
    model: Annotated[str, typer.Option("--model", help=f"Model to serve: {ModelRefHelp}.")],
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port to bind (default: a free one).")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (each loads the model).")
    ] = 1,
    challenger: Annotated[
        str | None, typer.Option(help=f"Canary model ({ModelRefHelp}); needs --split.")
    ] = None,
    split: Annotated[
        float | None,
        typer.Option(help="Fraction of requests the canary answers, between 0 and 1."),
    ] = None,
    shadow: Annotated[
        str | None,
        typer.Option(help=f"Shadow model ({ModelRefHelp}): answers logged, never returned."),
    ] = None,
    fallback: Annotated[
        str | None, typer.Option(help=f"Model answering while paused ({ModelRefHelp}).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Start a model server in the background and return once it answers /health."""
    from iml4e.serving.manager import create_deployment

    info = create_deployment(
        _settings(ctx),
        name,
        model=model,
        host=host,
        port=port,
        workers=workers,
        challenger=challenger,
        split=split,
        shadow=shadow,
        fallback=fallback,
    )
    if json_output:
        print_json(asdict(info))
        return
    console.print(
        f"deployment {info.name}: {info.model_name} version {info.model_version} "
        f"{info.state} at {info.url} (pid {info.pid}, log {info.log_path})",
        soft_wrap=True,
    )


@deploy_app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List deployments with their recorded state and whether their process runs."""
    from iml4e.serving.manager import list_deployment_statuses

    statuses = list_deployment_statuses(_settings(ctx))
    if json_output:
        print_json([status.as_dict() for status in statuses])
        return
    print_table(
        "deployments",
        ("name", "state", "running", "model", "version", "url", "pid"),
        [
            [
                s.deployment.name,
                s.deployment.state,
                "yes" if s.running else "no",
                s.deployment.model_name,
                s.deployment.model_version,
                s.deployment.url,
                s.deployment.pid,
            ]
            for s in statuses
        ],
    )


@deploy_app.command("status")
def status_command(ctx: typer.Context, name: NameArgument, json_output: JsonOption = False) -> None:
    """Show a deployment and check it live: process alive, /health, served version.

    Exits 1 when the recorded state and the live facts disagree (a dead server recorded as
    serving, a server that does not answer).
    """
    from iml4e.serving.manager import deployment_status

    status = deployment_status(_settings(ctx), name)
    if json_output:
        print_json(status.as_dict())
    else:
        _print_status(status)
    if status.problem is not None:
        raise typer.Exit(1)


def _print_status(status: DeploymentStatus) -> None:
    info = status.deployment
    rows = [
        ("state", info.state),
        ("running", f"yes (pid {info.pid})" if status.running else "no"),
        ("healthy", "yes" if status.healthy else "no"),
        ("model", f"{info.model_name} version {info.model_version}"),
        ("served version", status.served_version),
        ("url", info.url),
        ("log", info.log_path),
        *((key, value) for key, value in info.spec.items() if value is not None),
        ("problem", status.problem),
    ]
    shown = [row for row in rows if row[1] is not None]
    print_table(f"deployment {info.name}", ("field", "value"), shown)


@deploy_app.command("stop")
def stop_command(
    ctx: typer.Context,
    name: NameArgument,
    by: Annotated[str | None, typer.Option("--by", help="Who stops it (default: user).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Stop a deployment's server (SIGTERM, SIGKILL after 20 s); a stopped one stays stopped."""
    from iml4e.serving.manager import stop_deployment

    settings = _settings(ctx)
    info = stop_deployment(settings, name, actor=by or settings.user)
    if json_output:
        print_json(asdict(info))
        return
    console.print(f"deployment {info.name}: {info.state}")


@deploy_app.command("logs")
def logs_command(
    ctx: typer.Context,
    name: NameArgument,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many last lines.")] = 50,
) -> None:
    """Print the last lines of a deployment's server log."""
    from iml4e.serving.manager import deployment_log

    text = deployment_log(_settings(ctx), name, lines)
    if text:
        typer.echo(text)


@deploy_app.command("render")
def render_command(
    ctx: typer.Context,
    name: NameArgument,
    target: Annotated[RenderTarget, typer.Option("--target", help="What to render for.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Render a deployment as a manifest for a cluster (a KServe InferenceService)."""
    from iml4e.serving.kserve import render_inference_service

    text = render_inference_service(_settings(ctx), name)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    console.print(f"wrote {output}")


ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded with the action).")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who acts (default: the `user` setting).")
]


@deploy_app.command("pause")
def pause_command(
    ctx: typer.Context,
    name: NameArgument,
    reason: ReasonOption,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Pause a deployment (human oversight): its servers answer 503, or with the fallback."""
    from iml4e.serving.operator import pause_deployment
    from iml4e.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as store:
        info = pause_deployment(store, name, actor=by or settings.user, reason=reason)
    _print_state(info.name, info.state, json_output, settings.serving_watch_interval_s)


@deploy_app.command("resume")
def resume_command(
    ctx: typer.Context,
    name: NameArgument,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded with the action).")
    ] = None,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resume a paused deployment."""
    from iml4e.serving.operator import resume_deployment
    from iml4e.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as store:
        info = resume_deployment(store, name, actor=by or settings.user, reason=reason)
    _print_state(info.name, info.state, json_output, settings.serving_watch_interval_s)


@deploy_app.command("override")
def override_command(
    ctx: typer.Context,
    name: NameArgument,
    request_id: Annotated[str, typer.Argument(help="The answered request's id.")],
    value: Annotated[str, typer.Option("--value", help="The corrected prediction, as JSON.")],
    reason: ReasonOption,
    by: ByOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record a person's correction of one logged prediction (kept beside the original)."""
    import json

    from iml4e.errors import BadInput
    from iml4e.serving.operator import record_override
    from iml4e.store import open_store

    try:
        parsed = json.loads(value)
    except ValueError:
        raise BadInput(f"not JSON: {value!r} (quote text: '\"yes\"')", where="--value") from None
    settings = _settings(ctx)
    with open_store(settings) as store:
        record = record_override(
            store,
            name,
            request_id=request_id,
            value=parsed,
            actor=by or settings.user,
            reason=reason,
        )
    if json_output:
        print_json(asdict(record))
        return
    console.print(
        f"{record.deployment} request {record.request_id}: {record.original} -> "
        f"{record.value} (by {record.actor})"
    )


@deploy_app.command("overrides")
def overrides_command(
    ctx: typer.Context, name: NameArgument, json_output: JsonOption = False
) -> None:
    """List the overrides recorded on a deployment."""
    from iml4e.serving.operator import list_overrides
    from iml4e.store import open_store

    with open_store(_settings(ctx)) as store:
        records = list_overrides(store, name)
    if json_output:
        print_json([asdict(record) for record in records])
        return
    print_table(
        f"overrides of {name}",
        ("request", "model version", "original", "value", "by", "reason", "at"),
        [
            (
                r.request_id,
                r.model_version,
                str(r.original),
                str(r.value),
                r.actor,
                r.reason,
                str(r.at),
            )
            for r in records
        ],
    )


def _print_state(name: str, state: str, json_output: bool, interval: float) -> None:
    if json_output:
        print_json({"deployment": name, "state": state})
        return
    console.print(f"deployment {name}: {state} (its servers follow within {interval:g} s)")


def register(app: typer.Typer) -> None:
    """Add ``iml4e deploy`` to the root command."""
    app.add_typer(deploy_app)
