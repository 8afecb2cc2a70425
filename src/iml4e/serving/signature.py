"""A request's rows checked against the model signature, and one DataFrame per micro-batch.

Each request is checked on its own plain values (a missing or unexpected column is a 400, a
value of the wrong type a 422, both naming the column) and converted to the signature's types
(``35`` → ``35.0`` for a double: JSON cannot say which it meant). The batch's requests are then
joined column by column into one DataFrame, with the signature's dtypes, in signature order.
Framework-free: plain values in, one DataFrame out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iml4e.serving.errors import PayloadError
from iml4e.serving.payloads import ParsedRows

FLOAT_DTYPES = {"double": "float64", "float": "float32"}
INTEGER_DTYPES = {"long": "Int64", "integer": "Int32"}
INTEGER_BOUNDS = {"long": 2**63, "integer": 2**31}


@dataclass(frozen=True)
class InputColumn:
    """One input column of the model signature."""

    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class PreparedRows:
    """One request's values, column by column, converted to the signature's types."""

    columns: dict[str, list[Any]]
    length: int

    def __len__(self) -> int:
        return self.length


Convert = Callable[[list[Any]], list[Any]]


class Signature:
    """The checks and conversions of one model's input signature (``None``: no signature)."""

    def __init__(self, columns: Sequence[InputColumn] | None) -> None:
        self.columns = None if columns is None else list(columns)
        self._known = {c.name: c for c in self.columns or []}
        self._order = {c.name: i for i, c in enumerate(self.columns or [])}
        self._convert = {c.name: _converter(c) for c in self.columns or []}

    def prepare(self, parsed: ParsedRows) -> PreparedRows:
        """``parsed`` checked and converted; raise :class:`PayloadError` naming the column."""
        names = parsed.columns
        values = {name: [row[i] for row in parsed.rows] for i, name in enumerate(names)}
        if self.columns is None:
            return PreparedRows(values, len(parsed))
        for column in self.columns:
            if column.required and column.name not in values:
                raise PayloadError(
                    f"required column missing (expected {column.type})", where=column.name
                )
        for name in names:
            if name not in self._known:
                raise PayloadError(
                    f"unexpected column (the model takes {', '.join(sorted(self._known))})",
                    where=str(name),
                )
        ordered = {}
        for column in self.columns:
            if column.name in values:
                convert = self._convert.get(column.name)
                given = values[column.name]
                ordered[column.name] = given if convert is None else convert(given)
        return PreparedRows(ordered, len(parsed))

    def frame(self, batch: Sequence[PreparedRows]) -> pd.DataFrame:
        """One DataFrame of every request of ``batch``, in order, with the signature's dtypes
        and column order (a column only some requests give is ``None`` in the others' rows)."""
        names: dict[str, None] = {}
        for prepared in batch:
            names.update(dict.fromkeys(prepared.columns))
        if self.columns is not None:
            names = dict.fromkeys(sorted(names, key=self._order.__getitem__))
        arrays = {}
        for name in names:
            joined: list[Any] = []
            for prepared in batch:
                values = prepared.columns.get(name)
                joined.extend([None] * len(prepared) if values is None else values)
            arrays[name] = self._array(name, joined)
        return pd.DataFrame(arrays)  # copied into one block per dtype: predicts faster

    def _array(self, name: str, values: list[Any]) -> Any:
        column = self._known.get(name)
        if column is None:
            return values  # no signature type: pandas infers one, as for a parsed frame
        if column.type in FLOAT_DTYPES:
            return np.array(values, dtype=FLOAT_DTYPES[column.type])
        if column.type in INTEGER_DTYPES:
            return pd.array(values, dtype=INTEGER_DTYPES[column.type])
        if column.type == "string":
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array
        return values


def _converter(column: InputColumn) -> Convert | None:
    """How a column's JSON values become the signature's type (``None``: kept as given)."""
    if column.type in FLOAT_DTYPES:
        return lambda values: (
            values
            if all(type(v) is float for v in values)
            else [_to_float(v, column) for v in values]
        )
    if column.type in INTEGER_DTYPES:
        return lambda values: [_to_integer(v, column) for v in values]
    if column.type == "string":
        return lambda values: _check_text(values, column)
    return None


def _to_float(value: Any, column: InputColumn) -> float | None:
    if type(value) is float or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and "_" not in value:
        try:
            return float(value)
        except ValueError:
            pass
    raise _not_a_number(value, column)


def _to_integer(value: Any, column: InputColumn) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    number: Any = value
    if isinstance(value, str) and "_" not in value:
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _not_a_number(value, column) from None
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int):
        raise _not_a_number(value, column)
    bound = INTEGER_BOUNDS[column.type]
    if not -bound <= number < bound:
        raise PayloadError(
            f"{value!r} is out of range for a {column.type}", where=column.name, status=422
        )
    return int(number)


def _check_text(values: list[Any], column: InputColumn) -> list[Any]:
    for value in values:
        if value is not None and not isinstance(value, str):
            raise PayloadError("expected a string", where=column.name, status=422)
    return values


def _not_a_number(value: Any, column: InputColumn) -> PayloadError:
    return PayloadError(
        f"expected a number ({column.type}), got {value!r}", where=column.name, status=422
    )
