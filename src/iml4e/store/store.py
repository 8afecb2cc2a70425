"""The metadata store: one engine, short transactional sessions, schema kept current."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from iml4e.config import Settings, mask_url
from iml4e.store.engine import create_store_engine
from iml4e.store.errors import StoreUnavailable
from iml4e.store.migrate import schema_lock, upgrade_schema


class Store:
    """Access to iml4e's tables for the rooms that own them.

    Use :meth:`session` for a unit of work: it commits when the block ends and rolls back
    when it raises, so a failed operation never leaves half-written rows. As a context manager
    (``with open_store(settings) as store:``) it is closed when the block ends.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session inside one transaction."""
        with self._sessions.begin() as session:
            yield session

    def schema_lock(self) -> AbstractContextManager[None]:
        """The cross-process lock held while any schema (iml4e's or MLflow's) changes."""
        return schema_lock(self.engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (or another SQLAlchemy dialect name)."""
        return self.engine.dialect.name

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_store(settings: Settings, *, migrate: bool = True) -> Store:
    """Connect to the metadata database and (by default) bring its schema up to date.

    Raises :class:`StoreUnavailable` with the masked URL when the database cannot be reached.
    """
    engine = create_store_engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreUnavailable(
            f"cannot connect to the database ({reason})", where=mask_url(settings.database_url)
        ) from None
    if migrate:
        upgrade_schema(engine)
    return Store(engine)
