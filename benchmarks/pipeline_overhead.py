"""Per-step overhead of the local executor, and a fully cached re-run of the demo pipeline.

Side by side, in one run and one process (imports and schemas warmed up first):

* **direct**: the same no-op function called N times in a chain;
* **mlflow**: each call wrapped in a nested MLflow run with its one parameter logged — what
  tracking each function costs a user with MLflow alone;
* **iml4e**: a pipeline of N chained no-op steps (``cache=False``): every step recorded in the
  store, its output stored by content hash, lineage edges written, a nested MLflow run per step;
* **iml4e cached**: the same pipeline again, every step answered from the cache.

Then the demo's training pipeline (``iml4e.scenarios.training:train_case``) is run once, and
re-run fully cached twice: in this process, and as ``iml4e pipeline run …`` in a fresh process
(which adds Python start-up and imports).

    .venv/bin/python benchmarks/pipeline_overhead.py --steps 100 --repeat 3 --json overhead.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from iml4e.config import Settings, load_settings
from iml4e.pipelines import pipeline, run_pipeline, step


@step
def noop(previous: int) -> int:
    """Does nothing but pass a number on."""
    return previous + 1


@pipeline(name="noop-chain")
def chain(steps: int = 100, start: int = 0) -> None:
    value = noop(start)
    for _ in range(steps - 1):
        value = noop(value)


def _settings(home: Path) -> Settings:
    return load_settings({"home": str(home)}, environ={}).settings


def _direct(steps: int) -> float:
    started = time.perf_counter()
    value = 0
    for _ in range(steps):
        value = noop.func(value)
    return time.perf_counter() - started


def _mlflow(settings: Settings, steps: int) -> float:
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    client = mlflow.MlflowClient(settings.mlflow_tracking_uri)
    found = client.get_experiment_by_name("mlflow-nested-baseline")
    experiment_id = (
        found.experiment_id if found else client.create_experiment("mlflow-nested-baseline")
    )
    started = time.perf_counter()
    with mlflow.start_run(run_name="chain", experiment_id=experiment_id):
        value = 0
        for index in range(steps):
            with mlflow.start_run(run_name=f"noop_{index}", nested=True):
                mlflow.log_param("previous", value)
                value = noop.func(value)
    return time.perf_counter() - started


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"benchmark invalid: {message}")


def _timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="length of the chain")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of the demo pipeline")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="iml4e-bench-") as folder:
        home = Path(folder) / "home"
        settings = _settings(home)
        run_pipeline(chain, {"steps": 5}, settings=settings, cache=False)  # warm up
        _mlflow(settings, 3)
        sides: dict[str, list[float]] = {"direct": [], "mlflow": [], "iml4e": [], "cached": []}
        for repeat in range(args.repeat):
            params = {"steps": args.steps, "start": repeat}
            sides["direct"].append(_direct(args.steps))
            sides["mlflow"].append(_mlflow(settings, args.steps))
            seconds, result = _timed(run_pipeline, chain, params, settings=settings, cache=False)
            _require(result.status == "succeeded", "the chain failed")
            sides["iml4e"].append(seconds)
            seconds, result = _timed(run_pipeline, chain, params, settings=settings)
            _require(result.record.cache_hits == args.steps, "the re-run was not all cached")
            sides["cached"].append(seconds)

        demo_params = {"case": "credit", "rows": args.rows}
        from iml4e.scenarios.training import train_case

        first, _ = _timed(
            run_pipeline, train_case, demo_params, settings=settings, experiment="credit-default"
        )
        demo_cached: list[float] = []
        for _ in range(args.repeat):
            seconds, result = _timed(
                run_pipeline,
                train_case,
                demo_params,
                settings=settings,
                experiment="credit-default",
            )
            _require(result.record.cache_hits == len(result.record.steps), "demo re-run not cached")
            demo_cached.append(seconds)
        cli_cached: list[float] = []
        environment = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
        for _ in range(args.repeat):
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "iml4e",
                    "--home",
                    str(home),
                    "pipeline",
                    "run",
                    "iml4e.scenarios.training:train_case",
                    "-p",
                    "case=credit",
                    "-p",
                    f"rows={args.rows}",
                    "--json",
                ],
                check=True,
                capture_output=True,
                env=environment,
            )
            cli_cached.append(time.perf_counter() - started)

    median = {name: statistics.median(values) for name, values in sides.items()}
    per_step = {name: value / args.steps * 1000 for name, value in median.items()}
    overhead = (median["iml4e"] - median["direct"]) / args.steps * 1000
    rows = [
        ("direct calls", median["direct"], per_step["direct"], "-"),
        ("MLflow nested run per call", median["mlflow"], per_step["mlflow"], "-"),
        ("iml4e pipeline, no cache", median["iml4e"], per_step["iml4e"], f"{overhead:.2f}"),
        ("iml4e pipeline, all cached", median["cached"], per_step["cached"], "-"),
    ]
    print(f"\n{args.steps}-step chain of no-op steps (median of {args.repeat})")
    print(f"{'side':<30} {'seconds':>9} {'ms/step':>9} {'overhead ms/step':>17}")
    for name, seconds, ms, extra in rows:
        print(f"{name:<30} {seconds:>9.3f} {ms:>9.2f} {extra:>17}")
    print(
        f"ratio iml4e / MLflow-nested-runs: {median['iml4e'] / median['mlflow']:.2f}\n"
        f"\ndemo pipeline ({args.rows} rows): first run {first:.2f} s; fully cached re-run "
        f"{statistics.median(demo_cached):.3f} s in process, "
        f"{statistics.median(cli_cached):.2f} s as a fresh `iml4e pipeline run` process"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "steps": args.steps,
                    "runs": sides,
                    "median_s": median,
                    "ms_per_step": per_step,
                    "overhead_ms_per_step": overhead,
                    "demo": {
                        "rows": args.rows,
                        "first_s": first,
                        "cached_in_process_s": demo_cached,
                        "cached_cli_s": cli_cached,
                    },
                    "python": sys.version.split()[0],
                    "machine": platform.platform(),
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
