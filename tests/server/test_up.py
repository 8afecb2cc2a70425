"""``iml4e up`` as a real process on loopback: MLflow beside it, clean stops, busy ports."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from iml4e.config import Settings
from iml4e.platform import initialize
from iml4e.server import PlatformStartFailed
from iml4e.server.run import _serve_with_mlflow
from tests.server.helpers import (
    alive,
    answers,
    free_port,
    processes_in_group,
    processes_with_arguments,
    read,
    up_environment,
    wait_until,
)

PLATFORM_READY_S = 120  # generous: a busy CI machine, not a speed check (see benchmarks/)
MLFLOW_READY_S = 180
STOP_S = 20


@dataclass
class Up:
    """A running ``iml4e up`` and where to reach it."""

    process: subprocess.Popen[bytes]
    home: Path
    port: int
    mlflow_port: int
    stdout: Path
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def output(self) -> str:
        return f"stdout:\n{read(self.stdout)}\nstderr:\n{read(self.stderr)}"

    def mlflow_group(self) -> int:
        """Process group of the MLflow child (it leads its own group)."""
        children = psutil.Process(self.process.pid).children()
        mlflow = [c for c in children if "mlflow" in " ".join(c.cmdline())]
        assert len(mlflow) == 1, self.output()
        return mlflow[0].pid

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=STOP_S)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    port, mlflow_port = free_port(), free_port()
    stdout, stderr = tmp_path / "up.out", tmp_path / "up.err"
    home = tmp_path / "home"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "iml4e", "--home", str(home), "up"],
            env=up_environment(server_port=port, mlflow_port=mlflow_port),
            cwd=tmp_path,
            stdout=out,
            stderr=err,
        )
    running = Up(process, home, port, mlflow_port, stdout, stderr)
    try:
        wait_until(lambda: answers(f"{running.url}/health"), PLATFORM_READY_S, "platform /health")
        yield running
    finally:
        if process.poll() is None:  # a failed test: do not leave servers behind
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait()


@pytest.mark.slow
def test_up_serves_mlflow_beside_it_and_stops_cleanly_on_ctrl_c(up: Up) -> None:
    assert f"iml4e up: platform {up.url}  mlflow {up.mlflow_url}" in read(up.stdout)
    wait_until(
        lambda: (
            answers(f"{up.url}/health", json_check={"database": "ok"})
            and httpx.get(f"{up.url}/health", trust_env=False).json()["mlflow"]["ready"]
        ),
        MLFLOW_READY_S,
        "MLflow ready in /health",
    )
    group = up.mlflow_group()
    family = psutil.Process(up.process.pid).children(recursive=True)
    assert len(family) >= 2  # mlflow server and its uvicorn worker, at least

    with httpx.Client(base_url=up.url, trust_env=False, timeout=30) as client:
        assert client.get("/mlflow", follow_redirects=False).headers["location"] == "/mlflow/"
        page = client.get("/mlflow/")
        assert page.status_code == 200
        assert "<title>MLflow</title>" in page.text
        script = re.search(r'src="(static-files/[^"]+\.js)"', page.text)
        assert script is not None
        assert client.get(f"/mlflow/{script.group(1)}").status_code == 200
        assert client.get("/mlflow/health").text == "OK"
        created = client.post(
            "/mlflow/ajax-api/2.0/mlflow/experiments/create",
            json={"name": "through-the-proxy"},
            headers={"origin": up.url},
        )
        assert created.status_code == 200, created.text

    search = httpx.get(
        f"{up.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=10", trust_env=False
    )
    assert search.status_code == 200
    assert "through-the-proxy" in {e["name"] for e in search.json()["experiments"]}

    assert up.stop(signal.SIGINT) == 0, up.output()
    assert alive(family) == []
    assert processes_in_group(group) == []
    assert "Traceback" not in read(up.stderr)


@pytest.mark.slow
def test_sigterm_while_mlflow_is_still_starting_stops_everything(up: Up) -> None:
    group = up.mlflow_group()
    family = psutil.Process(up.process.pid).children(recursive=True)

    assert up.stop(signal.SIGTERM) == 0, up.output()
    assert alive(family) == []
    assert processes_in_group(group) == []


@pytest.mark.slow
@pytest.mark.parametrize("busy", ["server_port", "mlflow_port"])
def test_a_busy_port_is_one_line_exit_2_and_nothing_started(tmp_path: Path, busy: str) -> None:
    ports = {"server_port": free_port(), "mlflow_port": free_port()}
    home = tmp_path / "home"
    with socket_listening_on(ports[busy]):
        result = subprocess.run(
            [sys.executable, "-m", "iml4e", "--home", str(home), "up"],
            env=up_environment(**ports),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{ports[busy]}" in lines[0]
    assert busy in lines[0]
    assert "iml4e up: platform" not in result.stdout
    assert not (home / "logs").exists()  # the MLflow child was never started
    assert processes_with_arguments(f"--port {ports['mlflow_port']}") == []


@contextmanager
def socket_listening_on(port: int) -> Iterator[None]:
    """Listen on ``127.0.0.1:port`` for the duration of a ``with`` block."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


@pytest.mark.slow
def test_mlflow_is_stopped_when_the_platform_server_cannot_start(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(server_port=free_port(), mlflow_port=free_port())
    initialize(settings)
    broken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    broken.close()  # uvicorn cannot serve on it
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    with pytest.raises(PlatformStartFailed, match="failed to start"):
        _serve_with_mlflow(settings, broken, time.monotonic())

    started = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert alive(started) == []
    assert not answers(f"http://127.0.0.1:{settings.mlflow_port}/health")
    assert "mlflow server on port" in read(settings.home / "logs" / "mlflow.log")
