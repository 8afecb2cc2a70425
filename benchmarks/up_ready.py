"""Start-up of ``iml4e up`` side by side with a plain ``mlflow server`` on the same backend.

For each repeat, in the same run and alternating the two:

* ``iml4e up``: seconds from spawn until the platform's ``/health`` answers 200, and until the
  MLflow UI answers through the platform (``GET /mlflow/``); the RSS of the whole process tree
  (platform, MLflow and MLflow's own children) when both are ready, and its peak afterwards
  once it has settled (MLflow keeps starting job-runner processes after it answers); the
  same two figures split into the platform process itself and the MLflow UI child tree it
  started, the platform's checked against the target (ready under 5 s, under 400 MB);
* ``mlflow server`` (one worker, the same SQLite backend and artifact root): seconds until its
  ``/health`` answers 200, and the same two RSS figures of its process tree.

Every measurement gets a fresh temporary home, initialised (``iml4e init``) before the clock
starts, so both sides measure start-up, not migrations.

    .venv/bin/python benchmarks/up_ready.py --repeat 3 --json up_ready.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from _environment import environment_facts  # benchmarks/_environment.py

from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

POLL_S = 0.05
RSS_SAMPLE_S = 0.5
RSS_QUIET_S = 5.0
RSS_CAP_S = 120.0
STOP_TIMEOUT_S = 30.0
TARGET_READY_S = 5.0
TARGET_PLATFORM_RSS_MB = 400.0


@dataclass
class UpRun:
    """One ``iml4e up`` start."""

    platform_ready_s: float
    mlflow_via_platform_s: float
    rss_ready_mb: float
    rss_peak_mb: float
    processes: int
    stop_s: float
    exit_code: int
    platform_rss_ready_mb: float = 0.0
    platform_rss_peak_mb: float = 0.0
    mlflow_rss_ready_mb: float = 0.0
    mlflow_rss_peak_mb: float = 0.0


@dataclass
class MlflowRun:
    """One plain ``mlflow server`` start."""

    ready_s: float
    rss_ready_mb: float
    rss_peak_mb: float
    processes: int
    stop_s: float


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for a server to be ready"
    )
    args = parser.parse_args(argv)

    up_runs: list[UpRun] = []
    mlflow_runs: list[MlflowRun] = []
    for index in range(args.repeat):
        up_runs.append(measure_up(args.timeout))
        print(f"run {index + 1}/{args.repeat} iml4e up:      {_describe(up_runs[-1])}", flush=True)
        mlflow_runs.append(measure_mlflow(args.timeout))
        print(
            f"run {index + 1}/{args.repeat} mlflow server: {_describe(mlflow_runs[-1])}",
            flush=True,
        )

    summary = summarise(up_runs, mlflow_runs)
    print()
    print(render(summary, args.repeat))
    if args.json:
        report = {
            "environment": environment_facts("iml4e", "mlflow"),
            "repeat": args.repeat,
            "summary": summary,
            "iml4e_up": [asdict(run) for run in up_runs],
            "mlflow_server": [asdict(run) for run in mlflow_runs],
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nresults written to {args.json}")


# --- the two sides ----------------------------------------------------------------------------


def measure_up(timeout_s: float) -> UpRun:
    """Start ``iml4e up`` in a fresh, initialised home; time it, weigh it, stop it."""
    with fresh_home() as home:
        port, mlflow_port = free_port(), free_port()
        env = clean_environment()
        env.update(IML4E_SERVER_PORT=str(port), IML4E_MLFLOW_PORT=str(mlflow_port))
        base = f"http://127.0.0.1:{port}"
        start = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "iml4e", "--home", str(home), "up"],
            env=env,
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            platform_ready = wait_for(f"{base}/health", start, timeout_s, process)
            mlflow_ready = wait_for(f"{base}/mlflow/", start, timeout_s, process)
            rss_ready, _ = tree_rss_mb(process.pid)
            split_ready = platform_and_children_rss_mb(process.pid)
            peak = SplitPeak()
            rss_peak, processes = settled_peak_rss_mb(
                process.pid, RSS_QUIET_S, RSS_CAP_S, on_sample=peak.add
            )
            stop_start = time.perf_counter()
            process.send_signal(signal.SIGINT)
            exit_code = process.wait(timeout=STOP_TIMEOUT_S)
            stop_s = time.perf_counter() - stop_start
        finally:
            kill_tree(process)
    return UpRun(
        platform_ready,
        mlflow_ready,
        rss_ready,
        rss_peak,
        processes,
        stop_s,
        exit_code,
        platform_rss_ready_mb=split_ready[0],
        platform_rss_peak_mb=max(peak.platform_mb, split_ready[0]),
        mlflow_rss_ready_mb=split_ready[1],
        mlflow_rss_peak_mb=max(peak.children_mb, split_ready[1]),
    )


def measure_mlflow(timeout_s: float) -> MlflowRun:
    """Start a plain ``mlflow server`` on a fresh, initialised home, as a user would."""
    with fresh_home() as home:
        port = free_port()
        database = f"sqlite:///{home / 'iml4e.db'}"
        artifacts = (home / "artifacts" / "mlflow").as_uri()
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", database,
            "--default-artifact-root", artifacts,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", "1",
        ]  # fmt: skip
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=clean_environment(),
            cwd=home,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            ready = wait_for(f"http://127.0.0.1:{port}/health", start, timeout_s, process)
            rss_ready, _ = tree_rss_mb(process.pid)
            rss_peak, processes = settled_peak_rss_mb(process.pid, RSS_QUIET_S, RSS_CAP_S)
            stop_start = time.perf_counter()
            os.killpg(process.pid, signal.SIGTERM)
            wait_gone(lambda: _group_alive(process), STOP_TIMEOUT_S)
            stop_s = time.perf_counter() - stop_start
        finally:
            kill_tree(process, group=True)
    return MlflowRun(ready, rss_ready, rss_peak, processes, stop_s)


# --- measuring --------------------------------------------------------------------------------


def wait_for(url: str, start: float, timeout_s: float, process: subprocess.Popen[bytes]) -> float:
    """Seconds from ``start`` until GET ``url`` answers 200."""
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.perf_counter() - start < timeout_s:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode} before {url}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(POLL_S)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s} s")


def tree_rss_mb(pid: int) -> tuple[float, int]:
    """Summed RSS (MB) of ``pid`` and its descendants right now, and how many they are.

    Summed RSS counts shared pages once per process, so it overstates what the tree costs
    the machine; both sides are measured the same way.
    """
    root = psutil.Process(pid)
    total, count = 0, 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
            count += 1
        except psutil.Error:
            continue
    return total / 2**20, count


def platform_and_children_rss_mb(pid: int) -> tuple[float, float]:
    """RSS (MB) of process ``pid`` itself, and summed over its descendants.

    For ``iml4e up`` the first is the platform server (the 400 MB target is about it) and
    the second the MLflow UI it starts beside it (``mlflow server`` and its worker).
    """
    try:
        root = psutil.Process(pid)
        own = root.memory_info().rss
        children = root.children(recursive=True)
    except psutil.Error:
        return 0.0, 0.0
    total = 0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return own / 2**20, total / 2**20


@dataclass
class SplitPeak:
    """Peaks of the root process and of its descendants over the samples taken."""

    platform_mb: float = 0.0
    children_mb: float = 0.0

    def add(self, pid: int) -> None:
        own, children = platform_and_children_rss_mb(pid)
        self.platform_mb = max(self.platform_mb, own)
        self.children_mb = max(self.children_mb, children)


def settled_peak_rss_mb(
    pid: int, quiet_s: float, cap_s: float, on_sample: Callable[[int], None] | None = None
) -> tuple[float, int]:
    """Peak tree RSS after readiness, sampled until it stops growing for ``quiet_s``.

    MLflow keeps starting job-runner processes for many seconds after its ``/health``
    answers, so the figure at readiness alone would depend on how far they got.
    ``on_sample`` is called with ``pid`` at every sample (to follow parts of the tree).
    """
    peak, count = tree_rss_mb(pid)
    start = last_growth = time.perf_counter()
    while time.perf_counter() - start < cap_s and time.perf_counter() - last_growth < quiet_s:
        time.sleep(RSS_SAMPLE_S)
        if on_sample is not None:
            on_sample(pid)
        total, seen = tree_rss_mb(pid)
        if total > peak * 1.01:
            last_growth = time.perf_counter()
        if total > peak:
            peak, count = total, max(count, seen)
    return peak, count


def summarise(up_runs: list[UpRun], mlflow_runs: list[MlflowRun]) -> dict[str, Any]:
    """Medians of every figure, and the ratios iml4e up / plain mlflow."""

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    summary = {
        "up_platform_ready_s": median([r.platform_ready_s for r in up_runs]),
        "up_mlflow_via_platform_s": median([r.mlflow_via_platform_s for r in up_runs]),
        "up_rss_ready_mb": median([r.rss_ready_mb for r in up_runs]),
        "up_rss_peak_mb": median([r.rss_peak_mb for r in up_runs]),
        "up_platform_rss_ready_mb": median([r.platform_rss_ready_mb for r in up_runs]),
        "up_platform_rss_peak_mb": median([r.platform_rss_peak_mb for r in up_runs]),
        "up_mlflow_ui_rss_ready_mb": median([r.mlflow_rss_ready_mb for r in up_runs]),
        "up_mlflow_ui_rss_peak_mb": median([r.mlflow_rss_peak_mb for r in up_runs]),
        "up_processes": median([r.processes for r in up_runs]),
        "up_stop_s": median([r.stop_s for r in up_runs]),
        "mlflow_ready_s": median([r.ready_s for r in mlflow_runs]),
        "mlflow_rss_ready_mb": median([r.rss_ready_mb for r in mlflow_runs]),
        "mlflow_rss_peak_mb": median([r.rss_peak_mb for r in mlflow_runs]),
        "mlflow_processes": median([r.processes for r in mlflow_runs]),
        "mlflow_stop_s": median([r.stop_s for r in mlflow_runs]),
    }
    summary["ratio_ready"] = round(
        summary["up_mlflow_via_platform_s"] / summary["mlflow_ready_s"], 2
    )
    summary["ratio_rss_ready"] = round(
        summary["up_rss_ready_mb"] / summary["mlflow_rss_ready_mb"], 2
    )
    summary["ratio_rss_peak"] = round(summary["up_rss_peak_mb"] / summary["mlflow_rss_peak_mb"], 2)
    summary["platform_under_target"] = (
        summary["up_platform_ready_s"] < TARGET_READY_S
        and summary["up_platform_rss_peak_mb"] < TARGET_PLATFORM_RSS_MB
    )
    return summary


def render(s: dict[str, Any], repeat: int) -> str:
    """The summary as a small table for people."""
    rows = [
        ("platform /health answers (s)", f"{s['up_platform_ready_s']:.2f}", "-", "-"),
        (
            "MLflow UI answers (s)",
            f"{s['up_mlflow_via_platform_s']:.2f}",
            f"{s['mlflow_ready_s']:.2f}",
            f"{s['ratio_ready']:.2f}",
        ),
        (
            "RSS of process tree at ready (MB)",
            f"{s['up_rss_ready_mb']:.0f}",
            f"{s['mlflow_rss_ready_mb']:.0f}",
            f"{s['ratio_rss_ready']:.2f}",
        ),
        (
            "peak RSS after ready, settled (MB)",
            f"{s['up_rss_peak_mb']:.0f}",
            f"{s['mlflow_rss_peak_mb']:.0f}",
            f"{s['ratio_rss_peak']:.2f}",
        ),
        (
            "  of which the platform process (MB)",
            f"{s['up_platform_rss_ready_mb']:.0f} / {s['up_platform_rss_peak_mb']:.0f}",
            "-",
            "-",
        ),
        (
            "  of which the MLflow UI child tree (MB)",
            f"{s['up_mlflow_ui_rss_ready_mb']:.0f} / {s['up_mlflow_ui_rss_peak_mb']:.0f}",
            "-",
            "-",
        ),
        ("processes in tree", f"{s['up_processes']:.0f}", f"{s['mlflow_processes']:.0f}", "-"),
        ("stop (s)", f"{s['up_stop_s']:.2f}", f"{s['mlflow_stop_s']:.2f}", "-"),
    ]
    header = (f"median of {repeat} runs", "iml4e up", "mlflow server", "ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        "start-up only: each run uses a fresh temp home initialised (iml4e init) before timing,",
        "so no migrations are measured. iml4e up's MLflow time is through the platform (/mlflow/).",
        "RSS is summed over the process tree (shared pages counted per process); 'settled' is",
        f"the peak sampled after ready until it grew <1% for {RSS_QUIET_S:.0f} s.",
        "The platform/MLflow split shows 'at ready / settled peak'.",
        "",
    ]
    for row in [header, *rows]:
        lines.append(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
    met = "met" if s["platform_under_target"] else "MISSED"
    lines += [
        "",
        f"target: the platform ready under {TARGET_READY_S:.0f} s and its process under "
        f"{TARGET_PLATFORM_RSS_MB:.0f} MB RSS (settled peak): "
        f"{s['up_platform_ready_s']:.2f} s, {s['up_platform_rss_peak_mb']:.0f} MB -> {met}",
        f"(the MLflow UI beside it answered after {s['up_mlflow_via_platform_s']:.2f} s, "
        f"its tree {s['up_mlflow_ui_rss_peak_mb']:.0f} MB)",
    ]
    return "\n".join(lines)


# --- plumbing ---------------------------------------------------------------------------------


@contextmanager
def fresh_home() -> Iterator[Path]:
    """A temporary home initialised with ``iml4e init``, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="iml4e-bench-"))
    home = root / "home"
    try:
        subprocess.run(
            [sys.executable, "-m", "iml4e", "--home", str(home), "init"],
            env=clean_environment(),
            cwd=root,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        yield home
    finally:
        shutil.rmtree(root, ignore_errors=True)


def clean_environment() -> dict[str, str]:
    """This environment without ``IML4E_*`` settings, with MLflow's telemetry opted out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
    return {**MLFLOW_ENVIRONMENT_DEFAULTS, **env}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_gone(still_there: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while still_there() and time.perf_counter() < deadline:
        time.sleep(POLL_S)


def kill_tree(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    """Make sure nothing of a measured server survives the measurement.

    ``group``: the process leads its own process group, which is killed as a whole (its
    grandchildren may have been orphaned already).
    """
    if group:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(True)]
    except psutil.Error:
        family = []
    for member in family:
        try:
            member.kill()
        except psutil.Error:
            continue
    process.wait()


def _group_alive(process: subprocess.Popen[bytes]) -> bool:
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


def _describe(run: UpRun | MlflowRun) -> str:
    return ", ".join(
        f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}"
        for key, value in asdict(run).items()
    )


if __name__ == "__main__":
    main()
