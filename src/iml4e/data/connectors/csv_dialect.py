"""How a CSV file is written: its text encoding and its delimiter, detected from a sample.

Encoding: UTF-8 when the sample decodes as UTF-8 (a BOM selects ``utf-8-sig`` or UTF-16),
otherwise what ``charset_normalizer`` finds most plausible — preferring Windows-1252 (Western
European) when it decodes the sample like one of the most plausible guesses, since short samples
of Western text fit several code pages equally well.

Delimiter: each candidate (``,`` ``;`` tab ``|``) splits the sample with the ``csv`` module
(honouring quotes); candidates that give every line the same number of fields are kept, the one
with the most fields wins, and ``csv.Sniffer`` breaks ties. The header line usually decides:
column names rarely contain delimiters. When no candidate splits every line alike into several
fields, one that splits the header is taken, so a ragged file is reported at its first bad line
rather than read as a single column.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from iml4e.data.errors import DataSourceError

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
ENCODING_SAMPLE_BYTES = 256 * 1024
DELIMITER_SAMPLE_CHARS = 64 * 1024
PREFERRED_FALLBACK_ENCODING = "cp1252"
PLAUSIBILITY_TOLERANCE = 0.15
_BLOCK_BYTES = 1024 * 1024
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written, as far as its sample tells.

    ``detected`` names what was detected rather than given; ``bytes_per_line`` is the sample's
    average; ``splittable`` says whether the bytes can be cut at ``\n`` outside quotes (an
    ASCII-compatible encoding with ``\n`` line ends), which block-wise parsing needs.
    """

    encoding: str
    delimiter: str
    columns: int
    detected: tuple[str, ...] = ()
    bytes_per_line: float = 100.0
    splittable: bool = True


def open_binary(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes, decompressed when it ends in ``.gz``."""
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def inspect_csv(
    path: Path, *, encoding: str | None, delimiter: str | None, where: str
) -> CsvDialect:
    """Detect (or check) the encoding and delimiter of the CSV file at ``path``.

    Raises :class:`DataSourceError` for an empty file, a sample that is not valid in the given
    ``encoding``, or a given ``delimiter`` that leaves one column where another delimiter
    finds several.
    """
    with open_binary(path) as stream:
        sample = stream.read(ENCODING_SAMPLE_BYTES)
        complete = not stream.read(1)
    if not sample.strip():
        raise DataSourceError("empty file: no header line and no rows", where=where)
    detected: list[str] = []
    if encoding is None:
        encoding = detect_encoding(sample)
        detected.append("encoding")
    text = _decode_sample(sample, encoding, complete=complete, where=where)
    text = text[:DELIMITER_SAMPLE_CHARS]
    complete = complete and len(text) < DELIMITER_SAMPLE_CHARS
    found, found_columns = detect_delimiter(text, complete=complete)
    lines = sample.count(b"\n")
    bytes_per_line = len(sample) / max(lines, 1)
    splittable = _ascii_compatible(encoding)
    if delimiter is None:
        detected.append("delimiter")
        return CsvDialect(
            encoding, found, found_columns, tuple(detected), bytes_per_line, splittable
        )
    given = _field_counts(text, delimiter, complete=complete)
    found_is_better = (
        found != delimiter
        and found_columns > 1
        and _field_counts(text, found, complete=complete) == {found_columns}
        and (len(given) != 1 or max(given) < found_columns)
    )
    if found_is_better:
        if given == {1}:
            split = "every line is one column"
        else:
            split = f"lines have {min(given, default=0)} to {max(given, default=0)} columns"
        raise DataSourceError(
            f"with delimiter={delimiter!r} {split}, but {found!r} splits every line into "
            f"{found_columns} columns: pass delimiter={found!r} or leave it out to detect it",
            where=where,
        )
    columns = max(given, default=1)
    return CsvDialect(encoding, delimiter, columns, tuple(detected), bytes_per_line, splittable)


def detect_encoding(sample: bytes) -> str:
    """The text encoding of ``sample`` (see the module docstring for the rules)."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if b"\x00" not in sample:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return "utf-8"
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(sample))
    if not matches:
        return "utf-8"
    best = min(match.chaos for match in matches)
    plausible = [match for match in matches if match.chaos <= best + PLAUSIBILITY_TOLERANCE]
    try:
        western = sample.decode(PREFERRED_FALLBACK_ENCODING)
    except UnicodeDecodeError:
        western = None
    # Code pages that decode these bytes alike are reported once, under any of their names.
    if western is not None and any(str(match) == western for match in plausible):
        return PREFERRED_FALLBACK_ENCODING
    return codecs.lookup(plausible[0].encoding).name


