"""``iml4e comply incident …``: serious incidents (Art. 73), their clocks and the draft report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.commands_comply import ActorOption, JsonOption, SystemArgument, comply_store
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.compliance.incidents import IncidentInfo

incident_app = typer.Typer(
    name="incident",
    help="Serious incidents (Art. 73): open, list, report, close, lift the freeze, draft.",
    no_args_is_help=True,
)

IdArgument = Annotated[int, typer.Argument(help="Incident number.")]


class Severity(StrEnum):
    """The kinds of serious incident, each with its legal reporting deadline."""

    serious = "serious"
    widespread = "widespread"
    death = "death"


def _print_incident(verb: str, incident: IncidentInfo) -> None:
    console.print(
        f"incident #{incident.id} {verb}: {incident.state}, {incident.severity} "
        f"({incident.article}), report due {incident.due_at.isoformat(timespec='seconds')} UTC, "
        f"{'freezes' if incident.freezes_promotion else 'does not freeze'} promotion",
        soft_wrap=True,
        markup=False,
    )


@incident_app.command("open")
def open_command(
    ctx: typer.Context,
    system: SystemArgument,
    deployment: Annotated[
        str, typer.Option("--deployment", help="The deployment the incident happened on.")
    ],
    severity: Annotated[
        Severity,
        typer.Option("--severity", help="serious (15 days), widespread (2) or death (10)."),
    ],
    title: Annotated[str, typer.Option("--title", help="What happened, in one line.")],
    description: Annotated[str, typer.Option("--description", help="What is known so far.")] = "",
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Open a serious incident and start its reporting clock; it freezes promotions.

    The deadline is the legal one, shortened by the system's signed-off policy.
    """
    from iml4e.compliance.incidents import open_incident

    with comply_store(ctx) as (settings, store):
        incident = open_incident(
            store,
            system=system,
            deployment=deployment,
            severity=severity.value,
            title=title,
            actor=actor or settings.user,
            description=description,
        )
    if json_output:
        print_json(incident.as_dict())
        return
    _print_incident("opened", incident)


@incident_app.command("list")
def list_command(
    ctx: typer.Context,
    system: Annotated[str | None, typer.Option("--system", help="Only this system.")] = None,
    open_only: Annotated[
        bool, typer.Option("--open", help="Only incidents not yet reported or closed.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List incidents, oldest first, with their state and deadline."""
    from iml4e.compliance.incidents import list_incidents
    from iml4e.compliance.systems import get_system

    with comply_store(ctx) as (_, store):
        if system is not None:
            get_system(store, system)  # an unknown name is an error, not an empty list
        incidents = list_incidents(store, system=system, open_only=open_only)
    if json_output:
        print_json([incident.as_dict() for incident in incidents])
        return
    now = datetime.now()
    print_table(
        "incidents",
        ("id", "system", "deployment", "severity", "state", "due", "overdue", "title"),
        [
            (
                i.id,
                i.system,
                i.deployment,
                i.severity,
                i.state,
                i.due_at.isoformat(timespec="seconds"),
                "yes" if i.overdue(now) else "no",
                i.title,
            )
            for i in incidents
        ],
    )


@incident_app.command("report")
def report_command(
    ctx: typer.Context,
    incident_id: IdArgument,
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record that the report was sent to the market surveillance authority (lifts the freeze)."""
    from iml4e.compliance.incidents import report_incident

    with comply_store(ctx) as (settings, store):
        incident = report_incident(store, incident_id, actor=actor or settings.user)
    _show("reported", incident, json_output)


@incident_app.command("close")
def close_command(
    ctx: typer.Context,
    incident_id: IdArgument,
    note: Annotated[str, typer.Option("--note", help="Why the incident is over.")],
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Close an incident with a note saying why."""
    from iml4e.compliance.incidents import close_incident

    with comply_store(ctx) as (settings, store):
        incident = close_incident(store, incident_id, actor=actor or settings.user, note=note)
    _show("closed", incident, json_output)


@incident_app.command("override")
def override_command(
    ctx: typer.Context,
    incident_id: IdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why a change must ship now.")],
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Lift an open incident's promotion freeze; who and why are recorded."""
    from iml4e.compliance.incidents import override_freeze

    with comply_store(ctx) as (settings, store):
        incident = override_freeze(store, incident_id, actor=actor or settings.user, reason=reason)
    _show("freeze lifted", incident, json_output)


@incident_app.command("draft")
def draft_command(ctx: typer.Context, incident_id: IdArgument) -> None:
    """Print a Markdown draft of the report to the market surveillance authority."""
    from iml4e.compliance.incidents import draft_incident_report

    with comply_store(ctx) as (_, store):
        draft = draft_incident_report(store, incident_id)
    typer.echo(draft, nl=False)


def _show(verb: str, incident: IncidentInfo, json_output: bool) -> None:
    if json_output:
        print_json(incident.as_dict())
    else:
        _print_incident(verb, incident)


def register(comply_app: typer.Typer) -> None:
    """Add the incident group to the ``comply`` group."""
    comply_app.add_typer(incident_app)
