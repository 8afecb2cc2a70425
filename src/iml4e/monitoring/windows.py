"""Monitoring windows: the last stretch of time (``1h``) or the last N answered rows (``10000
rows``) of a deployment's traffic."""

from __future__ import annotations

import re
from dataclasses import dataclass

from iml4e.errors import BadInput

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_ROWS = re.compile(r"^\s*(\d+)\s*(?:rows?)?\s*$")
MAX_ROWS = 50_000_000


@dataclass(frozen=True)
class Window:
    """Either ``seconds`` (the last stretch of time) or ``rows`` (the last answered rows)."""

    seconds: float | None = None
    rows: int | None = None

    def __str__(self) -> str:
        if self.rows is not None:
            return f"{self.rows} rows"
        seconds = self.seconds or 0.0
        for unit, size in reversed(UNITS.items()):
            if seconds >= size and seconds % size == 0:
                return f"{int(seconds // size)}{unit}"
        return f"{seconds:g}s"


def parse_window(text: str, *, where: str = "--window") -> Window:
    """``30m``, ``1h``, ``2d`` or ``10000 rows`` (a bare number is rows)."""
    if match := _TIME.match(text):
        seconds = float(match[1]) * UNITS[match[2]]
        if seconds <= 0:
            raise BadInput("a window must be longer than 0", where=where)
        return Window(seconds=seconds)
    if match := _ROWS.match(text):
        rows = int(match[1])
        if not 1 <= rows <= MAX_ROWS:
            raise BadInput(f"a row window holds 1 to {MAX_ROWS} rows", where=where)
        return Window(rows=rows)
    raise BadInput(
        f"expected a duration (30m, 1h, 2d) or a row count (10000 rows), got {text!r}",
        where=where,
    )
