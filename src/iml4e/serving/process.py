"""Model server processes (``iml4e serve``): the command, starting, readiness, liveness, stopping.

Two callers share this: :class:`ModelServerProcess`, a child server that lives as long as a
``with`` block (tests, the demo), and the deployment manager (:mod:`iml4e.serving.manager`),
whose servers are detached and outlive the command that started them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx

from iml4e.config import Settings
from iml4e.ports import http_url
from iml4e.serving.errors import DeploymentFailed
from iml4e.serving.spec import ServeSpec
from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
POLL_INTERVAL_S = 0.1


def serve_command(spec: ServeSpec, *, host: str, port: int, workers: int = 1) -> list[str]:
    """The ``python -m iml4e serve …`` command line serving ``spec``."""
    return [
        sys.executable,
        "-m",
        "iml4e",
        "serve",
        spec.model_uri,
        *spec.serve_options(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def server_environment(settings: Settings) -> dict[str, str]:
    """The environment of a server process: this one's, minus ``IML4E_*``, plus ``settings``."""
    return {
        **MLFLOW_ENVIRONMENT_DEFAULTS,
        **{k: v for k, v in os.environ.items() if not k.startswith("IML4E_")},
        **settings.as_environment(),
    }


def spawn_detached_server(command: list[str], environment: dict[str, str], log_path: Path) -> int:
    """Start ``command`` in a new session, its output appended to ``log_path``; returns its pid.

    No :class:`subprocess.Popen` is kept: the server outlives the caller, and whoever checks on
    it later goes by pid (:func:`process_running`).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return os.posix_spawn(
        command[0],
        command,
        environment,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


def wait_until_ready(
    url: str,
    *,
    deployment: str,
    exit_code: Callable[[], int | None],
    log_path: Path,
    timeout: float = READY_TIMEOUT_S,
) -> dict[str, object]:
    """Poll ``url``/health until this deployment's server answers; returns its answer.

    ``exit_code`` says whether the server process has ended (None while it runs). Raises
    :class:`DeploymentFailed` with the log's last lines when it ends or ``timeout`` passes.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = exit_code()
        if code is not None:
            raise DeploymentFailed(
                f"the model server exited with code {code}: {log_tail(log_path)}", where=url
            )
        answer = health(url)
        # A server that names another deployment is someone else's on this port.
        if answer is not None and answer.get("deployment", deployment) == deployment:
            return answer
        time.sleep(POLL_INTERVAL_S)
    raise DeploymentFailed(
        f"the model server was not ready within {timeout:.0f}s: {log_tail(log_path)}", where=url
    )


def health(url: str, timeout: float = 1.0) -> dict[str, object] | None:
    """The JSON a model server answers on ``url``/health, or None when nothing answers."""
    try:
        answer = httpx.get(f"{url}/health", timeout=timeout)
    except httpx.TransportError:
        return None
    if answer.status_code != 200:
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def process_running(pid: int) -> bool:
    """Whether process ``pid`` is alive (a zombie is not; a child of ours is reaped here)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _process_state(pid) not in ("Z", "X")
    return reaped == 0


def exit_code_of(pid: int) -> int | None:
    """None while process ``pid`` runs; then its exit code (minus the signal that ended it), or
    -1 when it was not a child of this process and its code is unknown."""
    try:
        reaped, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if process_running(pid) else -1
    return None if reaped == 0 else os.waitstatus_to_exitcode(status)


def process_command_line(pid: int) -> list[str] | None:
    """The arguments process ``pid`` was started with, None where the system does not say."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def terminate_server(
    pid: int, *, exited: Callable[[], bool], timeout: float = STOP_TIMEOUT_S
) -> None:
    """Stop the server ``pid`` leads: SIGTERM its process group, SIGKILL it after ``timeout``.

    The server handles SIGTERM (records its deployment stopped, closes its logs, stops its
    workers); whatever of its group is still there after that is killed.
    """
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not exited():
        if time.monotonic() > deadline:
            _signal_group(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(POLL_INTERVAL_S)
    _signal_group(pid, signal.SIGKILL)


def log_tail(path: Path, lines: int = 5, separator: str = " | ") -> str:
    """The last ``lines`` lines of a log file, joined by ``separator`` ("(no log)" if none)."""
    try:
        return separator.join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ModelServerProcess:
    """A model server child process for one deployment; use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        spec: ServeSpec,
        *,
        host: str,
        port: int,
        workers: int = 1,
    ) -> None:
        self.settings = settings
        self.deployment = spec.deployment
        self.url = http_url(host, port)
        self.log_path = settings.home / "logs" / f"serve-{spec.deployment}.log"
        self._command = serve_command(spec, host=host, port=port, workers=workers)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Start the server and return once ``/health`` answers; raise with its log if not."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            process = subprocess.Popen(
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_environment(self.settings),
                start_new_session=True,
            )
        self._process = process
        try:
            wait_until_ready(
                self.url,
                deployment=self.deployment,
                exit_code=process.poll,
                log_path=self.log_path,
                timeout=timeout,
            )
        except DeploymentFailed:
            self.stop()
            raise

    def stop(self) -> int | None:
        """Ask the server to shut down (SIGTERM), kill it if it does not; returns its code."""
        process = self._process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        terminate_server(process.pid, exited=lambda: process.poll() is not None)
        return process.wait()

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def __enter__(self) -> ModelServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _process_state(pid: int) -> str | None:
    """The state letter in ``/proc/PID/stat`` (``Z`` for a zombie), None where there is none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