def detect_delimiter(text: str, *, complete: bool) -> tuple[str, int]:
    """The delimiter of CSV ``text`` and the number of columns it gives.

    ``complete`` says whether ``text`` is the whole file (else its last line is ignored, as it
    may be cut). When no candidate splits every line alike into several fields, one that
    splits the header line is taken (parsing then reports the first malformed line); else the
    file has one column.
    """
    counts = {d: _record_widths(text, d, complete=complete) for d in CANDIDATE_DELIMITERS}
    consistent = {d: widths[0] for d, widths in counts.items() if len(set(widths)) == 1}
    if not consistent or max(consistent.values()) == 1:
        headers = {d: widths[0] for d, widths in counts.items() if widths and widths[0] > 1}
        if headers:
            consistent = headers
    if not consistent:
        return (_sniff(text, list(CANDIDATE_DELIMITERS)) or ","), 1
    most = max(consistent.values())
    tied = [d for d in CANDIDATE_DELIMITERS if consistent.get(d) == most]
    return (_sniff(text, tied) or tied[0]), most


def locate_decode_error(path: Path, encoding: str) -> tuple[int, int, bytes] | None:
    """``(byte offset, line number, bad bytes)`` of the first bytes of ``path`` that
    ``encoding`` cannot decode, or ``None`` when the whole file decodes.

    Offsets count decompressed bytes for ``.gz`` files. Lines count ``\\n`` bytes, so they are
    physical lines (a quoted field with a line break spans two).
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    with open_binary(path) as stream:
        for block in _blocks(stream):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(block, final=False)
            except UnicodeDecodeError as error:
                data = pending + block
                start = max(error.start - len(pending), 0)
                position = offset + start
                return position, lines + block[:start].count(b"\n"), data[error.start : error.end]
            offset += len(block)
            lines += block.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, lines, b""
    return None


def _ascii_compatible(encoding: str) -> bool:
    """Whether ``\n`` and ``"`` are single ASCII bytes that no other character contains."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32", "utf-7")):
        return False
    return '\n"'.encode(encoding) == b'\n"'


def _blocks(stream: BinaryIO) -> Iterable[bytes]:
    while block := stream.read(_BLOCK_BYTES):
        yield block


def _decode_sample(sample: bytes, encoding: str, *, complete: bool, where: str) -> str:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError as error:
        line = sample[: error.start].count(b"\n") + 1
        bad = sample[error.start : error.end]
        raise DataSourceError(
            f"not valid {encoding}: cannot decode byte{'s' if len(bad) > 1 else ''} "
            f"{bad!r} at byte offset {error.start} (line {line}); pass the file's encoding=",
            where=where,
        ) from None


def _field_counts(text: str, delimiter: str, *, complete: bool) -> set[int]:
    """The distinct numbers of fields per non-blank record of ``text`` split by ``delimiter``."""
    return set(_record_widths(text, delimiter, complete=complete))


def _record_widths(text: str, delimiter: str, *, complete: bool) -> list[int]:
    """The number of fields of each non-blank record of ``text``, in order."""
    try:
        records = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=False))
    except csv.Error:
        return []
    if not complete and len(records) > 1:
        records = records[:-1]
    return [len(record) for record in records if any(field.strip() for field in record)]


def _sniff(text: str, candidates: list[str]) -> str | None:
    if len(candidates) == 1:
        return candidates[0]
    try:
        found = csv.Sniffer().sniff(text, delimiters="".join(candidates)).delimiter
    except csv.Error:
        return None
    return found if found in candidates else None
