"""Checks of the generators' arguments, shared so every generator words its errors alike."""

from __future__ import annotations

import math
from numbers import Integral, Real

from iml4e.data.errors import InvalidArgument


def check_whole(name: str, value: int, *, minimum: int) -> int:
    """``value`` as an int if it is a whole number ``>= minimum`` (booleans are not)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise InvalidArgument(f"must be a whole number >= {minimum}, got {value!r}", where=name)
    return int(value)


def check_drift(drift: float) -> float:
    """``drift`` as a float if it is a finite number in [0, 1]."""
    if (
        isinstance(drift, bool)
        or not isinstance(drift, Real)
        or not math.isfinite(drift)
        or not 0.0 <= drift <= 1.0
    ):
        raise InvalidArgument(f"must be a number in [0, 1], got {drift!r}", where="drift")
    return float(drift)
