"""The MLflow tracking server and UI, run as a child process beside the platform server.

The child gets its own process group (``mlflow server`` starts a uvicorn worker and a job
runner of its own), so stopping it signals the whole group and leaves no orphans; a terminal's
Ctrl-C reaches only the platform process, which then stops the group itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from iml4e.config import Settings
from iml4e.ports import http_url
from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

LOG_FILE_NAME = "mlflow.log"
STOP_GRACE_S = 10.0
HEALTH_TIMEOUT_S = 1.0


def mlflow_ui_url(settings: Settings) -> str:
    """Where a local client reaches the MLflow UI and REST API started by ``iml4e up``."""
    return http_url(settings.server_host, settings.mlflow_port)


def mlflow_artifact_uri(settings: Settings) -> str:
    """The folder (URI) for artifacts of experiments created through the MLflow server."""
    return f"{settings.artifact_location_uri.rstrip('/')}/mlflow"


def mlflow_server_command(settings: Settings) -> list[str]:
    """The ``mlflow server`` command line (store URIs travel in the environment, see below).

    Artifacts proxied by MLflow (``mlflow-artifacts:/``) land under the same folder as the
    default artifact root rather than in ``./mlartifacts`` of whatever folder we started in.
    """
    artifacts = mlflow_artifact_uri(settings)
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--default-artifact-root",
        artifacts,
        "--artifacts-destination",
        artifacts,
        "--host",
        settings.server_host,
        "--port",
        str(settings.mlflow_port),
        "--workers",
        "1",
    ]


# MLflow 3 starts a job runner with several worker processes for its GenAI features; the UI
# iml4e starts does not need it (it costs ~1.9 GB and ~4 s here). Set it in the environment
# to turn it back on.
MLFLOW_UI_DEFAULTS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def mlflow_server_environment(settings: Settings) -> dict[str, str]:
    """This process's environment plus the privacy opt-outs and the store URIs.

    The store URIs go in ``MLFLOW_BACKEND_STORE_URI``/``MLFLOW_REGISTRY_STORE_URI`` (the
    documented equivalents of ``--backend-store-uri``/``--registry-store-uri``) because a
    command line is readable by every user of the machine and a database URL may hold a
    password.
    """
    environment = {**MLFLOW_ENVIRONMENT_DEFAULTS, **MLFLOW_UI_DEFAULTS, **os.environ}
    environment["MLFLOW_BACKEND_STORE_URI"] = settings.mlflow_tracking_uri
    environment["MLFLOW_REGISTRY_STORE_URI"] = settings.mlflow_registry_uri
    return environment


class MlflowUi:
    """A running ``mlflow server`` child: readiness, liveness and a clean stop."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    @property
    def pid(self) -> int:
        """Process id of the ``mlflow server`` process (also its process group id)."""
        return self.process.pid

    def exit_code(self) -> int | None:
        """The exit code once the child has ended, ``None`` while it runs."""
        return self.process.poll()

    def is_ready(self) -> bool:
        """Whether MLflow's ``/health`` answers 200 right now."""
        try:
            answer = httpx.get(f"{self.url}/health", timeout=HEALTH_TIMEOUT_S, trust_env=False)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def wait_ready(self, timeout_s: float, poll_s: float = 0.2) -> bool:
        """Wait until ready; ``False`` when the child exited or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.exit_code() is not None:
                return False
            if self.is_ready():
                return True
            time.sleep(poll_s)
        return False

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the whole process group, SIGKILL whatever is left after ``grace_s``."""
        group = self.process.pid  # start_new_session made the child its group's leader
        if _signal_group(group, signal.SIGTERM):
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline:
                self.process.poll()  # reap the leader: a zombie would count as alive
                if not _group_alive(group):
                    break
                time.sleep(0.05)
            else:
                _signal_group(group, signal.SIGKILL)
        self.process.wait()


def start_mlflow_ui(settings: Settings) -> MlflowUi:
    """Start ``mlflow server`` on ``settings.mlflow_port``; returns at once, not when ready.

    Its output goes to ``<home>/logs/mlflow.log`` (appended, one header line per start).
    The caller makes sure MLflow's tables exist first (:func:`iml4e.platform.initialize`).
    """
    log_folder = settings.home / "logs"
    log_folder.mkdir(parents=True, exist_ok=True)
    log_path = log_folder / LOG_FILE_NAME
    with log_path.open("ab") as log:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        header = f"--- iml4e up {started}: mlflow server on port {settings.mlflow_port}\n"
        log.write(header.encode())
        log.flush()
        process = subprocess.Popen(
            mlflow_server_command(settings),
            env=mlflow_server_environment(settings),
            cwd=settings.home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
    return MlflowUi(process, mlflow_ui_url(settings), log_path)


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a hook that makes the kernel SIGTERM the child if the platform dies abruptly.

    Everything is looked up here, in the parent: the hook runs between fork and exec, where
    only the bare call is safe.
    """
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_parent_death_signal


def _signal_group(group: int, signum: int) -> bool:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _group_alive(group: int) -> bool:
    return _signal_group(group, 0)
