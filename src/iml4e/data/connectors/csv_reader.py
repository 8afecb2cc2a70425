"""Parsing a CSV file in bounded blocks of whole records, each with pandas' C parser.

Why not ``pandas.read_csv(chunksize=…)``: in pandas 2.x its C parser does not check the first
line of each chunk after the first against the header, so a line with a surplus field that
happens to start a chunk loses that field silently (with ``chunksize=1``, every line does).
Here the file is cut into blocks of whole records (:mod:`~iml4e.data.connectors.csv_blocks`),
the header is put in front of each block, and each block is parsed whole — every line is
checked, as in a plain ``read_csv``, and the memory used is bounded by the block size.

Blocks hold about ``chunk_rows`` lines (at least :data:`MIN_BLOCK_BYTES`); each parsed block is
handed out in slices of at most ``chunk_rows`` rows. Error messages count lines in the file.
Lone ``\\r`` line ends are read as ``\\n`` (see ``csv_blocks.LoneCarriageReturns``). Where
bytes cannot be cut safely (UTF-16/32, a ``"`` inside an unquoted field) pandas' own chunking
reads the file, or the rest of it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from iml4e.data.connectors.checked import describe_error
from iml4e.data.connectors.csv_blocks import (
    LoneCarriageReturns,
    PartsReader,
    Rest,
    has_lone_carriage_return,
    header_record,
    record_blocks,
)
from iml4e.data.connectors.csv_dialect import CsvDialect, locate_decode_error, open_binary
from iml4e.data.errors import DataSourceError

MIN_BLOCK_BYTES = 1024 * 1024
_PARSER_PREFIX = "Error tokenizing data. C error: "
_LINE_NUMBER = re.compile(r"\b(line|row) (\d+)")


def read_csv(path: Path, dialect: CsvDialect, where: str) -> pd.DataFrame:
    """The whole CSV file at ``path``: one ``pandas.read_csv`` call, as a user would make it.

    A file with lone ``\\r`` line ends is read through
    :class:`~iml4e.data.connectors.csv_blocks.LoneCarriageReturns` (finding out costs one quick
    pass over the bytes).

    pandas' ``DtypeWarning`` (a column whose pieces parsed to different types, kept as
    ``object``) is silenced: the mixed column is the documented result. (The filter is set with
    ``warnings.catch_warnings``, which is process-wide before Python 3.14.)
    """
    translate = False
    if dialect.splittable:
        with open_binary(path) as stream:
            translate = has_lone_carriage_return(stream)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            if translate:
                with LoneCarriageReturns(open_binary(path)) as stream:
                    frame = pd.read_csv(stream, low_memory=True, **_options(dialect))
            else:
                frame = pd.read_csv(path, compression="infer", low_memory=True, **_options(dialect))
    except UnicodeError:
        raise decode_error(path, dialect, where) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError("empty file: no header line and no rows", where=where) from None
    except pd.errors.ParserError as error:
        raise _malformed(error, dialect, where, 0) from None
    _check_implicit_index(frame, where)
    return frame


def iter_csv(
    path: Path, dialect: CsvDialect, chunk_rows: int, where: str
) -> Iterator[pd.DataFrame]:
    """The CSV file at ``path`` as frames of at most ``chunk_rows`` rows."""
    delimiter = dialect.delimiter.encode(dialect.encoding)
    if not dialect.splittable or len(delimiter) != 1:
        yield from _iter_pandas_chunks(path, path, dialect, chunk_rows, where)
        return
    target = max(int(chunk_rows * dialect.bytes_per_line), MIN_BLOCK_BYTES)
    header = b""
    offset = 0  # bytes of the file before this block
    with open_binary(path) as raw, LoneCarriageReturns(raw) as stream:
        for number, block in enumerate(record_blocks(stream, target, delimiter[0])):
            if isinstance(block, Rest):
                parts = block.parts if number == 0 else (header, *block.parts)
                lines = _lines_before(path, offset, header) if number else 0
                yield from _iter_pandas_chunks(
                    PartsReader(parts, tail=stream), path, dialect, chunk_rows, where, lines
                )
                return
            if number == 0:
                first = b"".join(block) if len(block) > 1 else bytes(block[0])
                header = header_record(first, delimiter[0])
                del first
            try:
                frame = _parse(PartsReader((header, *block) if number else block), dialect)
            except UnicodeError:
                raise decode_error(path, dialect, where) from None
            except pd.errors.ParserError as error:
                lines = _lines_before(path, offset, header) if number else 0
                raise _malformed(error, dialect, where, lines) from None
            _check_implicit_index(frame, where)
            offset += sum(len(part) for part in block)
            del block
            if len(frame) == 0:
                yield frame  # header only: the caller still learns the columns
            for start in range(0, len(frame), chunk_rows):
                yield frame.iloc[start : start + chunk_rows]


def _parse(data: PartsReader, dialect: CsvDialect) -> pd.DataFrame:
    """``data`` (a header and whole records) parsed as one CSV text."""
    with data:
        return pd.read_csv(data, low_memory=False, **_options(dialect))


def _lines_before(path: Path, offset: int, header: bytes) -> int:
    """What to add to a line number in a block (after the repeated header) for the file's."""
    return _count_lines(path, offset) - header.count(b"\n")


