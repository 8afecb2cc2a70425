"""What every connector gets on top of its backend: the no-rows rule and errors as one type.

Backends raise :class:`~iml4e.data.errors.DataSourceError` with precise messages for the
problems they know (a missing file, an HTTP 404, an unknown table). Anything else a parser or
driver raises on bad input (pandas, pyarrow, httpx, SQLAlchemy, the standard library's I/O,
codec and CSV errors) is turned into a ``DataSourceError`` here, so callers catch one type.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from iml4e.data.connectors.base import DEFAULT_CHUNK_ROWS, Connector
from iml4e.data.errors import DataSourceError, InvalidArgument
from iml4e.errors import Iml4eError

# Exceptions of these libraries mean "this input cannot be read", whatever their class.
_INPUT_ERROR_MODULES = frozenset(
    {
        "charset_normalizer",
        "h11",
        "httpcore",
        "httpx",
        "orjson",
        "pandas",
        "psycopg",
        "psycopg2",
        "pyarrow",
        "sqlalchemy",
        "sqlite3",
    }
)
_INPUT_ERROR_TYPES = (OSError, ValueError, UnicodeError, EOFError, LookupError, csv.Error)
_MAX_MESSAGE = 300


def is_input_error(error: BaseException) -> bool:
    """Whether ``error`` says the input is bad (rather than that iml4e has a bug)."""
    if isinstance(error, Iml4eError) or not isinstance(error, Exception):
        return False
    if isinstance(error, _INPUT_ERROR_TYPES):
        return True
    return any(cls.__module__.split(".")[0] in _INPUT_ERROR_MODULES for cls in type(error).__mro__)


def describe_error(error: BaseException) -> str:
    """The first line of ``error``'s message (its class name when it has none), shortened."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


@contextmanager
def source_errors(where: str, context: str | None = None) -> Iterator[None]:
    """Turn input errors raised inside into :class:`DataSourceError` at ``where``.

    ``context`` (e.g. the file of a glob) prefixes the message of errors raised inside,
    including ``DataSourceError`` raised for another ``where``.
    """
    try:
        yield
    except DataSourceError as error:
        if context is None or error.where == where:
            raise
        raise DataSourceError(f"{context}: {error.message}", where=where) from error
    except Exception as error:
        if not is_input_error(error):
            raise
        message = describe_error(error)
        raise DataSourceError(
            f"{context}: {message}" if context else message, where=where
        ) from error


def checked_chunks(
    chunks: Iterator[pd.DataFrame], where: str, context: str | None = None
) -> Iterator[pd.DataFrame]:
    """``chunks`` with the errors raised while producing each one handled by
    :func:`source_errors`; ``chunks`` is closed (running its clean-up) when this stops."""
    try:
        while True:
            with source_errors(where, context):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with source_errors(where, context):
                close()


class CheckedConnector:
    """A backend connector with the rules every source follows.

    - A source with zero rows is an error (``"no rows"``): a header-only CSV, an empty table or
      query result, an empty Parquet file. An empty frame is almost always a mistake upstream,
      and failing at the source says where.
    - Frames have a ``RangeIndex``; chunks continue it (the second chunk of 100 rows starts at
      100), so ``pandas.concat(chunks)`` has the index of ``read()``.
    - Errors are :class:`DataSourceError` at ``source``.

    ``backend`` is the connector it wraps (e.g. to see a CSV's detected delimiter).
    """

    def __init__(self, backend: Connector) -> None:
        self.backend = backend
        self.source = backend.source

    def __repr__(self) -> str:
        return f"<{type(self.backend).__name__} {self.source}>"

    def read(self) -> pd.DataFrame:
        """The whole source as one frame; raises :class:`DataSourceError`."""
        with source_errors(self.source):
            frame = self.backend.read()
        if len(frame) == 0:
            raise self._no_rows(frame)
        if not _is_default_index(frame.index, 0):
            frame.index = pd.RangeIndex(len(frame))
        return frame

    def iter_chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """Frames of at most ``chunk_rows`` rows (empty ones skipped), streamed in order.

        Raises :class:`DataSourceError` when the source turns out to have no rows, or cannot be
        read at some point (chunks before the problem have been yielded by then).
        """
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise InvalidArgument(
                f"must be a whole number >= 1, got {chunk_rows!r}", where="chunk_rows"
            )
        return self._checked_chunks(chunk_rows)

    def _checked_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        rows = 0
        last_empty: pd.DataFrame | None = None
        with source_errors(self.source):
            chunks = iter(self.backend.iter_chunks(chunk_rows))
        for chunk in checked_chunks(chunks, self.source):
            if len(chunk) == 0:
                last_empty = chunk
                continue
            if not _is_default_index(chunk.index, rows):
                chunk.index = pd.RangeIndex(rows, rows + len(chunk))
            rows += len(chunk)
            yield chunk
        if rows == 0:
            raise self._no_rows(last_empty)

    def _no_rows(self, frame: pd.DataFrame | None) -> DataSourceError:
        columns = list(frame.columns) if frame is not None else []
        shown = ", ".join(str(column) for column in columns[:10])
        more = ", …" if len(columns) > 10 else ""
        detail = f" (columns: {shown}{more})" if columns else ""
        return DataSourceError(f"no rows{detail}: an empty source is an error", where=self.source)


def _is_default_index(index: pd.Index, start: int) -> bool:
    return (
        isinstance(index, pd.RangeIndex)
        and index.start == start
        and index.step == 1
        and index.name is None
    )
