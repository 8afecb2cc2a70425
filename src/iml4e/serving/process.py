"""Start and stop a model server as a child process (``iml4e serve``) and wait until ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from iml4e.config import Settings
from iml4e.serving.errors import ServingError
from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0


class ModelServerProcess:
    """A model server child process for one deployment; use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        model_uri: str,
        *,
        deployment: str,
        host: str,
        port: int,
        workers: int = 1,
    ) -> None:
        self.settings = settings
        self.url = f"http://{host}:{port}"
        self.log_path = settings.home / "logs" / f"serve-{deployment}.log"
        self._command = [
            sys.executable,
            "-m",
            "iml4e",
            "serve",
            model_uri,
            "--deployment",
            deployment,
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Start the server and return once ``/health`` answers; raise with its log if not."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        environment = {
            **MLFLOW_ENVIRONMENT_DEFAULTS,
            **{k: v for k, v in os.environ.items() if not k.startswith("IML4E_")},
            **self.settings.as_environment(),
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServingError(
                    f"the model server exited with code {self._process.returncode}: "
                    f"{_tail(self.log_path)}",
                    where=self.url,
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServingError(f"the model server was not ready within {timeout:.0f}s", where=self.url)

    def stop(self) -> int | None:
        """Ask the server to shut down (SIGTERM), kill it if it does not; returns its code."""
        process = self._process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
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


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"
