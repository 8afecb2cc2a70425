"""The main job: ``iml4e demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.scenarios.demo import DemoSummary
    from iml4e.scenarios.monitoring_loop import LoopSummary


def demo(
    ctx: typer.Context,
    case: Annotated[
        str, typer.Option(help="Which case: credit (synthetic applications) or wine.")
    ] = "credit",
    rows: Annotated[
        int, typer.Option(min=500, help="Training rows to generate (credit case).")
    ] = 20_000,
    requests: Annotated[int, typer.Option(min=10, help="Requests to send to the server.")] = 300,
    drift: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Drift of the drifted request batch.")
    ] = 0.8,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 7,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            help="Threshold the model must meet, e.g. 'roc_auc>=0.75' (repeatable; replaces "
            "the case's gate)."
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(help="Where the training pipeline runs: local, local:N, ray, ray://…"),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the main job: the training pipeline (cached), then serving and the inference log."""
    from iml4e.registry import parse_threshold
    from iml4e.scenarios.demo import DemoOptions, run_demo

    thresholds = tuple(parse_threshold(text) for text in gate) if gate else None
    options = DemoOptions(
        case=case,
        rows=rows,
        requests=requests,
        drift=drift,
        seed=seed,
        gate=thresholds,
        executor=executor,
    )
    settings = cli_state(ctx).resolve().settings

    def show_step(step: str, detail: str) -> None:
        if not json:
            console.print(f"[bold cyan]{step:>15}[/]  {detail}")

    summary = run_demo(settings, options, on_step=show_step)
    if json:
        print_json(summary.as_dict())
        return
    print_table(
        f"iml4e demo --case {summary.case}: summary",
        ["what", "value"],
        [
            (
                "pipeline run",
                f"{summary.pipeline_run_id} ({summary.cache_hits} steps from the cache)",
            ),
            ("MLflow run", f"{summary.mlflow_run_id} (experiment {summary.experiment})"),
            (
                "dataset",
                f"{summary.dataset} v{summary.dataset_version} ({summary.dataset_hash[:12]})",
            ),
            ("model", f"{summary.model_name} version {summary.model_version} @{summary.alias}"),
            (
                "held-out accuracy / AUC",
                f"{summary.metrics['accuracy']:.3f} / {summary.metrics['roc_auc']:.3f}",
            ),
            (
                "requests answered / logged",
                f"{summary.requests_answered} of {summary.requests_sent} / "
                f"{summary.requests_logged}",
            ),
            (
                "live accuracy reference / drifted",
                f"{summary.live_accuracy_reference:.3f} / {summary.live_accuracy_drifted:.3f}",
            ),
            (
                "server latency p50 / p95",
                f"{summary.latency_p50_ms:.2f} ms / {summary.latency_p95_ms:.2f} ms",
            ),
            *_release_rows(summary),
            *_compliance_rows(summary),
            ("total time", f"{summary.total_seconds:.1f} s"),
            *((f"look: {k}", v) for k, v in summary.where_to_look.items()),
        ],
    )


def _release_rows(summary: DemoSummary) -> list[tuple[str, str]]:
    release = summary.release
    if release is None:
        return []
    canary = ", ".join(f"v{v}: {n}" for v, n in sorted(release.canary_answers.items()))
    return [
        ("deployment", f"{release.deployment} at {release.url} (pid {release.pid})"),
        (
            "canary",
            f"challenger v{release.challenger_version} on {release.canary_split:.0%} ({canary})",
        ),
        ("promotion", release.promotion),
        (
            "served after promotion / rollback",
            f"v{release.served_after_promotion} / v{release.served_after_rollback} "
            f"({release.server_restarts} server restarts)",
        ),
        *_loop_rows(release.loop),
    ]


def _compliance_rows(summary: DemoSummary) -> list[tuple[str, str]]:
    found = summary.compliance
    if found is None:
        return []
    counts = found.counts
    rows = [
        ("AI system", f"{found.system}: {found.tier}"),
        (
            "compliance assessment",
            f"#{found.assessment_id} of v{found.model_version}: {counts['pass']} pass, "
            f"{counts['fail']} fail, {counts['needs_attestation']} await attestation, "
            f"{counts['not_applicable']} n/a ({found.assess_seconds:.2f} s)",
        ),
        ("blocking promotion", ", ".join(found.blocking) or "nothing"),
        ("Annex IV documentation", found.annex_iv),
    ]
    if found.previous_stale:
        rows.append(("previous assessment stale", "; ".join(found.previous_stale)))
    return rows


def _loop_rows(loop: LoopSummary | None) -> list[tuple[str, str]]:
    if loop is None:
        return []
    auc = (
        "-"
        if loop.roc_auc_challenger is None
        else (f"{loop.roc_auc_challenger:.3f} vs {loop.roc_auc_champion:.3f} ({loop.compared_on})")
    )
    return [
        (
            "drift (monitor report)",
            f"share {loop.drift_share} → {loop.alert} (report {loop.report_id})",
        ),
        ("retraining", f"v{loop.retrained_version}: {loop.retraining}"),
        ("head-to-head ROC AUC", auc),
        ("served after retraining", f"v{loop.served_after}" if loop.served_after else "-"),
        ("monitor report page", loop.report_html or "-"),
    ]


def register(app: typer.Typer) -> None:
    """Add the demo command to the root command."""
    app.command()(demo)
