"""``iml4e audit list|verify``: read the audit trail and check that its chain holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table
from iml4e.errors import BadInput, CheckFailed

if TYPE_CHECKING:
    from iml4e.store import Store

audit_app = typer.Typer(
    name="audit",
    help="The audit trail: who changed what, when, and whether the record is intact.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


class Outcome(StrEnum):
    """The outcomes an audit event can have."""

    ok = "ok"
    denied = "denied"
    failed = "failed"


@contextmanager
def _store(ctx: typer.Context) -> Iterator[Store]:
    from iml4e.config import prepare_home
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    prepare_home(settings)
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


def _since(value: str | None) -> datetime | None:
    from iml4e.store.models import naive_utc

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"not an ISO date or time: {value!r} (e.g. 2026-01-31 or 2026-01-31T08:00:00Z)",
            where="--since",
        ) from None
    return naive_utc(moment)  # a time without a zone is taken as UTC, as stored


@audit_app.command("list")
def list_command(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events by this actor.")] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only actions starting with this (e.g. registry.)."),
    ] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only this target (e.g. deployment:credit).")
    ] = None,
    outcome: Annotated[Outcome | None, typer.Option("--outcome", help="Only this outcome.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only events at or after this ISO time (UTC).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="At most this many events, newest first.")
    ] = 50,
    json_output: JsonOption = False,
) -> None:
    """Show audit events, newest first."""
    from iml4e.audit import list_audit

    moment = _since(since)
    with _store(ctx) as store:
        records = list_audit(
            store,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome.value if outcome is not None else None,
            since=moment,
            limit=limit,
        )
    if json_output:
        print_json([record.as_dict() for record in records])
        return
    print_table(
        "audit trail",
        ("id", "at (UTC)", "actor", "action", "target", "outcome", "detail"),
        [
            [
                r.id,
                r.at.isoformat(timespec="seconds"),
                r.actor,
                r.action,
                r.target,
                r.outcome,
                json.dumps(r.detail, default=str, sort_keys=True),
            ]
            for r in records
        ],
    )


@audit_app.command("verify")
def verify_command(
    ctx: typer.Context,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="The head hash you kept; rows deleted at the end are then found on any database.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Walk the hash chain; exit 1 naming the first row that was changed or removed."""
    from iml4e.audit import verify_audit

    with _store(ctx) as store:
        result = verify_audit(store, expected_head=head)
    if json_output:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "head": result.head,
                "first_broken": result.first_broken,
                "problem": result.problem,
            }
        )
    elif result.ok:
        console.print(f"audit trail intact: {result.checked} rows checked", markup=False)
        console.print(f"head {result.head}", markup=False)
    if not result.ok:
        where = (
            f"audit row {result.first_broken}"
            if result.first_broken is not None
            else "audit trail head"
        )
        raise CheckFailed(f"{result.problem} ({result.checked} rows before it hold)", where=where)


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group to the root command."""
    app.add_typer(audit_app)
