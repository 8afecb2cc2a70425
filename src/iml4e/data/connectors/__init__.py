"""Connectors: read a frame from wherever it lives, chosen by the source string ("collect").

One small interface, :class:`Connector` (``source``, ``read()``, ``iter_chunks()``), and one
entry point, :func:`open_source`, which picks the connector from the source string:

=====================================================  =========================================
source                                                 connector
=====================================================  =========================================
``data/train.csv``, ``data/*.parquet``, ``file:///…``  local files and globs: CSV, Parquet, JSONL
``sqlite:///…``, ``postgresql+psycopg://…``            SQLAlchemy URLs, with query= or table=
``https://…/data.csv``                                 HTTP(S) downloads: retries, checksum
``builtin:credit?rows=1000``, ``builtin:iot``, …       iml4e's synthetic and bundled datasets
=====================================================  =========================================

Connectors are listed as data (:data:`CONNECTORS`, kind → dotted path) and imported only when
used, so importing this package stays cheap (no SQLAlchemy, httpx or pyarrow).

Every problem is a :class:`~iml4e.data.errors.DataSourceError` (a ``BadInput``) whose ``where``
is the source with any password masked, and whose message says what is wrong. A source with no
rows is an error too (see :class:`~iml4e.data.connectors.checked.CheckedConnector`).
"""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

import pandas as pd

from iml4e.data.connectors.base import DEFAULT_CHUNK_ROWS, Connector, SourceOptions, mask_password
from iml4e.data.connectors.checked import CheckedConnector, source_errors
from iml4e.data.errors import DataSourceError

CONNECTORS = {
    "builtin": "iml4e.data.connectors.builtin:BuiltinConnector",
    "file": "iml4e.data.connectors.files:FileConnector",
    "http": "iml4e.data.connectors.http:HttpConnector",
    "sql": "iml4e.data.connectors.sql:SqlConnector",
}
# URL schemes with a connector of their own; any other ``scheme://`` is a SQLAlchemy URL.
SCHEMES = {"builtin": "builtin", "file": "file", "http": "http", "https": "http"}
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):")

__all__ = [
    "CONNECTORS",
    "DEFAULT_CHUNK_ROWS",
    "SCHEMES",
    "CheckedConnector",
    "Connector",
    "DataSourceError",
    "SourceOptions",
    "connector_kind",
    "open_source",
    "read_source",
]


def connector_kind(source: str) -> str:
    """Which connector (a key of :data:`CONNECTORS`) reads ``source``.

    ``builtin:…`` → builtin; ``http(s)://…`` → http; ``file://…`` and anything without a
    ``scheme://`` (a path or a glob) → file; any other ``scheme://…`` → sql (SQLAlchemy).
    """
    match = _SCHEME.match(source)
    if match is None:
        return "file"
    scheme = match["scheme"].lower()
    if scheme in SCHEMES:
        return SCHEMES[scheme]
    if source[match.end() :].startswith("//") and len(scheme) > 1:
        return "sql"
    return "file"  # e.g. a Windows path ``C:\\data\\x.csv`` or a file named ``a:b.csv``


def open_source(
    source: str,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    query: str | None = None,
    table: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    checksum: str | None = None,
) -> CheckedConnector:
    """The connector for ``source``, checked but not read yet.

    Options (each connector takes the ones that make sense for it; others are an error):

    - ``format``: ``csv``, ``parquet`` or ``jsonl`` (files, HTTP) when the extension (or the
      Content-Type) does not say it;
    - ``delimiter``, ``encoding``: for CSV (and ``encoding`` for JSON Lines); detected when
      not given; a given delimiter that leaves one column where another finds several is an
      error;
    - ``query`` / ``table``: exactly one, for SQL sources; table names are quoted by
      SQLAlchemy, never formatted into SQL;
    - ``timeout`` (seconds per network operation) and ``retries`` (extra attempts after
      connection errors, 5xx, 429 and truncated bodies, with exponential backoff): HTTP;
    - ``checksum``: ``"sha256:<hex>"``, verified for a download or a single local file.

    Opening validates what is cheap to validate (the file exists, the glob matches, the options
    fit, the ``builtin:`` name and parameters are known); reading reports the rest. Raises
    :class:`~iml4e.data.errors.DataSourceError`.
    """
    if not isinstance(source, str) or not source.strip():
        raise DataSourceError("a source must be a non-empty string", where=repr(source))
    source = source.strip()
    where = mask_password(source)
    options = SourceOptions.checked(
        where,
        format=format,
        delimiter=delimiter,
        encoding=encoding,
        query=query,
        table=table,
        timeout=timeout,
        retries=retries,
        checksum=checksum,
    )
    kind = connector_kind(source)
    module_name, _, class_name = CONNECTORS[kind].partition(":")
    backend_class = getattr(import_module(module_name), class_name)
    not_applicable = sorted(options.given() - backend_class.OPTIONS - {"timeout", "retries"})
    if not_applicable:
        names = ", ".join(f"{name}=" for name in not_applicable)
        verb = "does" if len(not_applicable) == 1 else "do"
        raise DataSourceError(f"{names} {verb} not apply to {kind} sources", where=where)
    with source_errors(where):
        backend = backend_class(source, options)
    return CheckedConnector(backend)


def read_source(source: str, **options: Any) -> pd.DataFrame:
    """``open_source(source, **options).read()``: the whole source as one frame."""
    return open_source(source, **options).read()
