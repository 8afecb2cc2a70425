"""Shared fixtures: settings in a temporary home, and stores on real SQLite and PostgreSQL.

PostgreSQL is the server on 127.0.0.1:5432 (override with ``TEST_POSTGRES_URL``, an admin URL
whose user may create databases). Each test session creates its own databases and drops them
at the end; a missing server fails the tests that need it.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iml4e.config import Settings, load_settings
from iml4e.store import Store, open_store

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class PostgresDatabases:
    """Creates throw-away databases on the test PostgreSQL server and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"iml4e_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self._engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        with self._engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        # Each DROP DATABASE waits for a checkpoint; dropped side by side, they share one.
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(self._drop, self.created))
        self._engine.dispose()

    def _drop(self, name: str) -> None:
        with self._engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL))
    yield databases
    databases.drop_all()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings in a temporary home, ignoring the developer's environment."""

    def build(**overrides: object) -> Settings:
        values = {"home": str(tmp_path / "home"), **overrides}
        return load_settings(values, environ={}, cwd=tmp_path).settings

    return build


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Settings:
    """Settings on each real backend in turn: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return make_settings()
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    return make_settings(database_url=postgres.create())


@pytest.fixture
def store(backend_settings: Settings) -> Iterator[Store]:
    """A migrated store on each backend in turn."""
    opened = open_store(backend_settings)
    yield opened
    opened.close()


def run_iml4e_here(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``iml4e`` command's entry point in this process (no interpreter start-up, so
    a test calling many commands stays fast): same arguments, exit code and output as
    :func:`run_iml4e`, with the MLflow environment ``python -m iml4e`` sets, restored after."""
    from iml4e.cli.main import main
    from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

    changes = {**MLFLOW_ENVIRONMENT_DEFAULTS, **(env or {})}
    saved = {name: os.environ.get(name) for name in changes}
    hidden = {k: v for k, v in os.environ.items() if k.startswith("IML4E_") and k not in changes}
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    try:
        os.environ.update(changes)
        for name in hidden:
            del os.environ[name]
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(stdin),
            contextlib.chdir(cwd or Path.cwd()),
        ):
            try:
                main(list(args))
            except SystemExit as exited:
                code = exited.code
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ.update(hidden)
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return subprocess.CompletedProcess(["iml4e", *args], returncode, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    previous = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = previous


def run_iml4e(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real ``iml4e`` command in a child process, with no IML4E_* from the caller."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "iml4e", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        cwd=cwd,
    )
