"""Memory and time of reading a large CSV through the connector, side by side with pandas.

Generates a CSV of ``--mb`` megabytes (mixed numeric and categorical columns) in a temporary
folder, then measures, each in a fresh child process:

* ``connector chunks``: iterating ``open_source(path).iter_chunks(chunk_rows)`` to the end;
* ``pandas chunks``: iterating ``pandas.read_csv(path, chunksize=chunk_rows)`` to the end;
* ``connector read``: ``open_source(path).read()``;
* ``pandas read``: ``pandas.read_csv(path)``.

For each: wall seconds, peak RSS of the child (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
and the RSS already taken by imports before reading (so the data's share is visible: importing
``iml4e.data`` also loads SQLAlchemy and pyarrow for the catalog, which plain pandas does not).
Ratios are connector / pandas for the same job.

    .venv/bin/python benchmarks/ingest_memory.py                  # 1000 MB
    .venv/bin/python benchmarks/ingest_memory.py --mb 200 --json ingest_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

from _memory import peak_rss_mb  # benchmarks/_memory.py

MODES = ("connector chunks", "pandas chunks", "connector read", "pandas read")
# Each mode's baseline: the tool a user would otherwise pick for the same job.
BASELINES = {
    "connector chunks": "pandas chunks",
    "connector read": "pandas read",
}
_CATEGORIES = ["retail", "wholesale", "online", "partner", "staff", "other"]
_CITIES = [f"City {i:03d}" for i in range(250)]
_GENERATE_ROWS = 500_000


@dataclass
class Measurement:
    """One child process's reading of the file."""

    mode: str
    seconds: float
    peak_rss_mb: float
    import_rss_mb: float
    rows: int
    columns: int
    chunks: int


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=1000.0, help="CSV size in MB (default 1000)")
    parser.add_argument(
        "--chunk-rows", type=int, default=100_000, help="rows per chunk (default 100000)"
    )
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--dir", type=Path, help="folder for the CSV (default: a temp folder)")
    parser.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        mode, path = args.measure
        print(json.dumps(asdict(measure(mode, Path(path), args.chunk_rows))))
        return
    if args.generate:
        print(generate_csv(args.generate, int(args.mb * 1_000_000)))
        return

    folder = Path(tempfile.mkdtemp(prefix="iml4e-ingest-", dir=args.dir))
    try:
        path = folder / "large.csv"
        started = time.perf_counter()
        # In a child: on Linux a child inherits its parent's peak RSS, so this one stays small.
        generated = subprocess.run(
            [sys.executable, __file__, "--generate", str(path), "--mb", str(args.mb)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = int(generated.stdout.strip())
        size_mb = path.stat().st_size / 1_000_000
        print(
            f"generated {path.name}: {size_mb:,.0f} MB, {rows:,} rows, 10 columns "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        results = [run_child(mode, path, args.chunk_rows) for mode in MODES]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_table(results, size_mb, args.chunk_rows)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "csv_mb": size_mb,
                    "rows": rows,
                    "chunk_rows": args.chunk_rows,
                    "results": [asdict(result) for result in results],
                    "ratios": ratios(results),
                    "environment": environment(),
                },
                indent=2,
            )
        )


