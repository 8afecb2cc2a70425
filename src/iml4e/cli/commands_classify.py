"""``iml4e comply controls|examples|classify|policy-template|calendar``: the shipped data.

The control catalogue, the classification questionnaire with its worked examples, the policy
template and the legal calendar; nothing here opens the store.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.compliance.classification import Classification

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
CalendarDateOption = Annotated[
    datetime | None,
    typer.Option("--on", formats=["%Y-%m-%d"], help="The date, YYYY-MM-DD (default: today)."),
]


class CalendarTier(StrEnum):
    """The risk tiers of the legal calendar."""

    prohibited = "prohibited"
    high_risk = "high-risk"
    limited = "limited"
    minimal = "minimal"


class Annex(StrEnum):
    """The annex that makes a system high-risk."""

    I = "I"  # noqa: E741 - the annex is called I
    III = "III"


def controls_command(json_output: JsonOption = False) -> None:
    """List the control catalogue and how many controls a machine or a person decides."""
    from iml4e.compliance.catalogue import load_catalogue

    catalogue = load_catalogue()
    if json_output:
        print_json(
            {
                "version": catalogue.version,
                "controls": [control.model_dump(mode="json") for control in catalogue.controls],
                "coverage": catalogue.coverage(),
            }
        )
        return
    print_table(
        f"controls (catalogue {catalogue.version})",
        ("id", "type", "articles", "required", "title"),
        [
            (
                c.id,
                c.type,
                ", ".join(c.articles),
                "yes" if c.required_for_promotion else "no",
                c.title,
            )
            for c in catalogue.controls
        ],
    )
    console.print(", ".join(f"{kind}: {n}" for kind, n in catalogue.coverage().items()))


def examples_command(json_output: JsonOption = False) -> None:
    """List the worked classification examples (use one with comply classify --example)."""
    from iml4e.compliance.classification import list_examples, load_example

    examples = [load_example(name) for name in list_examples()]
    if json_output:
        print_json([example.model_dump(mode="json") for example in examples])
        return
    print_table(
        "worked examples",
        ("name", "system", "role", "expected tier"),
        [(e.name, e.system, e.role, e.expected_tier) for e in examples],
    )


def classify_command(
    file: Annotated[
        Path | None, typer.Argument(help="System file whose questionnaire answers to classify.")
    ] = None,
    example: Annotated[
        str | None, typer.Option("--example", help="Classify a worked example instead.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Classify questionnaire answers into a risk tier, with reasons; records nothing."""
    from iml4e.compliance.classification import classify, load_example
    from iml4e.compliance.systems import load_system_file

    if (file is None) == (example is None):
        raise typer.BadParameter("give a system FILE or --example NAME, not both")
    if file is not None:
        answers = load_system_file(file).answers
    else:
        answers = load_example(str(example)).answers
    classification = classify(answers)
    if json_output:
        print_json(classification.model_dump(mode="json"))
        return
    print_classification(classification)


def print_classification(classification: Classification) -> None:
    console.print(f"tier: {classification.tier}")
    for reason in classification.reasons:
        console.print(f"  - {reason}", soft_wrap=True, markup=False)
    console.print(f"articles: {', '.join(classification.articles) or '-'}", markup=False)


def policy_template_command() -> None:
    """Print the compliance policy template, to fill in, sign off and pass to comply register."""
    from iml4e.compliance.policy import policy_template_text

    typer.echo(policy_template_text(), nl=False)


def calendar_command(
    tier: Annotated[
        CalendarTier, typer.Option("--tier", help="prohibited, high-risk, limited or minimal.")
    ],
    on: CalendarDateOption = None,
    annex: Annotated[
        Annex | None, typer.Option("--annex", help="I or III: the annex that makes it high-risk.")
    ] = None,
    gpai: Annotated[bool, typer.Option("--gpai", help="A general-purpose AI model.")] = False,
    transparency: Annotated[
        bool | None,
        typer.Option(
            "--transparency/--no-transparency",
            help="Has Art. 50 transparency duties (default: when the tier is limited).",
        ),
    ] = None,
    omnibus: Annotated[
        bool, typer.Option("--omnibus", help="Use the Digital Omnibus dates for high-risk.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List the AI Act obligations in force on a date for a system of a tier."""
    from iml4e.compliance.legal_calendar import obligations_in_force

    day = (on or datetime.now()).date()
    obligations = obligations_in_force(
        day,
        tier=tier.value,  # type: ignore[arg-type]
        annex=annex.value if annex is not None else None,  # type: ignore[arg-type]
        gpai=gpai,
        transparency=transparency,
        assume_omnibus=omnibus,
    )
    if json_output:
        print_json([obligation.model_dump(mode="json") for obligation in obligations])
        return
    print_table(
        f"obligations in force on {day.isoformat()} ({tier.value})",
        ("name", "articles", "applies from", "status"),
        [
            (o.name, ", ".join(o.articles), o.applies_from.isoformat(), o.status)
            for o in obligations
        ],
    )


def register(comply_app: typer.Typer) -> None:
    """Add the catalogue, classification and calendar commands to the ``comply`` group."""
    comply_app.command("controls")(controls_command)
    comply_app.command("examples")(examples_command)
    comply_app.command("classify")(classify_command)
    comply_app.command("policy-template")(policy_template_command)
    comply_app.command("calendar")(calendar_command)
