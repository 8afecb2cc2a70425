"""``iml4e pipeline …`` and ``iml4e lineage``: run pipelines, inspect runs, trace lineage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.lineage_view import print_lineage
from iml4e.cli.output import console, print_json, print_table

if TYPE_CHECKING:
    from iml4e.pipelines.records import RunRecord

pipeline_app = typer.Typer(
    name="pipeline", help="Run pipelines, list and inspect their runs.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Pipeline parameter as key=value (repeatable)."),
]
ExecutorOption = Annotated[
    str | None,
    typer.Option(help="local, local:N, ray or ray://host:port (default: pipeline_executor)."),
]


def _settings(ctx: typer.Context):
    return cli_state(ctx).resolve().settings


def _params(definition: Any, raw: list[str] | None) -> dict[str, Any]:
    from iml4e.pipelines.params import split_assignments

    return definition.parse_params(split_assignments(raw or []))


def _progress(json_output: bool):
    def report(step: str, status: str, detail: str) -> None:
        if not json_output:
            suffix = f"  {detail}" if detail else ""
            console.print(f"  {status:<9} {step}{suffix}", highlight=False, soft_wrap=True)

    return report


@pipeline_app.command("run")
def run_command(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="module:pipeline or path/file.py:pipeline.")],
    param: ParamOption = None,
    executor: ExecutorOption = None,
    no_cache: Annotated[
        list[str] | None,
        typer.Option(
            "--no-cache-step", help="Run this step even if a cached result exists (repeatable)."
        ),
    ] = None,
    no_cache_all: Annotated[
        bool, typer.Option("--no-cache", help="Run every step; use no cached result.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Run a pipeline; cached steps are reused, every step is recorded."""
    from iml4e.pipelines import load_pipeline, run_pipeline

    definition = load_pipeline(pipeline)
    result = run_pipeline(
        definition,
        _params(definition, param),
        settings=_settings(ctx),
        executor=executor,
        cache=not no_cache_all,
        no_cache_steps=no_cache or (),
        on_event=_progress(json_output),
    )
    _print_run(result.record, json_output)


@pipeline_app.command("run-step")
def run_step_command(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="module:pipeline or path/file.py:pipeline.")],
    step: Annotated[str, typer.Option("--step", help="The one step to run.")],
    run_id: Annotated[str, typer.Option("--run-id", help="Run shared by the steps (a UUID).")],
    param: ParamOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse a result.")] = False,
    retries: Annotated[
        bool,
        typer.Option(help="Retry a failing step as its options say (off when KFP retries pods)."),
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Run one step inside a shared run (what each container of a Kubeflow run executes)."""
    from iml4e.pipelines import load_pipeline
    from iml4e.pipelines.runner import run_step_in_run

    definition = load_pipeline(pipeline)
    result = run_step_in_run(
        definition,
        step,
        run_id,
        _params(definition, param),
        settings=_settings(ctx),
        cache=not no_cache,
        retries=retries,
        on_event=_progress(json_output),
    )
    _print_run(result.record, json_output)


@pipeline_app.command("resume")
def resume_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Id (or unique prefix) of a failed run.")],
    executor: ExecutorOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run a failed run again from its failed step, reusing the steps that succeeded."""
    from iml4e.pipelines import resume_pipeline

    result = resume_pipeline(
        run, settings=_settings(ctx), executor=executor, on_event=_progress(json_output)
    )
    _print_run(result.record, json_output)


@pipeline_app.command("list")
def list_command(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """Recent pipeline runs: status, duration, steps and cache hits."""
    from iml4e.pipelines import list_runs

    store = _open_store(ctx)
    try:
        runs = list_runs(store, pipeline=pipeline, limit=limit)
    finally:
        store.close()
    if json_output:
        print_json([_run_summary(run) for run in runs])
        return
    print_table(
        "pipeline runs",
        ["run", "pipeline", "status", "started", "seconds", "steps", "cached"],
        [
            [
                run.id[:12],
                run.pipeline,
                run.status,
                run.started_at.isoformat(timespec="seconds"),
                f"{run.duration_s:.2f}" if run.duration_s is not None else "",
                len(run.steps),
                run.cache_hits,
            ]
            for run in runs
        ],
    )


@pipeline_app.command("show")
def show_command(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(help="Run id or unique prefix.")],
    logs: Annotated[bool, typer.Option("--logs", help="Print each step's output too.")] = False,
    json_output: JsonOption = False,
) -> None:
    """One run: its steps with status, timings, attempts, cache hits, errors and output."""
    from iml4e.pipelines import get_run

    store = _open_store(ctx)
    try:
        record = get_run(store, run)
    finally:
        store.close()
    _print_run(record, json_output, logs=logs)


@pipeline_app.command("compile")
def compile_command(
    ctx: typer.Context,
    pipeline: Annotated[str, typer.Argument(help="module:pipeline or path/file.py:pipeline.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="YAML file to write.")],
    target: Annotated[str, typer.Option(help="What to compile for: kfp.")] = "kfp",
    image: Annotated[
        str, typer.Option(help="Container image with iml4e and the pipeline's code.")
    ] = "iml4e:latest",
    param: ParamOption = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="KEY=VALUE set in every container (repeatable)."),
    ] = None,
) -> None:
    """Write the pipeline as a Kubeflow Pipelines v2 YAML (running it needs a KFP cluster)."""
    from iml4e.errors import BadInput
    from iml4e.pipelines import load_pipeline
    from iml4e.pipelines.kfp_export import compile_kfp
    from iml4e.pipelines.params import split_assignments

    if target != "kfp":
        raise BadInput("the only compile target is kfp", where=target)
    definition = load_pipeline(pipeline)
    written = compile_kfp(
        definition,
        output,
        image=image,
        params=_params(definition, param),
        env=split_assignments(env or []),
    )
    console.print(f"wrote {written} (Kubeflow Pipelines v2; submit it to a KFP cluster)")


def _open_store(ctx: typer.Context):
    from iml4e.platform import initialize
    from iml4e.store import open_store

    settings = _settings(ctx)
    initialize(settings)
    return open_store(settings)


def _run_summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "pipeline": run.pipeline,
        "pipeline_ref": run.pipeline_ref,
        "status": run.status,
        "params": run.params,
        "executor": run.executor,
        "mlflow_run_id": run.mlflow_run_id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "duration_s": run.duration_s,
        "resumed_from": run.resumed_from,
        "error": run.error,
        "cache_hits": run.cache_hits,
        "steps": len(run.steps),
    }


