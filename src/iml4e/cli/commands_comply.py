"""``iml4e comply …``: EU AI Act compliance of AI systems: classify, assess, attest, document."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.commands_classify import print_classification
from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.compliance.assessment import AssessmentInfo
    from iml4e.compliance.systems import SystemRecord
    from iml4e.config import Settings
    from iml4e.store import Store

comply_app = typer.Typer(
    name="comply",
    help="EU AI Act compliance: classify AI systems, assess, attest, document, report incidents.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who acts, for the record (default: user).")
]
SystemArgument = Annotated[str, typer.Argument(help="AI system name (as registered).")]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Registered model (default: the system's, when it has one)."),
]
DateOption = Annotated[
    datetime | None,
    typer.Option(
        "--on",
        formats=["%Y-%m-%d"],
        help="Date the document is as of, YYYY-MM-DD (default: today).",
    ),
]


class DocumentKind(StrEnum):
    """The documents ``comply report`` writes."""

    annex_iv = "annex-iv"
    instructions = "instructions"
    model_card = "model-card"
    monitoring_plan = "monitoring-plan"
    monitoring_report = "monitoring-report"
    declaration = "declaration"


class DocumentFormat(StrEnum):
    """The file formats of a document."""

    html = "html"
    md = "md"
    pdf = "pdf"


@contextmanager
def comply_store(ctx: typer.Context, *, tracking: bool = False) -> Iterator[tuple[Settings, Store]]:
    """Settings and an open store; with ``tracking`` the MLflow tables are made ready too."""
    from iml4e.config import prepare_home
    from iml4e.platform import initialize
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    if tracking:
        initialize(settings)
    else:
        prepare_home(settings)
    store = open_store(settings)
    try:
        yield settings, store
    finally:
        store.close()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"


@comply_app.command("register")
def register_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="System file (YAML).")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Signed-off compliance policy file (YAML).")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Register (or update) an AI system from its file and classify it.

    With --policy, the signed-off limits are checked against the catalogue and recorded;
    without, a policy recorded earlier is kept.
    """
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.compliance.policy import load_compliance_policy
    from iml4e.compliance.systems import load_system_file, register_system

    definition = load_system_file(file)
    rules = load_compliance_policy(policy, load_catalogue()) if policy is not None else None
    with comply_store(ctx) as (settings, store):
        record = register_system(store, definition, policy=rules, actor=settings.user)
    if json_output:
        print_json(_system_dict(record))
        return
    console.print(f"registered {record.name}", markup=False)
    print_classification(record.classification)
    signed = record.policy.signed_off_by if record.policy else None
    console.print(f"policy: {f'signed off by {signed}' if signed else 'none'}", markup=False)


def _system_dict(record: SystemRecord) -> dict[str, object]:
    return {
        "name": record.name,
        "tier": record.tier,
        "models": list(record.models),
        "classification": record.classification.model_dump(mode="json"),
        "policy": record.policy.model_dump(mode="json") if record.policy else None,
        "created_at": _when(record.created_at),
        "updated_at": _when(record.updated_at),
    }


@comply_app.command("systems")
def systems_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List registered AI systems with their tier, models and policy sign-off."""
    from iml4e.compliance.systems import list_systems

    with comply_store(ctx) as (_, store):
        systems = list_systems(store)
    if json_output:
        print_json([_system_dict(record) for record in systems])
        return
    print_table(
        "AI systems",
        ("name", "tier", "models", "policy signed off by"),
        [
            (s.name, s.tier, ", ".join(s.models), s.policy.signed_off_by if s.policy else "-")
            for s in systems
        ],
    )
    if not systems:
        console.print("no systems yet: iml4e comply register FILE")


@comply_app.command("show")
def show_command(
    ctx: typer.Context, system: SystemArgument, json_output: JsonOption = False
) -> None:
    """Show a system, its classification and a summary of its latest assessment."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.systems import get_system

    with comply_store(ctx) as (_, store):
        record = get_system(store, system)
        latest = latest_assessment(store, system)
    summary = None if latest is None else _summary(latest)
    if json_output:
        print_json({**_system_dict(record), "latest_assessment": summary})
        return
    console.print(f"system {record.name}: {record.definition.provider}", markup=False)
    console.print(f"models: {', '.join(record.models)}", markup=False)
    print_classification(record.classification)
    signed = record.policy.signed_off_by if record.policy else None
    console.print(f"policy: {f'signed off by {signed}' if signed else 'none'}", markup=False)
    if summary is None:
        console.print(f"not assessed yet: iml4e comply assess {record.name}", markup=False)
        return
    print_table("latest assessment", ("what", "value"), [(k, str(v)) for k, v in summary.items()])


