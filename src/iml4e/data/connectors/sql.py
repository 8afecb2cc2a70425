"""SQL databases through any SQLAlchemy URL, with ``query=`` or ``table=``.

A table name is looked up with SQLAlchemy's inspector (``schema.table`` works too) and selected
through SQLAlchemy, which quotes it: a name is never formatted into SQL. A query is run as
SQLAlchemy ``text()``, so a literal ``:word`` must be written ``\\:word``. Chunks come from a
server-side cursor where the driver has one (``stream_results``; PostgreSQL), so a large table
is not fetched into memory at once. Each read opens its own connection and closes it after.

``source`` is the URL with the password masked, followed by ``#table=<name>`` or
``#query=<query on one line>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from iml4e.data.connectors.base import SourceOptions, mask_password
from iml4e.data.connectors.checked import describe_error
from iml4e.data.errors import DataSourceError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.sql import Executable

_LISTED_TABLES = 20
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


class SqlConnector:
    """Rows of one table, or of one query, of a SQL database."""

    OPTIONS = frozenset({"query", "table"})

    def __init__(self, source: str, options: SourceOptions) -> None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            self.url: URL = make_url(source)
        except (ArgumentError, ValueError):
            raise DataSourceError(
                "not a database URL, a path, http(s):// or builtin: source",
                where=mask_password(source),
            ) from None
        self._masked = self.url.render_as_string(hide_password=True)
        self._check_dialect()
        if (options.query is None) == (options.table is None):
            raise DataSourceError(
                "a database source needs exactly one of query= or table=", where=self._masked
            )
        self.query = options.query
        self.table = options.table
        if self.table is not None:
            self.source = f"{self._masked}#table={self.table}"
        else:
            self.source = f"{self._masked}#query={' '.join(str(self.query).split())}"

    def read(self) -> pd.DataFrame:
        """Every row, fetched at once."""
        from sqlalchemy.exc import SQLAlchemyError

        engine = self._engine()
        try:
            with self._connect(engine) as connection:
                statement = self._statement(connection)
                try:
                    return pd.read_sql(statement, connection)
                except SQLAlchemyError as error:
                    raise self._query_error(error) from error
        finally:
            engine.dispose()

    def iter_chunks(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """Rows in chunks of ``chunk_rows``, streamed from a server-side cursor if possible."""
        from sqlalchemy.exc import SQLAlchemyError

        engine = self._engine()
        try:
            with self._connect(engine) as connection:
                statement = self._statement(connection)
                streaming = connection.execution_options(
                    stream_results=True, max_row_buffer=chunk_rows
                )
                try:
                    yield from pd.read_sql(statement, streaming, chunksize=chunk_rows)
                except SQLAlchemyError as error:
                    raise self._query_error(error) from error
        finally:
            engine.dispose()

    def _check_dialect(self) -> None:
        from sqlalchemy.exc import NoSuchModuleError

        try:
            self.url.get_dialect()
        except NoSuchModuleError:
            raise DataSourceError(
                f"unknown source scheme {self.url.drivername!r}: not a SQLAlchemy database "
                "(sources are paths and globs, http(s)://, builtin: or database URLs such as "
                "sqlite:///file.db and postgresql+psycopg://host/db)",
                where=self._masked,
            ) from None
        except ImportError as error:
            raise DataSourceError(
                f"the database driver for {self.url.drivername!r} is not installed "
                f"({describe_error(error)})",
                where=self._masked,
            ) from None
        if self.url.get_backend_name() == "sqlite":
            database = self.url.database or ""
            on_disk = database not in ("", ":memory:") and not database.startswith("file:")
            if on_disk and not Path(database).is_file():
                raise DataSourceError("no such SQLite database file", where=self._masked)

    def _engine(self) -> Engine:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        try:
            return create_engine(self.url, poolclass=NullPool)
        except ImportError as error:
            raise DataSourceError(
                f"the database driver is not installed ({describe_error(error)})",
                where=self._masked,
            ) from None

    def _connect(self, engine: Engine) -> Connection:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return engine.connect()
        except SQLAlchemyError as error:
            raise DataSourceError(
                f"cannot connect to the database: {self._driver_message(error)}",
                where=self.source,
            ) from None

    def _statement(self, connection: Connection) -> Executable:
        from sqlalchemy import inspect, literal_column, select, table, text

        if self.table is None:
            return text(str(self.query))
        inspector = inspect(connection)
        name, schema = self.table, None
        if not inspector.has_table(name) and "." in name:
            schema, _, name = name.partition(".")
            if not inspector.has_schema(schema) or not inspector.has_table(name, schema=schema):
                schema, name = None, self.table
        if not inspector.has_table(name, schema=schema):
            known = sorted({*inspector.get_table_names(), *inspector.get_view_names()})
            shown = ", ".join(known[:_LISTED_TABLES]) + (
                ", …" if len(known) > _LISTED_TABLES else ""
            )
            raise DataSourceError(
                f"unknown table {self.table!r}; tables: {shown or '(none)'}", where=self.source
            )
        return select(literal_column("*")).select_from(table(name, schema=schema))

    def _query_error(self, error: Exception) -> DataSourceError:
        from sqlalchemy.exc import DBAPIError

        what = "query failed" if self.query is not None else "reading the table failed"
        message = f"{what}: {self._driver_message(error)}"
        if self.query is not None and ":" in self.query and not isinstance(error, DBAPIError):
            message += " (a literal ':' in a query is written '\\:')"
        return DataSourceError(message, where=self.source)

    def _driver_message(self, error: Exception) -> str:
        """The database's own message (first line), without the password if it shows up."""
        message = describe_error(getattr(error, "orig", None) or error)
        message = _BACKGROUND.sub("", message)
        password = self.url.password
        if password:
            message = message.replace(str(password), "***")
        return message