def _print_run(record: RunRecord, json_output: bool, *, logs: bool = False) -> None:
    if json_output:
        summary = _run_summary(record)
        summary["steps"] = [
            {
                "id": step.id,
                "name": step.name,
                "status": step.status,
                "duration_s": step.duration_s,
                "attempts": step.attempts,
                "cache_hit": step.cache_hit,
                "cached_from": step.cached_from,
                "cache_key": step.cache_key,
                "mlflow_run_id": step.mlflow_run_id,
                "params": step.params,
                "inputs": {k: v.content_hash for k, v in step.inputs.items()},
                "outputs": {k: v.content_hash for k, v in step.outputs.items()},
                "error": step.error,
                "logs": step.logs,
            }
            for step in record.steps
        ]
        print_json(summary)
        return
    took = f" in {record.duration_s:.2f} s" if record.duration_s is not None else ""
    console.print(
        f"run {record.id} of {record.pipeline}: {record.status}{took}"
        f" ({record.cache_hits} of {len(record.steps)} steps from cache)",
        highlight=False,
        soft_wrap=True,
    )
    print_table(
        None,
        ["step", "status", "seconds", "attempts", "outputs"],
        [
            [
                step.name,
                step.status + (f" (from {step.cached_from})" if step.cached_from else ""),
                f"{step.duration_s:.3f}" if step.duration_s is not None else "",
                step.attempts,
                ", ".join(f"{k}={v.content_hash[:10]}" for k, v in step.outputs.items()),
            ]
            for step in record.steps
        ],
    )
    for step in record.steps:
        if step.status == "failed" and step.error:
            console.print(
                f"\nstep {step.name} failed:\n{step.error}", highlight=False, soft_wrap=True
            )
        if (logs or step.status == "failed") and step.logs:
            console.print(
                f"\noutput of {step.name}:\n{step.logs}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )


def lineage_command(
    ctx: typer.Context,
    reference: Annotated[
        str,
        typer.Argument(
            help="MODEL@VERSION, dataset:NAME@VERSION, artifact:HASH or step:ID.",
            metavar="REFERENCE",
        ),
    ],
    direction: Annotated[str, typer.Option(help="upstream, downstream or both.")] = "both",
    json_output: JsonOption = False,
) -> None:
    """Where a model, dataset or artifact came from and what was made from it."""
    from iml4e.errors import BadInput
    from iml4e.pipelines.lineage import trace_lineage

    if direction not in ("upstream", "downstream", "both"):
        raise BadInput("use upstream, downstream or both", where=direction)
    store = _open_store(ctx)
    try:
        graph = trace_lineage(store, reference, direction=direction)  # type: ignore[arg-type]
    finally:
        store.close()
    if json_output:
        print_json(graph.as_dict())
        return
    print_lineage(graph)


def register(app: typer.Typer) -> None:
    app.add_typer(pipeline_app)
    app.command("lineage")(lineage_command)