def _count_lines(path: Path, size: int) -> int:
    """The number of ``\\n`` in the first ``size`` bytes of ``path`` (decompressed)."""
    lines = 0
    with open_binary(path) as stream:
        while size > 0:
            block = stream.read(min(size, MIN_BLOCK_BYTES))
            if not block:
                break
            lines += block.count(b"\n")
            size -= len(block)
    return lines


def _iter_pandas_chunks(
    source: Path | PartsReader,
    path: Path,
    dialect: CsvDialect,
    chunk_rows: int,
    where: str,
    line_offset: int = 0,
) -> Iterator[pd.DataFrame]:
    """pandas' own chunked reader: for files (or the rest of one) that cannot be cut safely.

    Its C parser does not check the first line of each chunk after the first for surplus
    fields (see the module docstring); everything else is checked as usual.
    """
    compression = "infer" if isinstance(source, Path) else None
    try:
        with pd.read_csv(
            source,
            compression=compression,
            low_memory=False,
            chunksize=chunk_rows,
            **_options(dialect),
        ) as reader:
            for frame in reader:
                _check_implicit_index(frame, where)
                yield frame
    except UnicodeError:
        raise decode_error(path, dialect, where) from None
    except pd.errors.EmptyDataError:
        raise DataSourceError("empty file: no header line and no rows", where=where) from None
    except pd.errors.ParserError as error:
        raise _malformed(error, dialect, where, line_offset) from None


def _options(dialect: CsvDialect) -> dict[str, object]:
    return {
        "sep": dialect.delimiter,
        "encoding": dialect.encoding,
        "quotechar": '"',
        "doublequote": True,
    }


def _check_implicit_index(frame: pd.DataFrame, where: str) -> None:
    # pandas makes the first column the index when lines have one field more than the header.
    if not isinstance(frame.index, pd.RangeIndex):
        raise DataSourceError(
            f"the lines have more fields than the header ({len(frame.columns)} columns): "
            "is the header line missing a name, or is the delimiter wrong?",
            where=where,
        )


def _malformed(
    error: Exception, dialect: CsvDialect, where: str, line_offset: int
) -> DataSourceError:
    message = describe_error(error).removeprefix(_PARSER_PREFIX).rstrip(".")
    if line_offset:
        message = _LINE_NUMBER.sub(
            lambda match: f"{match[1]} {int(match[2]) + line_offset}", message
        )
    return DataSourceError(
        f"malformed CSV: {message} (delimiter {dialect.delimiter!r})", where=where
    )


def decode_error(path: Path, dialect: CsvDialect, where: str) -> DataSourceError:
    """The error for bytes of ``path`` that ``dialect.encoding`` cannot decode, located."""
    found = locate_decode_error(path, dialect.encoding)
    hint = (
        "; the encoding was detected from the start of the file: pass the file's encoding="
        if "encoding" in dialect.detected
        else "; pass the file's encoding="
    )
    if found is None:
        return DataSourceError(f"not valid {dialect.encoding}{hint}", where=where)
    offset, line, bad = found
    return DataSourceError(
        f"not valid {dialect.encoding}: cannot decode {bad!r} at byte offset {offset} "
        f"(line {line}){hint}",
        where=where,
    )
