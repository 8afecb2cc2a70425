"""The connector interface, the options every connector is opened with, and secret masking."""

from __future__ import annotations

import codecs
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from numbers import Integral, Real
from typing import Protocol, runtime_checkable

import pandas as pd

from iml4e.data.errors import DataSourceError

DEFAULT_CHUNK_ROWS = 100_000

_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_URL_PASSWORD = re.compile(r"(?P<head>//[^/:@\s]*:)[^@/\s]*@")


@runtime_checkable
class Connector(Protocol):
    """Where a frame comes from, and how to read it whole or in bounded chunks.

    ``source`` describes the origin canonically (an absolute path or glob, a URL with its
    password masked, a ``builtin:`` name with every parameter), so it can be recorded as a
    dataset version's source without leaking secrets.
    """

    source: str

    def read(self) -> pd.DataFrame:
        """The whole source as one frame."""
        ...

    def iter_chunks(self, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The source as frames of at most ``chunk_rows`` rows, streamed in order."""
        ...


@dataclass(frozen=True)
class SourceOptions:
    """The options of :func:`~iml4e.data.connectors.open_source`, checked and normalised.

    Each connector accepts the options that make sense for it (see ``OPTIONS`` on each
    connector class); giving another one is an error rather than silently ignored.
    """

    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    query: str | None = None
    table: str | None = None
    timeout: float = 30.0
    retries: int = 3
    checksum: str | None = None

    def given(self) -> frozenset[str]:
        """Names of the options that differ from their defaults."""
        return frozenset(
            field.name for field in fields(self) if getattr(self, field.name) != field.default
        )

    @classmethod
    def checked(cls, where: str, **values: object) -> SourceOptions:
        """Options from keyword values, each checked; raises :class:`DataSourceError`."""
        options = cls(**values)  # type: ignore[arg-type]
        for name in ("format", "delimiter", "encoding", "query", "table", "checksum"):
            value = getattr(options, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise DataSourceError(f"option {name}= must be a non-empty string", where=where)
        delimiter = options.delimiter
        if delimiter is not None:
            delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
            if len(delimiter) != 1 or delimiter in '"\r\n':
                raise DataSourceError(
                    f"delimiter= must be one character (or 'tab'), got {options.delimiter!r}",
                    where=where,
                )
        encoding = options.encoding
        if encoding is not None:
            try:
                encoding = codecs.lookup(encoding).name
            except LookupError:
                raise DataSourceError(f"unknown encoding {encoding!r}", where=where) from None
        timeout, retries = options.timeout, options.retries
        if isinstance(timeout, bool) or not isinstance(timeout, Real) or not timeout > 0:
            raise DataSourceError(
                f"timeout= must be a positive number, got {timeout!r}", where=where
            )
        if not math.isfinite(timeout):
            raise DataSourceError("timeout= must be finite", where=where)
        if isinstance(retries, bool) or not isinstance(retries, Integral) or retries < 0:
            raise DataSourceError(
                f"retries= must be a whole number >= 0, got {retries!r}", where=where
            )
        if options.checksum is not None:
            parse_checksum(options.checksum, where)
        return cls(
            format=options.format.strip().lower() if options.format else None,
            delimiter=delimiter,
            encoding=encoding,
            query=options.query,
            table=options.table,
            timeout=float(timeout),
            retries=int(retries),
            checksum=options.checksum,
        )


def parse_checksum(checksum: str, where: str) -> tuple[str, str]:
    """``"sha256:<hex>"`` as ``("sha256", "<hex>")``; any hashlib-guaranteed algorithm works."""
    algorithm, _, digest = checksum.partition(":")
    algorithm = algorithm.strip().lower().replace("-", "")
    digest = digest.strip().lower()
    if algorithm not in hashlib.algorithms_guaranteed or algorithm.startswith("shake"):
        raise DataSourceError(
            f"checksum= must look like 'sha256:<hex>', got algorithm {algorithm!r}", where=where
        )
    size = hashlib.new(algorithm).digest_size
    if len(digest) != 2 * size or not re.fullmatch(r"[0-9a-f]+", digest):
        raise DataSourceError(
            f"checksum= needs {2 * size} hex digits after '{algorithm}:'", where=where
        )
    return algorithm, digest


def mask_password(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\g<head>***@", text)
