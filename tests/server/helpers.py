"""Loopback helpers shared by the server tests: free ports, waiting, process inspection."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import uvicorn
from starlette.types import ASGIApp

from iml4e.config import Settings, load_settings


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def up_environment(**settings: int | str) -> dict[str, str]:
    """This environment without the developer's ``IML4E_*`` values, plus ``settings``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
    environment.update({f"IML4E_{key.upper()}": str(value) for key, value in settings.items()})
    return environment


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``check`` until it is true; returns the seconds it took, fails after ``timeout_s``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


def answers(url: str, status: int = 200, json_check: Mapping[str, object] | None = None) -> bool:
    """Whether GET ``url`` answers ``status`` (and its JSON contains ``json_check``) now."""
    try:
        response = httpx.get(url, timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return False
    if response.status_code != status:
        return False
    if json_check is None:
        return True
    body = response.json()
    return all(body.get(key) == value for key, value in json_check.items())


def processes_in_group(group: int) -> list[psutil.Process]:
    """Live (non-zombie) processes whose process group is ``group``."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def processes_with_arguments(text: str) -> list[psutil.Process]:
    """Live processes whose command line contains ``text`` (e.g. ``"--port 8766"``)."""
    found = []
    for process in psutil.process_iter():
        try:
            if text in " ".join(process.cmdline()) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``processes`` that still run (zombies count as gone)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            continue
    return running


def read(path: Path) -> str:
    """A file's text, or ``""`` when it does not exist."""
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@contextmanager
def serving_in_thread(app: ASGIApp, name: str) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base URL and
    checks that the server stopped when the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.config.port}"
    try:
        wait_until(lambda: answers(f"{url}/ui/login"), 30, "the platform server answering")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "uvicorn did not stop"


def auth_on_settings(folder: Path) -> Settings:
    """Settings of the home ``folder/home`` with server auth on, a free MLflow port, and none
    of the developer's environment."""
    return load_settings(
        {"home": str(folder / "home"), "server_auth": "on", "mlflow_port": free_port()},
        environ={},
        cwd=folder,
    ).settings
