"""Apply iml4e's Alembic migrations safely when several processes start at once.

The fast path reads the current revision without any lock. Only when the schema is behind does
a process take the schema lock (a file lock beside a SQLite database, a PostgreSQL advisory
lock otherwise), look again, and upgrade; whoever waited finds the work done.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import Connection, Engine, text

from iml4e.store.engine import sqlite_path
from iml4e.store.errors import StoreError
from iml4e.store.models import VERSION_TABLE

# Arbitrary but fixed key of the PostgreSQL advisory lock guarding schema changes.
POSTGRES_SCHEMA_LOCK_KEY = 0x1A4E_5C4E
SCHEMA_LOCK_TIMEOUT_S = 300


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(files("iml4e.store") / "migrations"))
    return config


def head_revision() -> str:
    """The newest migration this version of iml4e knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError("no migrations shipped with iml4e")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, ``None`` when iml4e never migrated it."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision (raises if it is ahead of this code)."""
    with engine.connect() as connection:
        revision = current_revision(connection)
    head = head_revision()
    if revision is not None and revision != head:
        known = {
            script.revision
            for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
        }
        if revision not in known:
            raise StoreError(
                f"the database is at schema revision {revision}, which this iml4e does not "
                "know: it was migrated by a newer release"
            )
    return revision == head


def upgrade_schema(engine: Engine) -> bool:
    """Bring the schema to the newest revision; returns whether this call changed anything."""
    if schema_is_current(engine):
        return False
    with schema_lock(engine):
        if schema_is_current(engine):
            return False
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return True


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the lock that serialises schema changes (ours and MLflow's) across processes."""
    path = sqlite_path(str(engine.url))
    if path is not None:
        yield from _file_lock(path)
    elif engine.dialect.name == "postgresql":
        yield from _postgres_lock(engine)
    else:
        yield


def _file_lock(database: Path) -> Iterator[None]:
    lock = FileLock(str(database) + ".schema-lock", timeout=SCHEMA_LOCK_TIMEOUT_S)
    try:
        with lock:
            yield
    except FileLockTimeout:
        raise StoreError(
            f"waited {SCHEMA_LOCK_TIMEOUT_S}s for another process to finish migrating",
            where=str(database),
        ) from None


def _postgres_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_SCHEMA_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_SCHEMA_LOCK_KEY}
            )
            connection.commit()
