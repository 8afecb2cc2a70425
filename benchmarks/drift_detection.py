"""Drift detection: ``detect_drift`` on a stored reference against scipy per column and Evidently.

The data (deterministic seed): a reference of ``--reference-rows`` rows (default 100,000) and a
current window of ``--rows`` rows (default 1,000,000), each with 12 numeric columns (normal,
uniform, exponential, log-normal, integers, one with 10 % NaN) and 8 object-dtype categorical
columns of 3 to 500 categories (some with None). Four columns drift in the current window: two
numeric columns shift by half a standard deviation, one widens, and one categorical column
changes its mix.

Each contender runs in a fresh child process that builds the frames before the clock starts:

* ``iml4e``: the reference profile is built from the reference frame and saved with
  ``save_reference`` (a SQLite store in a temporary home), and the reference frame is dropped
  (not timed); timed: ``load_reference`` (the store row and the file) plus ``detect_drift``.
* ``scipy``: the naive baseline on the raw frames, column by column: ``scipy.stats.ks_2samp``
  for numeric columns, ``value_counts`` + ``scipy.stats.chisquare`` for categorical ones;
  drift when p < 0.05.
* ``evidently``: Evidently 0.7's ``Report([DataDriftPreset()])`` on the two frames with the
  column types declared, run by ``--evidently-python`` (default ``/tmp/evvenv/bin/python``, a
  separate virtualenv with ``evidently==0.7.23``, so the project's pins stay as they are),
  at ``--evidently-rows`` current rows (default: the same as ``--rows``).

Measured: wall time of the call; the child's RSS once the frames are built; its peak RSS
(``ru_maxrss``, reset after the frames are built on Linux). Each contender's drifted columns are
printed side by side as a check that they agree.

    .venv/bin/python benchmarks/drift_detection.py --repeat 3 --json drift_detection.json
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from _memory import current_rss_mb, peak_rss_mb, reset_peak_rss  # benchmarks/_memory.py

SEED = 20261127
TARGET_SECONDS = 3.0
TARGET_PEAK_MB = 1536.0
NUMERIC = (
    "income", "spend", "ratio", "wait_s", "amount", "score",
    "balance", "rounded", "age", "visits", "tenure", "load",
)  # fmt: skip
CATEGORY_CARDINALITIES = (3, 4, 7, 12, 30, 50, 200, 500)
DRIFTED = ("income", "wait_s", "balance", "cat_7")
CONTENDERS = ("iml4e", "scipy", "evidently")
DEFAULT_EVIDENTLY_PYTHON = "/tmp/evvenv/bin/python"


@dataclass
class Run:
    """One measured call in a fresh child process."""

    contender: str
    rows: int
    seconds: float
    frame_rss_mb: float
    peak_rss_mb: float
    peak_reset: bool
    drifted: list[str] = field(default_factory=list)


# --- the data ---------------------------------------------------------------------------------


def build_frame(rows: int, *, drifted: bool, seed: int) -> pd.DataFrame:
    """12 numeric and 8 categorical columns; with ``drifted`` the columns of DRIFTED move."""
    rng = np.random.default_rng(seed)
    shift = 0.5 if drifted else 0.0
    balance = rng.normal(1_000.0, 300.0 * (1.6 if drifted else 1.0), rows)
    balance[rng.random(rows) < 0.10] = np.nan
    columns: dict[str, np.ndarray] = {
        "income": rng.normal(50.0 + 10.0 * shift, 10.0, rows),
        "spend": rng.normal(30.0, 5.0, rows),
        "ratio": rng.uniform(-1.0, 1.0, rows),
        "wait_s": rng.exponential(2.0, rows) + 2.0 * shift,
        "amount": rng.lognormal(3.0, 1.0, rows),
        "score": rng.normal(0.0, 1.0, rows),
        "balance": balance,
        "rounded": np.round(rng.normal(0.0, 1.0, rows), 1),
        "age": rng.integers(18, 90, rows),
        "visits": rng.poisson(3.0, rows),
        "tenure": rng.gamma(2.0, 3.0, rows),
        "load": rng.beta(2.0, 5.0, rows),
    }
    for position, cardinality in enumerate(CATEGORY_CARDINALITIES):
        pool = np.array([f"c{position}_{i:03d}" for i in range(cardinality)], dtype=object)
        weights = 1.0 / np.arange(1, cardinality + 1)
        if drifted and f"cat_{cardinality}" in DRIFTED:
            weights = weights[::-1]
        values = pool[rng.choice(cardinality, size=rows, p=weights / weights.sum())]
        if position % 2:
            values[rng.random(rows) < 0.02] = None
        columns[f"cat_{cardinality}"] = values
    return pd.DataFrame(columns)


def categorical_columns() -> list[str]:
    return [f"cat_{cardinality}" for cardinality in CATEGORY_CARDINALITIES]


# --- the contenders (each runs in its own child process) --------------------------------------


def measure_here(contender: str, rows: int, reference_rows: int) -> Run:
    """Build the frames in this (fresh) process, then time one drift check."""
    reference = build_frame(reference_rows, drifted=False, seed=SEED)
    current = build_frame(rows, drifted=True, seed=SEED + 1)
    if contender == "iml4e":
        check = prepare_iml4e(reference)
        del reference
    elif contender == "scipy":
        check = prepare_scipy(reference)
    else:
        check = prepare_evidently(reference)
    gc.collect()
    frame_rss = current_rss_mb()
    reset = reset_peak_rss()
    start = time.perf_counter()
    drifted = check(current)
    seconds = time.perf_counter() - start
    return Run(contender, rows, seconds, frame_rss, peak_rss_mb(), reset, sorted(drifted))


def prepare_iml4e(reference: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Build and store the reference (not timed); the check loads it and detects drift."""
    from iml4e.config import load_settings
    from iml4e.monitoring.drift import detect_drift
    from iml4e.monitoring.reference import build_reference
    from iml4e.monitoring.reference_store import load_reference, save_reference
    from iml4e.store import open_store

    home = Path(tempfile.mkdtemp(prefix="iml4e-drift-bench-"))
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    store = open_store(settings)
    profile = build_reference(reference)
    save_reference(settings, store, profile, model_name="bench", model_version="1")
    del profile

    def check(current: pd.DataFrame) -> list[str]:
        loaded = load_reference(settings, store, model_name="bench", model_version="1")
        report = detect_drift(loaded, current)
        return [column.column for column in report.columns if column.drifted]

    return check


