"""Create SQLAlchemy engines for the metadata database, tuned per backend."""

from __future__ import annotations

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


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
