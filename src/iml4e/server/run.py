"""``iml4e up``: the platform server in the foreground, the MLflow UI as a child beside it.

Order matters: claim the platform port and check the MLflow port (fail fast, nothing started,
nothing written), initialise the database (so MLflow never races our migrations), start
MLflow, then serve. SIGINT and SIGTERM stop uvicorn gracefully; the MLflow process group is
stopped on every way out, including a failed start.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from iml4e.config import Settings
from iml4e.platform import initialize
from iml4e.ports import bind_listening_socket, ensure_port_free, http_url
from iml4e.server.app import create_platform_app
from iml4e.server.errors import PlatformStartFailed, ServerAddressError
from iml4e.server.mlflow_ui import MlflowUi, mlflow_ui_url, start_mlflow_ui

if TYPE_CHECKING:
    from iml4e.monitoring.scheduler import MonitorScheduler

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACEFUL_SHUTDOWN_S = 5
WATCH_INTERVAL_S = 0.25


def run_platform(settings: Settings) -> None:
    """Run the platform server and the MLflow UI until SIGINT or SIGTERM; returns when stopped.

    Raises :class:`~iml4e.server.PortInUse` before starting anything when a port is taken,
    and :class:`~iml4e.server.errors.PlatformStartFailed` when the server cannot start.
    """
    started_at = time.monotonic()
    platform_socket = _claim_ports(settings)
    try:
        initialize(settings)
        _serve_with_mlflow(settings, platform_socket, started_at)
    finally:
        platform_socket.close()


def _claim_ports(settings: Settings) -> socket.socket:
    if settings.mlflow_port == settings.server_port:
        raise ServerAddressError(
            f"port {settings.mlflow_port} is also server_port; the two servers need two ports",
            where="setting mlflow_port",
        )
    platform_socket = bind_listening_socket(
        settings.server_host, settings.server_port, "server_port"
    )
    try:
        ensure_port_free(settings.server_host, settings.mlflow_port, "mlflow_port")
    except BaseException:
        platform_socket.close()
        raise
    return platform_socket


class _PlatformServer(uvicorn.Server):
    """A uvicorn server that says when it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def _serve_with_mlflow(settings: Settings, sock: socket.socket, started_at: float) -> None:
    platform_url = http_url(settings.server_host, settings.server_port)
    ready_line = f"iml4e up: platform {platform_url}  mlflow {mlflow_ui_url(settings)}"
    app = create_platform_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.server_host,
        port=settings.server_port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = _PlatformServer(config, on_started=lambda: print(ready_line, flush=True))
    stopping = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        server.should_exit = True

    previous_handlers = _install_signal_handlers(request_stop)
    scheduler = _start_monitor_scheduler(settings)
    app.state.scheduler = scheduler  # shown and paused by the web UI and /api/scheduler
    try:
        mlflow = start_mlflow_ui(settings)
        watcher = threading.Thread(
            target=_watch_mlflow,
            args=(mlflow, stopping, started_at),
            name="iml4e-mlflow-watcher",
            daemon=True,
        )
        try:
            watcher.start()
            if not stopping.is_set():
                _run_server(server, sock)
        finally:
            stopping.set()
            mlflow.stop()
            if watcher.is_alive():
                watcher.join()
    finally:
        if scheduler is not None:
            scheduler.stop()
        _restore_signal_handlers(previous_handlers)


def _start_monitor_scheduler(settings: Settings) -> MonitorScheduler | None:
    """Monitor every serving deployment every ``monitor_interval_s`` (0: no schedule)."""
    if settings.monitor_interval_s <= 0:
        return None
    from iml4e.monitoring.scheduler import MonitorScheduler
    from iml4e.monitoring.windows import parse_window

    parse_window(settings.monitor_window, where="monitor_window")  # refuse a bad one at start
    scheduler = MonitorScheduler(
        settings, interval_s=settings.monitor_interval_s, window=settings.monitor_window
    )
    scheduler.start()
    return scheduler


def _run_server(server: uvicorn.Server, sock: socket.socket) -> None:
    try:
        server.run(sockets=[sock])
    except (SystemExit, OSError) as exc:
        # uvicorn exits with SystemExit when the app's start-up fails (it logged why); the
        # socket fails with OSError.
        if server.started:
            raise
        detail = f" ({exc})" if isinstance(exc, OSError) else " (see the messages above)"
        raise PlatformStartFailed(f"the platform server failed to start{detail}") from None


def _watch_mlflow(mlflow: MlflowUi, stopping: threading.Event, started_at: float) -> None:
    """Report once when MLflow is ready, and if it ends while the platform still runs."""
    ready = False
    while not stopping.wait(WATCH_INTERVAL_S):
        code = mlflow.exit_code()
        if code is not None:
            if not stopping.is_set():
                print(
                    f"iml4e up: the MLflow UI stopped (exit code {code}); see {mlflow.log_path}",
                    file=sys.stderr,
                    flush=True,
                )
            return
        if not ready and mlflow.is_ready():
            ready = True
            elapsed = time.monotonic() - started_at
            print(f"iml4e up: mlflow ready after {elapsed:.1f} s", flush=True)


def _install_signal_handlers(handler: Callable[[int, FrameType | None], None]) -> dict[int, Any]:
    """Route SIGINT/SIGTERM to ``handler`` (main thread only) and return what was there.

    uvicorn swaps in its own handlers while it serves and, when it stops because of a signal,
    restores these and raises the signal again: our handler then makes that a clean exit
    instead of a KeyboardInterrupt (exit 130) or a death by SIGTERM.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