def _summary(assessment: AssessmentInfo) -> dict[str, object]:
    return {
        "id": assessment.id,
        "model": f"{assessment.model_name} version {assessment.model_version}",
        "created": _when(assessment.created_at),
        "stale": "; ".join(assessment.stale_reasons) or "no",
        "counts": ", ".join(f"{k} {n}" for k, n in assessment.counts().items()),
        "blocking": ", ".join(r.control_id for r in assessment.blocking()) or "none",
    }


def _print_assessment(assessment: AssessmentInfo) -> None:
    print_table(
        f"assessment #{assessment.id} of {assessment.system}: {assessment.model_name} "
        f"version {assessment.model_version}",
        ("control", "status", "detail"),
        [(r.control_id, r.status, r.detail) for r in assessment.results],
    )
    console.print(
        ", ".join(f"{status} {n}" for status, n in assessment.counts().items())
        + f" in {assessment.duration_s:.1f} s",
        markup=False,
    )
    for reason in assessment.stale_reasons:
        console.print(f"stale: {reason}", soft_wrap=True, markup=False)
    blocking = [result.control_id for result in assessment.blocking()]
    console.print(f"blocking promotion: {', '.join(blocking) or 'none'}", soft_wrap=True)


@comply_app.command("assess")
def assess_command(
    ctx: typer.Context,
    system: SystemArgument,
    model: ModelOption = None,
    version: Annotated[
        str | None,
        typer.Option("--version", help="Model version (default: deployed, champion or newest)."),
    ] = None,
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", help="Deployment (default: the first serving the model)."),
    ] = None,
    require_pass: Annotated[
        bool,
        typer.Option("--require-pass", help="Exit 1 when a required control blocks promotion."),
    ] = False,
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Assess a model version of a system against every control of its tier and store it."""
    from iml4e.compliance.assessment import assess
    from iml4e.errors import CheckFailed

    with comply_store(ctx, tracking=True) as (settings, store):
        assessment = assess(
            settings,
            store,
            system,
            actor=actor or settings.user,
            model_name=model,
            version=version,
            deployment=deployment,
        )
    if json_output:
        print_json(assessment.as_dict())
    else:
        _print_assessment(assessment)
    blocking = [result.control_id for result in assessment.blocking()]
    if require_pass and blocking:
        raise CheckFailed(
            f"{len(blocking)} required controls block promotion: {', '.join(blocking)}",
            where=f"assessment #{assessment.id}",
        )


@comply_app.command("status")
def status_command(
    ctx: typer.Context,
    system: SystemArgument,
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    version: Annotated[str | None, typer.Option("--version", help="Only this version.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show the latest stored assessment and why it is stale, without assessing again."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.systems import get_system
    from iml4e.errors import BadInput

    with comply_store(ctx) as (_, store):
        get_system(store, system)  # an unknown name is an error, not "not assessed"
        latest = latest_assessment(store, system, model, version)
    if latest is None:
        raise BadInput(f"not assessed yet (iml4e comply assess {system})", where=system)
    if json_output:
        print_json(latest.as_dict())
        return
    _print_assessment(latest)
    if not latest.stale:
        console.print("up to date: nothing it rests on changed since")


@comply_app.command("reassess")
def reassess_command(
    ctx: typer.Context, actor: ActorOption = None, json_output: JsonOption = False
) -> None:
    """Assess again every system whose latest assessment went stale."""
    from iml4e.compliance.assessment import reassess_stale

    with comply_store(ctx, tracking=True) as (settings, store):
        fresh = reassess_stale(settings, store, actor=actor or settings.user)
    if json_output:
        print_json([assessment.as_dict() for assessment in fresh])
        return
    print_table(
        "reassessed",
        ("id", "system", "model", "version", "blocking"),
        [(a.id, a.system, a.model_name, a.model_version, len(a.blocking())) for a in fresh],
    )
    if not fresh:
        console.print("nothing was stale")


@comply_app.command("attest")
def attest_command(
    ctx: typer.Context,
    system: SystemArgument,
    control: Annotated[str, typer.Argument(help="Control id, e.g. ART14-OVERSIGHT-STAFF.")],
    statement: Annotated[
        str, typer.Option("--statement", help="What you state, in your own words.")
    ],
    model: ModelOption = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Only this version (default: every version).")
    ] = None,
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record a named person's statement for a control that needs human judgement."""
    from iml4e.compliance.attestations import attest
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.tracking import connect_tracking

    with comply_store(ctx, tracking=True) as (settings, store):
        info = attest(
            store,
            connect_tracking(settings, store),
            load_catalogue(),
            system=system,
            control_id=control,
            actor=actor or settings.user,
            statement=statement,
            model_name=model,
            version=version,
        )
    if json_output:
        print_json(info.as_dict())
        return
    covers = (
        f"{info.model_name} version {info.model_version}"
        if info.model_version is not None
        else "every version of its models"
    )
    console.print(
        f"attestation #{info.id}: {info.actor} attests {info.control_id} of {info.system} "
        f"for {covers}",
        soft_wrap=True,
        markup=False,
    )