def generate_csv(path: Path, size_bytes: int) -> int:
    """Write a CSV of at least ``size_bytes`` (ids, amounts, counts, categories, text)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        while file.tell() < size_bytes:
            n = _GENERATE_ROWS
            frame = pd.DataFrame(
                {
                    "id": np.arange(rows, rows + n),
                    "amount": np.round(rng.lognormal(4.0, 1.0, n), 2),
                    "quantity": rng.poisson(3.0, n),
                    "discount": np.where(rng.random(n) < 0.1, np.nan, rng.random(n).round(4)),
                    "channel": np.array(_CATEGORIES, dtype=object)[rng.integers(0, 6, n)],
                    "city": np.array(_CITIES, dtype=object)[rng.integers(0, 250, n)],
                    "score": rng.normal(0.0, 1.0, n),
                    "returned": rng.integers(0, 2, n),
                    "segment": np.array(["A", "B", "C", "D"], dtype=object)[rng.integers(0, 4, n)],
                    "comment": np.where(rng.random(n) < 0.3, "late, but complete", "ok"),
                }
            )
            frame.to_csv(file, index=False, header=rows == 0, lineterminator="\n")
            rows += n
    return rows


def run_child(mode: str, path: Path, chunk_rows: int) -> Measurement:
    """``measure(mode, …)`` in a fresh Python process, so peaks do not mix."""
    command = [
        sys.executable,
        __file__,
        "--measure",
        mode,
        str(path),
        "--chunk-rows",
        str(chunk_rows),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result = Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"  {mode:<17} {result.seconds:7.1f} s  {result.peak_rss_mb:8,.0f} MB", flush=True)
    return result


def measure(mode: str, path: Path, chunk_rows: int) -> Measurement:
    """Read ``path`` the way ``mode`` says, in this process; RSS in MB."""
    import pandas as pd

    if mode.startswith("connector"):
        from iml4e.data.connectors import open_source
    import_rss = peak_rss_mb()
    started = time.perf_counter()
    rows = columns = chunks = 0
    if mode == "connector chunks":
        for chunk in open_source(str(path)).iter_chunks(chunk_rows):
            rows, columns, chunks = rows + len(chunk), len(chunk.columns), chunks + 1
    elif mode == "pandas chunks":
        with pd.read_csv(path, chunksize=chunk_rows) as reader:
            for chunk in reader:
                rows, columns, chunks = rows + len(chunk), len(chunk.columns), chunks + 1
    elif mode == "connector read":
        frame = open_source(str(path)).read()
        rows, columns, chunks = len(frame), len(frame.columns), 1
    elif mode == "pandas read":
        frame = pd.read_csv(path)
        rows, columns, chunks = len(frame), len(frame.columns), 1
    else:
        raise SystemExit(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    seconds = time.perf_counter() - started
    return Measurement(mode, seconds, peak_rss_mb(), import_rss, rows, columns, chunks)


def ratios(results: list[Measurement]) -> dict[str, dict[str, float]]:
    """Per connector mode: its time, peak RSS and RSS above imports over its baseline's."""
    by_mode = {result.mode: result for result in results}
    return {
        mode: {
            "seconds": by_mode[mode].seconds / by_mode[baseline].seconds,
            "peak_rss": by_mode[mode].peak_rss_mb / by_mode[baseline].peak_rss_mb,
            "data_rss": _data_rss(by_mode[mode]) / max(_data_rss(by_mode[baseline]), 1.0),
        }
        for mode, baseline in BASELINES.items()
    }


def print_table(results: list[Measurement], size_mb: float, chunk_rows: int) -> None:
    print(f"\nreading a {size_mb:,.0f} MB CSV ({results[0].rows:,} rows), chunks of {chunk_rows:,}")
    header = ("mode", "seconds", "peak RSS MB", "imports MB", "peak-imports", "time x", "peak x")
    print(f"{header[0]:<18}" + "".join(f"{title:>14}" for title in header[1:]))
    table_ratios = ratios(results)
    for result in results:
        ratio = table_ratios.get(result.mode)
        times = f"{ratio['seconds']:.2f}" if ratio else "baseline"
        peaks = f"{ratio['peak_rss']:.2f}" if ratio else "baseline"
        print(
            f"{result.mode:<18}{result.seconds:>14.1f}{result.peak_rss_mb:>14,.0f}"
            f"{result.import_rss_mb:>14,.0f}{_data_rss(result):>14,.0f}{times:>14}{peaks:>14}"
        )


def _data_rss(result: Measurement) -> float:
    return result.peak_rss_mb - result.import_rss_mb


def environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "pandas": version("pandas"),
        "numpy": version("numpy"),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
    }


if __name__ == "__main__":
    main()