def prepare_scipy(reference: pd.DataFrame):  # type: ignore[no-untyped-def]
    """The code a user would write with scipy: one test per column on the raw frames."""
    from scipy import stats

    categorical = set(categorical_columns())

    def check(current: pd.DataFrame) -> list[str]:
        drifted = []
        for name in reference.columns:
            if name in categorical:
                ref_counts = reference[name].value_counts()
                cur_counts = current[name].value_counts().reindex(ref_counts.index, fill_value=0)
                expected = ref_counts / ref_counts.sum() * cur_counts.sum()
                p_value = stats.chisquare(cur_counts, expected).pvalue
            else:
                p_value = stats.ks_2samp(reference[name].dropna(), current[name].dropna()).pvalue
            if p_value < 0.05:
                drifted.append(name)
        return drifted

    return check


def prepare_evidently(reference: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Evidently 0.7's DataDriftPreset with the column types declared."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=list(NUMERIC), categorical_columns=categorical_columns()
    )
    reference_set = Dataset.from_pandas(reference, data_definition=definition)

    def check(current: pd.DataFrame) -> list[str]:
        current_set = Dataset.from_pandas(current, data_definition=definition)
        snapshot = Report([DataDriftPreset()]).run(current_set, reference_set)
        drifted = []
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if not config["type"].endswith("ValueDrift"):
                continue
            is_p_value = "p_value" in config["method"]
            value = metric["value"]
            if (value < config["threshold"]) if is_p_value else (value >= config["threshold"]):
                drifted.append(config["column"])
        return drifted

    return check