@comply_app.command("attestations")
def attestations_command(
    ctx: typer.Context,
    system: SystemArgument,
    control: Annotated[str | None, typer.Option("--control", help="Only this control.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List a system's attestations, oldest first."""
    from iml4e.compliance.attestations import list_attestations
    from iml4e.compliance.systems import get_system

    with comply_store(ctx) as (_, store):
        get_system(store, system)  # an unknown name is an error, not an empty list
        attestations = list_attestations(store, system, control_id=control)
    if json_output:
        print_json([info.as_dict() for info in attestations])
        return
    print_table(
        f"attestations of {system}",
        ("id", "control", "covers", "by", "when", "statement"),
        [
            (
                a.id,
                a.control_id,
                f"{a.model_name} {a.model_version}" if a.model_version else "every version",
                a.actor,
                _when(a.created_at),
                a.statement,
            )
            for a in attestations
        ],
    )


@comply_app.command("report")
def report_command(
    ctx: typer.Context,
    system: SystemArgument,
    kind: Annotated[
        DocumentKind,
        typer.Option(
            "--kind",
            help="annex-iv, instructions, model-card, monitoring-plan, monitoring-report "
            "or declaration.",
        ),
    ] = (DocumentKind.annex_iv),
    fmt: Annotated[
        DocumentFormat, typer.Option("--format", help="html, md or pdf (pdf needs the pdf extra).")
    ] = (DocumentFormat.html),
    model: ModelOption = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Model version (default: as assess picks).")
    ] = None,
    on: DateOption = None,
    actor: ActorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write a compliance document under <home>/compliance/SYSTEM/ and record its hash."""
    from iml4e.compliance.reports import generate_document

    with comply_store(ctx, tracking=True) as (settings, store):
        record = generate_document(
            settings,
            store,
            system,
            actor=actor or settings.user,
            kind=kind.value,
            fmt=fmt.value,
            model_name=model,
            version=version,
            on=on.date() if on is not None else None,
        )
    if json_output:
        print_json(record.as_dict())
        return
    console.print(
        f"wrote {record.kind} ({record.format}): {record.path}", soft_wrap=True, markup=False
    )
    console.print(f"sha256 {record.sha256}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add the comply group (and its catalogue and incident commands) to the root command."""
    from iml4e.cli import commands_classify, commands_incidents

    commands_classify.register(comply_app)
    commands_incidents.register(comply_app)
    app.add_typer(comply_app)
