"""``profile_frame`` side by side with the pandas a user would otherwise write, on the same frame.

The frame (default 1,000,000 rows x 20 columns, deterministic seed) has 12 numeric columns
(some with NaN, one unique id, one correlated with another) and 8 object-dtype categorical
columns of 2 to 200,000 distinct values (some with None); 1 % of its rows repeat earlier rows.

For each repeat, in the same run and alternating the two, each in a fresh child process that
builds the frame itself before the clock starts:

* ``profile_frame(frame)``: the iml4e profile (summaries, quantiles, histograms, exact
  category counts, duplicates, correlations);
* the baseline: ``frame.describe()``, ``value_counts()`` of every categorical column and
  ``frame.duplicated().sum()``.

Measured: wall time of the call; the child's RSS once the frame is built; and its peak RSS
(``ru_maxrss``) during the call. On Linux the peak is reset after building the frame (writing
``5`` to ``/proc/self/clear_refs``) so that building's temporaries do not hide the call's
peak; where that is not possible the figure is the whole child's peak.

    .venv/bin/python benchmarks/profile_speed.py --repeat 3 --json profile_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from _memory import current_rss_mb, peak_rss_mb, reset_peak_rss  # benchmarks/_memory.py

SEED = 20240611
TARGET_SECONDS = 10.0
TARGET_PEAK_MB = 2048.0
CATEGORY_CARDINALITIES = (2, 3, 5, 12, 50, 1_000, 20_000, 200_000)
SIDES = ("profile", "baseline")


@dataclass
class Run:
    """One measured call in a fresh child process."""

    side: str
    seconds: float
    frame_rss_mb: float
    peak_rss_mb: float
    peak_reset: bool


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the frame")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asdict(measure_here(args.child, args.rows))))
        return

    runs: dict[str, list[Run]] = {side: [] for side in SIDES}
    for index in range(args.repeat):
        for side in SIDES:
            runs[side].append(measure_in_child(side, args.rows))
            run = runs[side][-1]
            print(
                f"run {index + 1}/{args.repeat} {side:>8}: {run.seconds:.2f} s, frame "
                f"{run.frame_rss_mb:.0f} MB, peak during the call {run.peak_rss_mb:.0f} MB",
                flush=True,
            )
    summary = summarise(runs)
    print()
    print(render(summary, args.rows, args.repeat))
    if args.json:
        report = {
            "environment": environment_facts(),
            "rows": args.rows,
            "columns": 12 + len(CATEGORY_CARDINALITIES),
            "repeat": args.repeat,
            "summary": summary,
            "runs": {side: [asdict(run) for run in side_runs] for side, side_runs in runs.items()},
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


# --- the frame and the two sides --------------------------------------------------------------


def build_frame(rows: int, seed: int = SEED) -> pd.DataFrame:
    """12 numeric and 8 categorical columns; the last 1 % of rows repeat earlier ones."""
    rng = np.random.default_rng(seed)

    def with_nan(values: np.ndarray, share: float) -> np.ndarray:
        values = values.astype(np.float64)
        values[rng.random(rows) < share] = np.nan
        return values

    normal = rng.normal(50.0, 10.0, rows)
    columns: dict[str, np.ndarray] = {
        "income": normal,
        "spend": 0.8 * normal + rng.normal(0.0, 6.0, rows),
        "ratio": rng.uniform(-1.0, 1.0, rows),
        "wait_s": rng.exponential(2.0, rows),
        "amount": rng.lognormal(3.0, 1.0, rows),
        "score": with_nan(rng.normal(0.0, 1.0, rows), 0.05),
        "balance": with_nan(rng.normal(1_000.0, 300.0, rows), 0.30),
        "rounded": np.round(rng.normal(0.0, 1.0, rows), 2),
        "age": rng.integers(18, 90, rows),
        "visits": rng.poisson(3.0, rows),
        "row_id": rng.permutation(rows),
        "rating": with_nan(rng.integers(1, 6, rows), 0.10),
    }
    for position, cardinality in enumerate(CATEGORY_CARDINALITIES):
        pool = np.array([f"c{position}_{i:06d}" for i in range(cardinality)], dtype=object)
        weights = 1.0 / np.arange(1, cardinality + 1)  # Zipf-like: a few common values
        values = pool[rng.choice(cardinality, size=rows, p=weights / weights.sum())]
        if position % 2:
            values[rng.random(rows) < 0.02] = None
        columns[f"cat_{cardinality}"] = values
    repeated = rows // 100
    order = np.arange(rows)
    if repeated and rows > repeated:
        order[rows - repeated :] = rng.integers(0, rows - repeated, repeated)
    return pd.DataFrame({name: values[order] for name, values in columns.items()})


def run_profile(frame: pd.DataFrame) -> None:
    from iml4e.data.profile import profile_frame

    profile_frame(frame)


def run_baseline(frame: pd.DataFrame) -> None:
    frame.describe()
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name].value_counts()
    int(frame.duplicated().sum())


def measure_here(side: str, rows: int) -> Run:
    """Build the frame in this (fresh) process, then time one call of ``side``."""
    if side == "profile":
        import iml4e.data.profile  # noqa: F401  (imported before the clock, like pandas)
    frame = build_frame(rows)
    frame_rss = current_rss_mb()
    reset = reset_peak_rss()
    start = time.perf_counter()
    (run_profile if side == "profile" else run_baseline)(frame)
    seconds = time.perf_counter() - start
    return Run(side, seconds, frame_rss, peak_rss_mb(), reset)


def measure_in_child(side: str, rows: int) -> Run:
    command = [sys.executable, __file__, "--child", side, "--rows", str(rows)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return Run(**json.loads(result.stdout.strip().splitlines()[-1]))


# --- reporting --------------------------------------------------------------------------------


def summarise(runs: dict[str, list[Run]]) -> dict[str, float]:
    """Medians of every figure per side, and the ratios profile / baseline."""
    summary: dict[str, float] = {}
    for side, side_runs in runs.items():
        for figure in ("seconds", "frame_rss_mb", "peak_rss_mb"):
            summary[f"{side}_{figure}"] = round(
                statistics.median(getattr(run, figure) for run in side_runs), 3
            )
        summary[f"{side}_growth_mb"] = round(
            max(summary[f"{side}_peak_rss_mb"] - summary[f"{side}_frame_rss_mb"], 0.0), 3
        )
    summary["peak_reset"] = float(all(run.peak_reset for rs in runs.values() for run in rs))
    for figure in ("seconds", "peak_rss_mb", "growth_mb"):
        baseline = summary[f"baseline_{figure}"]
        ratio = summary[f"profile_{figure}"] / baseline if baseline else float("nan")
        summary[f"ratio_{figure}"] = round(ratio, 2)
    return summary


def render(s: dict[str, float], rows: int, repeat: int) -> str:
    """The summary as a small table for people."""
    table = [
        ("wall time of the call (s)", "seconds", ".2f"),
        ("peak RSS of the process during the call (MB)", "peak_rss_mb", ".0f"),
        ("  of which above the frame's RSS (MB)", "growth_mb", ".0f"),
    ]
    header = (f"median of {repeat} runs", "profile_frame", "pandas baseline", "ratio")
    lines = [
        f"{rows:,} rows x {12 + len(CATEGORY_CARDINALITIES)} columns (12 numeric, "
        f"{len(CATEGORY_CARDINALITIES)} categorical); each run in a fresh child process that",
        "builds the frame before the clock starts (its RSS then: "
        f"{s['profile_frame_rss_mb']:.0f} MB with iml4e.data imported,",
        f"{s['baseline_frame_rss_mb']:.0f} MB without). Baseline: describe() + value_counts() "
        "of each categorical column",
        "+ duplicated().sum(). "
        + (
            "The peak is reset after building the frame."
            if s.get("peak_reset")
            else "The peak could not be reset: it includes building the frame."
        ),
        "",
    ]
    cells = [header] + [
        (
            label,
            f"{s[f'profile_{key}']:{fmt}}",
            f"{s[f'baseline_{key}']:{fmt}}",
            f"{s[f'ratio_{key}']:.2f}",
        )
        for label, key, fmt in table
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    for row in cells:
        lines.append(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
    met = s["profile_seconds"] < TARGET_SECONDS and s["profile_peak_rss_mb"] < TARGET_PEAK_MB
    lines += [
        "",
        f"target for profile_frame: < {TARGET_SECONDS:.0f} s and peak < {TARGET_PEAK_MB:.0f} MB"
        f" -> {'met' if met else 'NOT met'}",
    ]
    return "\n".join(lines)


def environment_facts() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "iml4e": version("iml4e"),
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


if __name__ == "__main__":
    main()
