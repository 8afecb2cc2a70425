"""``iml4e model …``: browse registered models, approve, promote and roll back versions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.lineage_view import print_lineage
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.config import Settings
    from iml4e.registry import RegistryChange, VersionDetail, VersionLineage
    from iml4e.store import Store

model_app = typer.Typer(
    name="model",
    help="Browse registered models; approve, promote and roll back versions.",
    no_args_is_help=True,
)


def _checked_name(name: str) -> str:
    from iml4e.registry.names import check_model_name

    return check_model_name(name)  # InvalidModelName: exit 2 before anything is opened


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
NameArgument = Annotated[str, typer.Argument(help="Registered model name.", callback=_checked_name)]
VersionArgument = Annotated[str, typer.Argument(help="Model version number.")]
AliasOption = Annotated[str, typer.Option("--alias", help="The alias.")]


@contextmanager
def _registry(ctx: typer.Context) -> Iterator[tuple[Settings, Store, MlflowClient]]:
    from iml4e.platform import initialize
    from iml4e.store import open_store
    from iml4e.tracking import connect_tracking

    settings = cli_state(ctx).resolve().settings
    initialize(settings)
    store = open_store(settings)
    try:
        yield settings, store, connect_tracking(settings, store)
    finally:
        store.close()


def _history_rows(events: list[RegistryChange]) -> list[list[Any]]:
    return [
        [
            event.created_at.isoformat(timespec="seconds") if event.created_at else "",
            event.kind,
            event.model_version,
            event.alias,
            event.previous_version,
            event.actor,
        ]
        for event in events
    ]


HISTORY_COLUMNS = ("when", "kind", "version", "alias", "previous", "by")


@model_app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List registered models with their latest version and aliases."""
    from iml4e.registry import list_models

    with _registry(ctx) as (_, _, client):
        models = list_models(client)
    if json_output:
        print_json([asdict(model) for model in models])
        return
    print_table(
        "models",
        ("name", "latest", "versions", "aliases"),
        [
            [
                m.name,
                m.latest_version,
                m.n_versions,
                ", ".join(f"{a}={v}" for a, v in sorted(m.aliases.items())),
            ]
            for m in models
        ],
    )


