"""A wide pipeline on the ``local`` executor (threads) and on ``ray`` (a local Ray started here).

The pipeline: one source step, ``--branches`` independent CPU-bound branches of about
``--work`` seconds each (measured on one core before the clock starts), then their results
summed pairwise (``branches - 1`` tiny join steps). Two kinds of work:

* ``python``: a pure-Python loop. It holds the GIL, so threads run the branches one at a time
  and Ray's worker processes should win by about the number of cores;
* ``numpy``: element-wise ufuncs on a 1,000,000-element array (no BLAS, so one core each).
  They release the GIL, so threads already use every core and the two should roughly tie.

Every run is uncached (``cache=False``) in a fresh temporary home. Before the timed runs each
executor does one untimed run of each kind, so Ray's worker processes are started and have
imported iml4e; Ray's own start-up is timed on its own.

    .venv/bin/python benchmarks/pipeline_wide.py --repeat 3 --json pipeline_wide.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from _environment import environment_facts  # benchmarks/_environment.py

from iml4e.config import Settings, load_settings
from iml4e.pipelines import StepOutput, pipeline, run_pipeline, step
from iml4e.pipelines.executors import Executor
from iml4e.pipelines.executors.local import LocalExecutor
from iml4e.pipelines.executors.ray import RayExecutor

NUMPY_SIZE = 1_000_000
KINDS = ("python", "numpy")


# --- the work and the pipeline ----------------------------------------------------------------


def python_work(amount: int) -> float:
    """A pure-Python loop of ``amount`` iterations (holds the GIL throughout)."""
    total = 0.0
    for index in range(amount):
        total += (index % 7) * 0.5
    return total


def numpy_work(amount: int) -> float:
    """``amount`` rounds of element-wise ufuncs on 1,000,000 floats (the GIL is released)."""
    values = np.linspace(0.0, 1.0, NUMPY_SIZE)
    for _ in range(amount):
        values = np.sqrt(np.sin(values) ** 2 + 1.0)
    return float(values.sum())


@step
def start(amount: int) -> int:
    """The amount of work each branch does (the source every branch depends on)."""
    return amount


@step
def burn(amount: int, kind: str = "python", branch: int = 0) -> float:
    """One CPU-bound branch (``branch`` only makes each branch's result its own)."""
    work = python_work if kind == "python" else numpy_work
    return work(amount) + branch


@step
def add(left: float, right: float) -> float:
    return left + right


@pipeline
def wide(branches: int = 8, kind: str = "python", amount: int = 1000) -> None:
    """A source, ``branches`` independent branches, and their results summed pairwise."""
    source = start(amount)
    level: list[StepOutput] = [burn(source, kind=kind, branch=i) for i in range(branches)]
    while len(level) > 1:
        pairs = [add(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])


# --- measuring --------------------------------------------------------------------------------


@dataclass
class WideRun:
    """One timed run of the pipeline."""

    kind: str
    executor: str
    wall_s: float
    branch_busy_s: float  # summed durations of the branch steps as recorded
    status: str


def calibrate(kind: str, work_s: float) -> int:
    """The ``amount`` that makes one branch of ``kind`` take about ``work_s`` on one core."""
    work: Callable[[int], float] = python_work if kind == "python" else numpy_work
    amount = 100_000 if kind == "python" else 2
    while True:
        started = time.perf_counter()
        work(amount)
        elapsed = time.perf_counter() - started
        if elapsed >= 0.2 or amount > 10**10:
            return max(1, round(amount * work_s / elapsed))
        amount *= 2


def measure(
    executor: Executor, label: str, kind: str, params: dict[str, int | str], settings: Settings
) -> WideRun:
    started = time.perf_counter()
    result = run_pipeline(wide, params, settings=settings, executor=executor, cache=False)
    wall = time.perf_counter() - started
    busy = sum(s.duration_s or 0.0 for s in result.record.steps if s.name.startswith("burn"))
    return WideRun(kind, label, round(wall, 3), round(busy, 3), result.status)


def summarise(runs: list[WideRun]) -> list[dict[str, object]]:
    """Median wall time per (kind, executor) and its ratio to ``local`` of the same kind."""
    rows: list[dict[str, object]] = []
    for kind in dict.fromkeys(run.kind for run in runs):
        medians = {
            label: statistics.median(
                r.wall_s for r in runs if r.kind == kind and r.executor == label
            )
            for label in dict.fromkeys(r.executor for r in runs if r.kind == kind)
        }
        for label, wall in medians.items():
            busy = statistics.median(
                r.branch_busy_s for r in runs if r.kind == kind and r.executor == label
            )
            rows.append(
                {
                    "kind": kind,
                    "executor": label,
                    "wall_s": round(wall, 3),
                    "branch_busy_s": round(busy, 3),
                    "ratio_to_local": round(wall / medians["local"], 2),
                }
            )
    return rows


def render(rows: list[dict[str, object]], args: argparse.Namespace, ray_start_s: float) -> str:
    header = ("kind", "executor", "wall s", "branch steps s", "wall / local")
    cells = [
        (
            str(row["kind"]),
            str(row["executor"]),
            f"{row['wall_s']:.2f}",
            f"{row['branch_busy_s']:.2f}",
            f"{row['ratio_to_local']:.2f}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    lines = [
        f"{args.branches} branches of ~{args.work:g} s each (one core), median of {args.repeat} "
        f"runs, {os.cpu_count()} CPUs; Ray started in {ray_start_s:.2f} s (not in the times).",
        "'branch steps s' sums the recorded durations of the branch steps (threads waiting",
        "for the GIL count as busy).",
        "",
    ]
    for line in [header, *cells]:
        lines.append(
            "  ".join(
                c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(line)
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--branches", type=int, default=8, help="independent branches (8)")
    parser.add_argument("--work", type=float, default=0.75, help="seconds per branch (0.75)")
    parser.add_argument(
        "--kind", choices=[*KINDS, "both"], default="both", help="work of each branch (both)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (3)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.branches < 1 or args.repeat < 1 or args.work <= 0:
        parser.error("--branches and --repeat must be positive, --work above 0")

    kinds = list(KINDS) if args.kind == "both" else [args.kind]
    amounts = {kind: calibrate(kind, args.work) for kind in kinds}
    root = Path(tempfile.mkdtemp(prefix="iml4e-bench-wide-"))
    runs: list[WideRun] = []
    try:
        settings = load_settings({"home": str(root / "home")}, environ={}, cwd=root).settings
        started = time.perf_counter()
        ray_executor = RayExecutor()  # starts Ray in this process
        ray_start_s = time.perf_counter() - started
        executors: dict[str, Executor] = {"local": LocalExecutor(), "ray": ray_executor}
        try:
            for kind in kinds:
                params: dict[str, int | str] = {
                    "branches": args.branches,
                    "kind": kind,
                    "amount": amounts[kind],
                }
                for label, executor in executors.items():
                    measure(executor, label, kind, params, settings)  # warm-up, not counted
                for index in range(args.repeat):
                    for label, executor in executors.items():
                        runs.append(measure(executor, label, kind, params, settings))
                        print(f"run {index + 1}/{args.repeat} {kind:6} {_describe(runs[-1])}")
        finally:
            for executor in executors.values():
                executor.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    rows = summarise(runs)
    print()
    print(render(rows, args, ray_start_s))
    if args.json:
        report = {
            "environment": environment_facts("iml4e", "ray", "numpy"),
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "amounts": amounts,
            "ray_start_s": round(ray_start_s, 3),
            "summary": rows,
            "runs": [asdict(run) for run in runs],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


def _describe(run: WideRun) -> str:
    return f"{run.executor:5} wall={run.wall_s:.2f} s branches={run.branch_busy_s:.2f} s"


if __name__ == "__main__":
    main()
