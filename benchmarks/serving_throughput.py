"""Model server throughput: ``iml4e serve`` against ``mlflow models serve``, same model, same load.

One credit-style scikit-learn pipeline (scaler + one-hot + logistic regression, 8 columns) is
registered in a fresh home. Both servers are started side by side, each with ``--workers``
workers on a free loopback port, warmed up, then loaded in turn with ``wrk`` (Debian package
``wrk``): ``--connections`` connections, two wrk threads, one row per request (MLflow
``dataframe_split``), ``--seconds`` per run, ``--rounds`` alternating runs of each; the run with
the median throughput is reported, so load from other processes on the machine falls on both
servers alike. iml4e runs with its inference log and ``/metrics`` on (they always are). The
table reports requests per second, p50 and p99 latency, the RSS of the server's process tree,
and the CPU used during the run by the server's process tree and by wrk, each as a share of
one core (wrk's share shows whether the load generator could have been the bottleneck). The
ceiling is the model's own ``predict`` called in this process on the same single rows, and on
64 rows at once.

    .venv/bin/python benchmarks/serving_throughput.py --seconds 10 --json serving.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil

from iml4e.config import Settings, load_settings
from iml4e.ports import find_free_port

COLUMNS = ["age", "income", "debt", "years_employed", "late_payments", "region", "purpose", "home"]
LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
"""


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(40000, 12000, rows),
            "debt": rng.normal(8000, 4000, rows),
            "years_employed": rng.integers(0, 40, rows).astype(float),
            "late_payments": rng.poisson(1, rows).astype(float),
            "region": rng.choice(["north", "south", "east", "west"], rows),
            "purpose": rng.choice(["car", "home", "education", "other"], rows),
            "home": rng.choice(["rent", "own", "mortgage"], rows),
        }
    )


def _register(settings: Settings) -> object:
    """Train and register the model; returns it (for the in-process ceiling)."""
    import mlflow
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from iml4e.platform import initialize
    from iml4e.registry import register_model_version, set_alias
    from iml4e.store import open_store
    from iml4e.tracking import activate_tracking, connect_tracking, log_sklearn_model

    initialize(settings)
    store = open_store(settings)
    client = connect_tracking(settings, store)
    activate_tracking(settings)
    frame = _frame(5000)
    label = (frame["debt"] / frame["income"] + frame["late_payments"] / 10 > 0.35).astype(int)
    model = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numeric", StandardScaler(), COLUMNS[:5]),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), COLUMNS[5:]),
                    ]
                ),
            ),
            ("classifier", LogisticRegression(max_iter=500)),
        ]
    ).fit(frame, label)
    experiment = client.create_experiment("serving-benchmark")
    with mlflow.start_run(experiment_id=experiment) as run:
        logged = log_sklearn_model(model, frame)
    register_model_version(
        client, store, name="bench", source=logged.model_uri, run_id=run.info.run_id, metrics={}
    )
    set_alias(client, "bench", "champion", "1")
    store.close()
    return model


