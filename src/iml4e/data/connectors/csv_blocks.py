"""Cutting a CSV byte stream into blocks of whole records, without parsing it.

A line end is a record end when it is outside quotes: an even number of ``"`` precede it since
the last record end (an escaped ``""`` counts twice). That rule holds when every ``"`` opens or
closes a quoted field, which :func:`quotes_are_structural` checks for each block (an opening
quote starts a field, a closing one ends it; doubled quotes are both). A ``"`` inside an
unquoted field (``5" screen``) is text to a CSV parser but would upset the count, so a block
that has one is not cut: the rest of the stream is handed over whole (:class:`Rest`).

Bytes are never decoded here, so this needs an encoding in which ``"``, ``\\n``, ``\\r`` and the
delimiter are single ASCII bytes that no other character contains (UTF-8, Latin-1, cp125x…).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

QUOTE = ord('"')
LF = ord("\n")
CR = ord("\r")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_LONE_CR = re.compile(rb"\r(?!\n)")
_BOM = b"\xef\xbb\xbf"

Parts = tuple[bytes | memoryview, ...]


@dataclass(frozen=True)
class Rest:
    """The stream from here on cannot be cut safely: ``parts`` then the rest of the stream."""

    parts: Parts


def record_blocks(stream: BinaryIO, target: int, delimiter: int) -> Iterator[Parts | Rest]:
    """Consecutive pieces of ``stream`` of about ``target`` bytes, each ending after a record.

    A piece is one or two parts (the previous read's unfinished record, then a view of the
    next read up to its last record end), so no read is copied whole. The last item may be a
    :class:`Rest`, after which the caller reads the stream itself.
    """
    carry = b""
    first = True
    blank = _blank_bytes(delimiter) + b"\r\n"
    while True:
        data = stream.read(target)
        if not data:
            if carry.strip(blank):
                skip = len(_BOM) if first and carry.startswith(_BOM) else 0
                structural = quotes_are_structural(
                    carry,
                    len(carry),
                    odd=False,
                    before=LF,
                    after=LF,
                    delimiter=delimiter,
                    start=skip,
                )
                yield (carry,) if structural else Rest((carry,))
            return
        odd = carry.count(QUOTE) % 2 == 1
        cut = last_record_end(data, odd=odd)
        if cut < 0:
            carry += data  # no record ends in this read: read on
            continue
        head = carry or data
        skip = len(_BOM) if first and head.startswith(_BOM) else 0
        structural = quotes_are_structural(
            carry, len(carry), odd=False, before=LF, after=data[0], delimiter=delimiter, start=skip
        ) and quotes_are_structural(
            data,
            cut,
            odd=odd,
            before=carry[-1] if carry else LF,
            after=LF,
            delimiter=delimiter,
            start=0 if carry else skip,
        )
        if not structural:
            yield Rest((carry, data) if carry else (data,))
            return
        view = memoryview(data)[:cut]
        yield (carry, view) if carry else (view,)
        view.release()
        carry = data[cut:]
        first = False


def last_record_end(buffer: bytes, *, odd: bool = False) -> int:
    """The position after the last ``\\n`` of ``buffer`` outside quotes, or -1.

    ``odd`` says the text before ``buffer`` (back to a record end) holds an odd number of ``"``.
    """
    quotes = buffer.count(QUOTE) + odd
    end = len(buffer)
    position = buffer.rfind(b"\n")
    while position >= 0:
        quotes -= buffer.count(QUOTE, position + 1, end)
        if quotes % 2 == 0:
            return position + 1
        end = position
        position = buffer.rfind(b"\n", 0, position)
    return -1


def quotes_are_structural(
    buffer: bytes,
    end: int,
    *,
    odd: bool,
    before: int,
    after: int,
    delimiter: int,
    start: int = 0,
) -> bool:
    """Whether every ``"`` in ``buffer[start:end]`` opens or closes a quoted field.

    Quotes alternate between opening and closing (``odd``: the first one closes). An opening
    quote must follow a delimiter, a line end or a closing quote (``""``); a closing quote must
    precede a delimiter, a line end or an opening quote. ``before`` and ``after`` are the bytes
    around the range.
    """
    if buffer.count(QUOTE, start, end) == 0:
        return True
    data = np.frombuffer(buffer, dtype=np.uint8, count=end - start, offset=start)
    quotes = np.flatnonzero(data == QUOTE)
    opening = quotes[1::2] if odd else quotes[0::2]
    closing = quotes[0::2] if odd else quotes[1::2]
    allowed = np.array([delimiter, LF, CR, QUOTE], dtype=np.uint8)
    previous = np.where(opening > 0, data[np.maximum(opening - 1, 0)], before)
    following = np.where(
        closing + 1 < len(data), data[np.minimum(closing + 1, len(data) - 1)], after
    )
    return bool(np.isin(previous, allowed).all() and np.isin(following, allowed).all())


def header_record(block: bytes, delimiter: int) -> bytes:
    """The first non-blank record of ``block`` (the header line), with its line end.

    ``block`` has passed :func:`quotes_are_structural`. As for pandas, a lone ``\\r`` ends a
    line, and a line of spaces and tabs is blank unless the delimiter is among them.
    """
    blank = _blank_bytes(delimiter)
    start = 0
    for line_end in _LINE_END.finditer(block):
        if block.count(QUOTE, start, line_end.start()) % 2 == 0:
            if block[start : line_end.start()].strip(blank):
                return block[start : line_end.end()]
            start = line_end.end()
    return block[start:] + b"\n"


def _blank_bytes(delimiter: int) -> bytes:
    """What pandas ignores in a blank line: spaces and tabs (unless one is the delimiter)."""
    return bytes(c for c in b" \t" if c != delimiter) + _BOM


class LoneCarriageReturns(io.RawIOBase):
    """``stream`` with each ``\\r`` not followed by ``\\n`` read as ``\\n``; closes ``stream``.

    pandas' C tokenizer mishandles lone ``\\r`` line ends (old Mac files) followed by a blank
    line and leading spaces: it reads garbage rows or runs out of memory on a six-byte file.
    Reading them as ``\\n`` (as Python's universal newlines do) avoids that; a lone ``\\r``
    inside a quoted field becomes ``\\n`` too.
    """

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._held = b""  # read from the stream, not translated yet
        self._pending = b""  # translated, not returned yet

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        whole = size is None or size < 0
        if self._pending:
            count = len(self._pending) if whole else size
            data, self._pending = self._pending[:count], self._pending[count:]
            return data
        data = self._held + (self._stream.read() if whole else self._stream.read(max(size, 1)))
        self._held = b""
        if data.endswith(b"\r"):
            following = self._stream.read(1)  # "\r\n" cut in two, or a lone "\r"?
            if following == b"\n":
                data += following
            else:
                self._held = following
        if CR in data:
            data = _LONE_CR.sub(b"\n", data)
        if not whole and len(data) > size:
            data, self._pending = data[:size], data[size:]
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def has_lone_carriage_return(stream: BinaryIO) -> bool:
    """Whether ``stream`` (read to its end) has a ``\\r`` not followed by ``\\n``."""
    previous = b""
    while block := stream.read(1024 * 1024):
        if previous == b"\r" and not block.startswith(b"\n"):
            return True
        if CR in block and _LONE_CR.search(block[:-1] if block.endswith(b"\r") else block):
            return True
        previous = block[-1:]
    return previous == b"\r"


class PartsReader(io.RawIOBase):
    """A read-only binary file over byte strings and views, then optionally a stream."""

    def __init__(self, parts: Parts, tail: BinaryIO | None = None) -> None:
        super().__init__()
        self._parts = [memoryview(part) for part in parts if len(part)]
        self._tail = tail
        self._index = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._index < len(self._parts):
            part = self._parts[self._index]
            size = min(len(buffer), len(part) - self._position)
            if size > 0:
                buffer[:size] = part[self._position : self._position + size]
                self._position += size
                return size
            self._index += 1
            self._position = 0
        if self._tail is not None:
            return self._tail.readinto(buffer)  # type: ignore[attr-defined]
        return 0

    def close(self) -> None:
        for part in self._parts:
            part.release()
        self._parts = []
        super().close()
