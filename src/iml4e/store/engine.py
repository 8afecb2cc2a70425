"""Create SQLAlchemy engines for the metadata database, tuned per backend."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from iml4e.config import Settings, mask_url
from iml4e.store.errors import StoreUnavailable


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL, or ``None`` for other databases and in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_store_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database_url``.

    SQLite files get WAL mode (readers never block the writer), a busy timeout so concurrent
    writers wait instead of failing, and enforced foreign keys. The file's folder is created.
    """
    path = sqlite_path(settings.database_url)
    if path is not None:
        _prepare_sqlite_folder(path, settings.database_url)
    try:
        engine = create_engine(settings.database_url, pool_pre_ping=path is None)
    except Exception as exc:
        raise StoreUnavailable(
            f"cannot create a database engine ({exc})", where=mask_url(settings.database_url)
        ) from None
    if engine.dialect.name == "sqlite":
        _tune_sqlite(engine, settings.sqlite_busy_timeout_ms)
    return engine


def _prepare_sqlite_folder(path: Path, url: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"cannot create the database folder {path.parent} ({exc.strerror or exc})",
            where=mask_url(url),
        ) from None


SQLITE_BUSY = 5
"""SQLite's primary result code for a lock held by another connection."""


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            _switch_to_wal(cursor, busy_timeout_ms / 1000)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor, patience_s: float) -> None:
    """Put the file in WAL mode, waiting out other processes doing the same.

    Changing the journal mode, and recovering the WAL index of a file another process just
    created, can report "database is locked" at once, without calling the busy handler. So
    several processes opening a new database together retry here, up to the busy timeout.
    """
    deadline = time.monotonic() + patience_s
    pause = 0.01
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == SQLITE_BUSY
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
