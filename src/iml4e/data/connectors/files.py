"""Local files: a path or a glob of CSV, Parquet or JSON Lines files.

A glob (``data/*.csv``, ``logs/**/*.jsonl``) reads every matching file in sorted path order, as
if they were one file; the files must have the same columns (in any order: they take the first
file's order). Each file's format comes from ``format=`` or its extension (``.csv``, ``.tsv``,
``.txt``, ``.parquet``, ``.pq``, ``.jsonl``, ``.ndjson``; ``.gz`` for gzip-compressed CSV and
JSON Lines).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from iml4e.data.connectors.base import SourceOptions, parse_checksum
from iml4e.data.connectors.checked import checked_chunks, source_errors
from iml4e.data.connectors.formats import (
    format_from_name,
    iter_file,
    normalise_format,
    read_file,
)
from iml4e.data.connectors.frames import concat_frames
from iml4e.data.errors import DataSourceError

_GLOB_CHARACTERS = re.compile(r"[*?\[]")


class FileConnector:
    """One local file, or the files a glob matches, read in sorted order.

    ``source`` is the absolute path (or pattern); ``files`` the matched files; ``formats`` the
    format of each. ``checksum=`` (single file only) is verified before every read.
    """

    OPTIONS = frozenset({"format", "delimiter", "encoding", "checksum"})

    def __init__(self, source: str, options: SourceOptions) -> None:
        expanded = os.path.expanduser(source.removeprefix("file://"))
        self.source = os.path.abspath(expanded)
        self.options = options
        self.is_glob = bool(_GLOB_CHARACTERS.search(expanded)) and not os.path.exists(expanded)
        if self.is_glob:
            matches = sorted(glob.glob(self.source, recursive=True))
            self.files = tuple(Path(match) for match in matches if os.path.isfile(match))
            if not self.files:
                raise DataSourceError("no files match this pattern", where=self.source)
        else:
            path = Path(self.source)
            if not path.exists():
                raise DataSourceError("no such file", where=self.source)
            if path.is_dir():
                raise DataSourceError(
                    "is a folder, not a file (use a glob like 'folder/*.csv')", where=self.source
                )
            self.files = (path,)
        self.formats = tuple(self._format_of(path) for path in self.files)
        self._check_options()

    def read(self) -> pd.DataFrame:
        """Every file parsed whole and concatenated."""
        self._verify_checksum()
        frames: list[pd.DataFrame] = []
        for path, fmt in zip(self.files, self.formats, strict=True):
            with source_errors(self.source, self._context(path)):
                frame = read_file(
                    path,
                    fmt,
                    encoding=self.options.encoding,
                    delimiter=self.options.delimiter,
                    where=str(path),
                )
            frames.append(self._aligned(frame, list(frames[0].columns) if frames else None, path))
        return concat_frames(frames)

    def iter_chunks(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """Chunks of each file in turn (a chunk never spans two files)."""
        self._verify_checksum()
        reference: list[object] | None = None
        for path, fmt in zip(self.files, self.formats, strict=True):
            context = self._context(path)
            with source_errors(self.source, context):
                chunks = iter_file(
                    path,
                    fmt,
                    chunk_rows,
                    encoding=self.options.encoding,
                    delimiter=self.options.delimiter,
                    where=str(path),
                )
            for position, chunk in enumerate(checked_chunks(chunks, self.source, context)):
                if position == 0:
                    chunk = self._aligned(chunk, reference, path)
                    reference = list(chunk.columns) if reference is None else reference
                yield chunk

    def _context(self, path: Path) -> str | None:
        return str(path) if self.is_glob else None

    def _format_of(self, path: Path) -> str:
        if self.options.format is not None:
            return normalise_format(self.options.format, self.source)
        found = format_from_name(path.name)
        if found is None:
            raise DataSourceError(
                f"cannot tell the format of {path.name!r} from its extension; pass format= "
                "(csv, parquet or jsonl)",
                where=self.source,
            )
        return found

    def _check_options(self) -> None:
        if self.options.delimiter is not None and "csv" not in self.formats:
            raise DataSourceError("delimiter= applies to CSV files only", where=self.source)
        if self.options.encoding is not None and set(self.formats) == {"parquet"}:
            raise DataSourceError(
                "encoding= applies to CSV and JSON Lines files only", where=self.source
            )
        if self.options.checksum is not None and self.is_glob:
            raise DataSourceError("checksum= needs a single file, not a glob", where=self.source)

    def _verify_checksum(self) -> None:
        if self.options.checksum is None:
            return
        algorithm, expected = parse_checksum(self.options.checksum, self.source)
        with self.files[0].open("rb") as stream:
            actual = hashlib.file_digest(stream, algorithm).hexdigest()
        if actual != expected:
            raise DataSourceError(
                f"checksum mismatch: expected {algorithm}:{expected}, got {algorithm}:{actual}",
                where=self.source,
            )

    def _aligned(
        self, frame: pd.DataFrame, reference: list[object] | None, path: Path
    ) -> pd.DataFrame:
        """``frame`` with the ``reference`` column order; an error if its columns differ."""
        if reference is None or list(frame.columns) == reference:
            return frame
        if (
            frame.columns.is_unique
            and len(frame.columns) == len(reference)
            and set(frame.columns) == set(reference)
        ):
            return frame[reference]
        raise DataSourceError(
            f"{path} has columns {_names(list(frame.columns))}, but {self.files[0]} has "
            f"{_names(reference)}: the files of a glob need the same columns",
            where=self.source,
        )


def _names(columns: list[object]) -> str:
    names = [str(column) for column in columns[:12]]
    return "[" + ", ".join(names) + (", …]" if len(columns) > 12 else "]")