@model_app.command("show")
def show_command(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[
        str | None, typer.Argument(help="One version: adds its lineage (pipeline run, data).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show a model's versions (aliases, metrics, dataset version, pipeline run) and history.

    With VERSION, show that version, the pipeline run, steps and dataset versions (with
    content hashes) it was made from, and its history.
    """
    if version is not None:
        _show_version(ctx, name, version, json_output)
        return
    from iml4e.registry import alias_history, model_versions

    with _registry(ctx) as (_, store, client):
        versions = model_versions(client, store, name)
        history = alias_history(store, name)
    if json_output:
        print_json(
            {
                "name": name,
                "versions": [asdict(version) for version in versions],
                "history": [event.as_dict() for event in history],
            }
        )
        return
    print_table(f"model {name}", VERSION_COLUMNS, [_version_row(v) for v in versions])
    print_table("history", HISTORY_COLUMNS, _history_rows(history))


VERSION_COLUMNS = ("version", "aliases", "metrics", "dataset version", "pipeline run")


def _version_row(version: VersionDetail) -> list[Any]:
    return [
        version.version,
        ", ".join(version.aliases),
        ", ".join(f"{k}={value:.4g}" for k, value in sorted(version.metrics.items())),
        version.dataset_version_id,
        version.pipeline_run_id,
    ]


def _show_version(ctx: typer.Context, name: str, version: str, json_output: bool) -> None:
    from iml4e.registry import model_version, registry_events, version_lineage

    with _registry(ctx) as (_, store, client):
        detail = model_version(client, store, name, version)
        lineage = version_lineage(store, name, detail.version)
        history = registry_events(store, name, version=detail.version)
    if json_output:
        print_json(
            {
                **asdict(detail),
                "lineage": lineage.as_dict() if lineage else None,
                "history": [event.as_dict() for event in history],
            }
        )
        return
    print_table(f"model {name} version {detail.version}", VERSION_COLUMNS, [_version_row(detail)])
    _print_version_lineage(lineage)
    print_table("history", HISTORY_COLUMNS, _history_rows(history))


def _print_version_lineage(lineage: VersionLineage | None) -> None:
    if lineage is None:
        console.print("lineage: no pipeline step recorded this version")
        return
    print_lineage(lineage.graph)
    console.print(f"pipeline runs: {', '.join(lineage.pipeline_run_ids)}", soft_wrap=True)
    for dataset in lineage.datasets:  # one line each, so the full hash stays searchable
        console.print(
            f"dataset {dataset.name}@{dataset.version}: content {dataset.content_hash}, "
            f"{dataset.rows} rows",
            soft_wrap=True,
            markup=False,
        )


@model_app.command("approve")
def approve_command(
    ctx: typer.Context,
    name: NameArgument,
    version: VersionArgument,
    by: Annotated[str | None, typer.Option("--by", help="Who approves (default: user).")] = None,
    note: Annotated[str, typer.Option("--note", help="Why, for the record.")] = "",
) -> None:
    """Record an approval of a model version (one per person counts)."""
    from iml4e.registry import approve

    with _registry(ctx) as (settings, store, client):
        approved_by = approve(client, store, name, version, actor=by or settings.user, note=note)
    console.print(f"approved {name} version {version}; approvers: {', '.join(approved_by)}")


@model_app.command("promote")
def promote_command(
    ctx: typer.Context,
    name: NameArgument,
    version: VersionArgument,
    to: Annotated[str, typer.Option("--to", help="Alias to move.")] = "champion",
    policy: Annotated[
        Path | None,
        typer.Option(help="Policy file (default: <home>/policies/NAME.yaml, if present)."),
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who promotes (default: user).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Move an alias to a version if its promotion policy is met (exit 1 listing failures)."""
    from iml4e.registry import promote, resolve_policy

    with _registry(ctx) as (settings, store, client):
        rules = resolve_policy(settings.home, name, to, policy)
        result = promote(
            client, store, name, version, policy=rules, to=to, actor=by or settings.user
        )
    checks = [asdict(check) for check in result.evaluation.checks]
    if json_output:
        print_json(
            {
                "name": name,
                "version": result.version,
                "alias": result.alias,
                "previous_version": result.previous_version,
                "checks": checks,
            }
        )
        return
    for check in result.evaluation.checks:
        console.print(f"  passed  {check.name}  ({check.detail})", soft_wrap=True)
    was = f" (was {result.previous_version})" if result.previous_version else ""
    console.print(f"{name}@{result.alias} -> version {result.version}{was}")


@model_app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    name: NameArgument,
    alias: AliasOption = "champion",
    by: Annotated[str | None, typer.Option("--by", help="Who rolls back (default: user).")] = None,
) -> None:
    """Move an alias back to where it pointed before its last promotion."""
    from iml4e.registry import rollback

    with _registry(ctx) as (settings, store, client):
        result = rollback(client, store, name, alias=alias, actor=by or settings.user)
    target = result.restored_version or "(removed)"
    console.print(f"{name}@{alias}: version {result.undone_version} -> {target}")


@model_app.command("history")
def history_command(
    ctx: typer.Context,
    name: NameArgument,
    alias: Annotated[str | None, typer.Option("--alias", help="Only this alias.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List every recorded registry change of a model, oldest first."""
    from iml4e.registry import alias_history, model_versions

    with _registry(ctx) as (_, store, client):
        model_versions(client, store, name)  # an unknown model is an error, not an empty list
        events = alias_history(store, name, alias)
    if json_output:
        print_json([event.as_dict() for event in events])
        return
    print_table(f"history of {name}", HISTORY_COLUMNS, _history_rows(events))


def register(app: typer.Typer) -> None:
    app.add_typer(model_app)