def _start(command: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=output, start_new_session=True
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise SystemExit(f"server exited early: {' '.join(command)}\n{tail}")
        time.sleep(0.2)
    raise SystemExit(f"server did not answer: {' '.join(command)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def _tree_rss_mb(pid: int) -> float:
    parent = psutil.Process(pid)
    processes = [parent, *parent.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 2**20


def _tree_cpu_s(pid: int) -> float:
    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _wrk(url: str, script: Path, connections: int, seconds: int, server: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _tree_cpu_s(server)
    started = time.monotonic()
    output = subprocess.run([*command, url], stdout=subprocess.PIPE, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    server_cpu = _tree_cpu_s(server) - server_before
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk, now reaped
    wrk_cpu = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": rate,
        "p50_ms": _latency(output, "50%"),
        "p99_ms": _latency(output, "99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "server_cpu_share": server_cpu / elapsed,
        "wrk_cpu_share": wrk_cpu / elapsed,
    }


def _latency(output: str, percentile: str) -> float:
    match = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", output)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def _ceiling(model: object, frame: pd.DataFrame) -> dict[str, float]:
    rows = [frame.iloc[[i]] for i in range(200)]
    started = time.perf_counter()
    for row in rows:
        model.predict(row)
    single = len(rows) / (time.perf_counter() - started)
    batch = frame.head(64)
    started = time.perf_counter()
    for _ in range(50):
        model.predict(batch)
    batched = 50 * 64 / (time.perf_counter() - started)
    return {"rows_per_s_one_row": single, "rows_per_s_64_rows": batched}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating runs of each server (median kept)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each server")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    folder = Path(tempfile.mkdtemp(prefix="iml4e-serving-"))
    settings = load_settings({"home": str(folder / "home")}, environ={}).settings
    model = _register(settings)
    frame = _frame(200, seed=1)
    body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [frame.iloc[0].tolist()]}})
    script = folder / "post.lua"
    script.write_text(LUA.format(body=body))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
    environment.update(settings.as_environment())
    environment.update(MLFLOW_TRACKING_URI=settings.mlflow_tracking_uri)
    bin_folder = Path(sys.executable).parent
    # mlflow models serve runs `uvicorn` through a shell: it must be on PATH.
    environment["PATH"] = f"{bin_folder}{os.pathsep}{environment.get('PATH', '')}"
    results: dict[str, dict[str, float]] = {}
    sides = {
        "iml4e serve": lambda port: [
            str(bin_folder / "iml4e"), "serve", "models:/bench@champion", "--port", str(port),
            "--workers", str(args.workers),
        ],
        "mlflow models serve": lambda port: [
            str(bin_folder / "mlflow"), "models", "serve", "-m", "models:/bench/1",
            "--env-manager", "local", "--workers", str(args.workers), "-p", str(port),
            "-h", "127.0.0.1",
        ],
    }  # fmt: skip
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    try:
        for name, command in sides.items():
            port = find_free_port("127.0.0.1")
            log = folder / f"{name.split()[0]}.log"
            process = _start(command(port), environment, f"http://127.0.0.1:{port}/ping", log)
            servers[name] = (process, f"http://127.0.0.1:{port}/invocations")
        for process, url in servers.values():
            _wrk(url, script, args.connections, 3, process.pid)  # warm-up
        for _ in range(args.rounds):
            for name, (process, url) in servers.items():
                runs[name].append(_wrk(url, script, args.connections, args.seconds, process.pid))
        for name, (process, _) in servers.items():
            ordered = sorted(runs[name], key=lambda run: run["requests_per_s"])
            results[name] = ordered[len(ordered) // 2] | {"rss_mb": _tree_rss_mb(process.pid)}
    finally:
        for process, _ in servers.values():
            _stop(process)
        shutil.rmtree(folder, ignore_errors=True)
    ceiling = _ceiling(model, frame)

    base = results["mlflow models serve"]
    print(
        f"\none row per request, {args.connections} connections, {args.workers} worker(s), "
        f"{args.seconds} s, median of {args.rounds} run(s), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'server':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>8} "
        f"{'srv CPU':>8} {'wrk CPU':>8}"
    )
    for name, row in results.items():
        print(
            f"{name:<22} {row['requests_per_s']:>9.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {row['rss_mb']:>8.0f} {row['server_cpu_share']:>7.0%} "
            f"{row['wrk_cpu_share']:>7.0%}"
        )
    for name, measured in runs.items():
        rates = ", ".join(f"{run['requests_per_s']:.0f}" for run in measured)
        print(f"{name} req/s of each run: {rates}")
    ours = results["iml4e serve"]
    print(
        f"ratios iml4e/mlflow: throughput {ours['requests_per_s'] / base['requests_per_s']:.1f}x, "
        f"p99 {ours['p99_ms'] / base['p99_ms']:.2f}\n"
        f"ceiling, predict in process: {ceiling['rows_per_s_one_row']:.0f} rows/s one row at a "
        f"time, {ceiling['rows_per_s_64_rows']:.0f} rows/s 64 rows at a time"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "runs": runs,
                    "ceiling": ceiling,
                    "connections": args.connections,
                    "workers": args.workers,
                    "seconds": args.seconds,
                    "rounds": args.rounds,
                    "python": sys.version.split()[0],
                    "machine": platform.platform(),
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
