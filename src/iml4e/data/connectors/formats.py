"""Reading one local file of a known format (CSV, Parquet, JSON Lines), whole or in chunks.

Shared by the file connector and the HTTP connector (which downloads to a temporary file
first). Every function raises :class:`~iml4e.data.errors.DataSourceError` at ``where`` for
problems it can explain; the connector's checks turn any other parser error into one.

Type inference, per format:

- **CSV** keeps pandas' rules (``read_csv`` with the C parser): numbers become ``int64`` or
  ``float64``, empty fields and ``NA``-like words become missing values, ``True``/``False``
  become ``bool``; a numeric-looking column with a stray word becomes ``object`` holding both
  numbers and strings (kept as is: a contract or a cleaning step decides what it means).
  Dates stay strings. ``read()`` parses the whole file as ``pandas.read_csv`` does; chunks
  infer dtypes per block of about ``chunk_rows`` lines, so a column can be ``int64`` in one
  chunk and ``float64`` (a missing value) or ``object`` in another.
- **Parquet** keeps the file's types; a stored pandas index becomes ordinary columns.
- **JSON Lines** keeps JSON's types (``"007"`` stays a string); one object per line, blank
  lines skipped; keys missing from a line are missing values.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from iml4e.data.connectors.checked import describe_error
from iml4e.data.connectors.csv_dialect import inspect_csv, open_binary
from iml4e.data.connectors.csv_reader import iter_csv, read_csv
from iml4e.data.connectors.frames import concat_frames
from iml4e.data.errors import DataSourceError

if TYPE_CHECKING:
    from pyarrow.parquet import ParquetFile

FORMATS = ("csv", "jsonl", "parquet")
FORMAT_ALIASES = {
    "csv": "csv",
    "tsv": "csv",
    "txt": "csv",
    "parquet": "parquet",
    "pq": "parquet",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "jsonlines": "jsonl",
}
_COMPRESSIBLE = frozenset({"csv", "jsonl"})
# read_file() parses JSON Lines in chunks this large and concatenates them.
READ_CHUNK_ROWS = 1_000_000


def normalise_format(name: str, where: str) -> str:
    """The canonical format for ``format=`` (``csv``, ``parquet``, ``jsonl`` or an alias)."""
    canonical = FORMAT_ALIASES.get(name.strip().lower().lstrip("."))
    if canonical is None:
        raise DataSourceError(
            f"unknown format {name!r}; known: {', '.join(sorted(FORMAT_ALIASES))}", where=where
        )
    return canonical


def format_from_name(name: str) -> str | None:
    """The format a file name's extension implies (``data.csv.gz`` → ``csv``), if any."""
    suffixes = [suffix.lower().lstrip(".") for suffix in Path(name).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == "gz"
    if compressed:
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    found = FORMAT_ALIASES.get(suffixes[-1])
    if found is None or (compressed and found not in _COMPRESSIBLE):
        return None
    return found


def read_file(
    path: Path, fmt: str, *, encoding: str | None, delimiter: str | None, where: str
) -> pd.DataFrame:
    """The whole file at ``path`` as one frame.

    A CSV file is parsed by one ``pandas.read_csv`` call (the same time and memory as a user's
    own); a JSON Lines file in chunks of :data:`READ_CHUNK_ROWS` rows, then concatenated with
    dtypes reconciled (:func:`~iml4e.data.connectors.frames.concat_frames`).
    """
    _check_readable(path, where)
    if fmt == "parquet":
        with _parquet_file(path, where) as parquet:
            return _parquet_frame(parquet.read())
    if fmt == "csv":
        dialect = inspect_csv(path, encoding=encoding, delimiter=delimiter, where=where)
        return read_csv(path, dialect, where)
    chunks = list(
        iter_file(path, fmt, READ_CHUNK_ROWS, encoding=encoding, delimiter=delimiter, where=where)
    )
    return concat_frames(chunks) if chunks else pd.DataFrame()


def iter_file(
    path: Path,
    fmt: str,
    chunk_rows: int,
    *,
    encoding: str | None,
    delimiter: str | None,
    where: str,
) -> Iterator[pd.DataFrame]:
    """The file at ``path`` as frames of at most ``chunk_rows`` rows, parsed as it is read."""
    _check_readable(path, where)
    if fmt == "csv":
        dialect = inspect_csv(path, encoding=encoding, delimiter=delimiter, where=where)
        return iter_csv(path, dialect, chunk_rows, where)
    if fmt == "parquet":
        return _iter_parquet(path, chunk_rows, where)
    return _iter_jsonl(path, chunk_rows, encoding or "utf-8", where)


def _check_readable(path: Path, where: str) -> None:
    if not path.exists():
        raise DataSourceError("no such file", where=where)
    if path.is_dir():
        raise DataSourceError(
            "is a folder, not a file (use a glob like 'folder/*.csv')", where=where
        )
    if path.stat().st_size == 0:
        raise DataSourceError("empty file (0 bytes)", where=where)


def _parquet_file(path: Path, where: str) -> ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise DataSourceError(
            f"not a readable Parquet file: {describe_error(error)}", where=where
        ) from None


def _iter_parquet(path: Path, chunk_rows: int, where: str) -> Iterator[pd.DataFrame]:
    with _parquet_file(path, where) as parquet:
        if parquet.metadata.num_rows == 0:
            yield _parquet_frame(parquet.schema_arrow.empty_table())
            return
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield _parquet_frame(batch)


def _parquet_frame(data: object) -> pd.DataFrame:
    """``data`` (a pyarrow table or batch) as a frame, a stored index turned into columns."""
    frame = data.to_pandas()  # type: ignore[attr-defined]
    index = frame.index
    if not isinstance(index, pd.RangeIndex) or index.name is not None:
        frame = frame.reset_index()
    return frame


def _iter_jsonl(path: Path, chunk_rows: int, encoding: str, where: str) -> Iterator[pd.DataFrame]:
    import orjson

    utf8 = codecs.lookup(encoding).name == "utf-8"
    records: list[dict[str, object]] = []
    with open_binary(path) as stream:
        for number, raw in enumerate(stream, start=1):
            line = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
            if not line.strip():
                continue
            try:
                record = orjson.loads(line if utf8 else line.decode(encoding))
            except UnicodeDecodeError as error:
                raise DataSourceError(
                    f"line {number}: not valid {encoding}: cannot decode "
                    f"{line[error.start : error.end]!r} at byte {error.start} of the line",
                    where=where,
                ) from None
            except orjson.JSONDecodeError as error:
                raise DataSourceError(
                    f"line {number}: invalid JSON: {describe_error(error)}", where=where
                ) from None
            if not isinstance(record, dict):
                raise DataSourceError(
                    f"line {number}: expected a JSON object, got {type(record).__name__}",
                    where=where,
                )
            records.append(record)
            if len(records) == chunk_rows:
                yield pd.DataFrame.from_records(records)
                records = []
    if records:
        yield pd.DataFrame.from_records(records)