def measure_in_child(contender: str, rows: int, reference_rows: int, python: str) -> Run:
    command = [python, __file__, "--child", contender, "--rows", str(rows)]
    command += ["--reference-rows", str(reference_rows)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return Run(**json.loads(result.stdout.strip().splitlines()[-1]))


# --- reporting --------------------------------------------------------------------------------


def summarise(runs: dict[str, list[Run]]) -> dict[str, dict[str, float]]:
    """Medians per contender, and iml4e's speed-up over each other contender."""
    summary: dict[str, dict[str, float]] = {}
    for contender, contender_runs in runs.items():
        if not contender_runs:
            continue
        figures = {
            figure: round(statistics.median(getattr(run, figure) for run in contender_runs), 3)
            for figure in ("seconds", "frame_rss_mb", "peak_rss_mb")
        }
        figures["rows"] = contender_runs[0].rows
        figures["growth_mb"] = round(max(figures["peak_rss_mb"] - figures["frame_rss_mb"], 0.0), 3)
        summary[contender] = figures
    base = summary["iml4e"]["seconds"]
    for figures in summary.values():
        per_row = figures["seconds"] / figures["rows"]
        figures["speedup_of_iml4e"] = round(per_row / (base / summary["iml4e"]["rows"]), 1)
    return summary


def render(summary: dict[str, dict[str, float]], runs: dict[str, list[Run]], repeat: int) -> str:
    """A table of the figures and one of the verdicts per column."""
    header = ("contender", "current rows", "time (s)", "peak RSS (MB)", "above frames (MB)",
              "iml4e faster")  # fmt: skip
    cells = [header]
    for contender, s in summary.items():
        cells.append(
            (
                contender,
                f"{int(s['rows']):,}",
                f"{s['seconds']:.2f}",
                f"{s['peak_rss_mb']:.0f}",
                f"{s['growth_mb']:.0f}",
                "-" if contender == "iml4e" else f"{s['speedup_of_iml4e']:.1f}x",
            )
        )
    lines = [f"median of {repeat} runs; 12 numeric + 8 categorical columns", ""]
    lines += _table(cells)
    lines.append("")
    names = list(NUMERIC) + categorical_columns()
    verdicts = [("column", "drifted by design", *summary)]
    for name in names:
        row = [name, "yes" if name in DRIFTED else "no"]
        for contender in summary:
            row.append("yes" if name in runs[contender][-1].drifted else "no")
        verdicts.append(tuple(row))
    lines += _table(verdicts)
    s = summary["iml4e"]
    met = s["seconds"] < TARGET_SECONDS and s["peak_rss_mb"] < TARGET_PEAK_MB
    lines += [
        "",
        f"target for iml4e: < {TARGET_SECONDS:.0f} s and peak < {TARGET_PEAK_MB:.0f} MB"
        f" -> {'met' if met else 'NOT met'}",
    ]
    return "\n".join(lines)


def _table(cells: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in cells
    ]


def environment_facts() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="current rows")
    parser.add_argument("--reference-rows", type=int, default=100_000, help="reference rows")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender")
    parser.add_argument(
        "--evidently-python",
        default=DEFAULT_EVIDENTLY_PYTHON,
        help="python of a virtualenv with evidently 0.7 ('' to skip Evidently)",
    )
    parser.add_argument("--evidently-rows", type=int, help="current rows for Evidently")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asdict(measure_here(args.child, args.rows, args.reference_rows))))
        return

    contenders = {"iml4e": (sys.executable, args.rows), "scipy": (sys.executable, args.rows)}
    if args.evidently_python and Path(args.evidently_python).exists():
        contenders["evidently"] = (args.evidently_python, args.evidently_rows or args.rows)
    else:
        print("Evidently skipped: no --evidently-python", flush=True)
    runs: dict[str, list[Run]] = {contender: [] for contender in contenders}
    for index in range(args.repeat):
        for contender, (python, rows) in contenders.items():
            run = measure_in_child(contender, rows, args.reference_rows, python)
            runs[contender].append(run)
            print(
                f"run {index + 1}/{args.repeat} {contender:>9}: {run.seconds:.2f} s on {rows:,} "
                f"rows, frames {run.frame_rss_mb:.0f} MB, peak {run.peak_rss_mb:.0f} MB",
                flush=True,
            )
    summary = summarise(runs)
    print()
    print(render(summary, runs, args.repeat))
    if args.json:
        report = {
            "environment": environment_facts(),
            "reference_rows": args.reference_rows,
            "repeat": args.repeat,
            "summary": summary,
            "runs": {
                c: [asdict(run) for run in contender_runs] for c, contender_runs in runs.items()
            },
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
