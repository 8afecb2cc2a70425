"""Turn request bodies of the supported protocols into plain rows, or say what is wrong.

MLflow ``/invocations`` accepts ``dataframe_split``, ``dataframe_records``, ``instances`` and
``inputs``; KServe V1 ``:predict`` accepts ``instances``. Rows given as lists are matched to
the model signature's column order. Each body becomes a :class:`ParsedRows` of JSON values;
no DataFrame is built per request (the micro-batch builds one for all its requests).
Framework-free: plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from iml4e.serving.errors import PayloadError

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


@dataclass(frozen=True)
class ParsedRows:
    """One request's rows as given: ``rows[i][j]`` is the value of ``columns[j]`` in row ``i``
    (``None`` where a record left a column out)."""

    columns: list[str]
    rows: list[list[Any]]

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts (the inference log's ``inputs``)."""
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame, types inferred by pandas (for inspection and tests)."""
        return pd.DataFrame(self.rows, columns=self.columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ParsedRows:
        """The rows of ``frame``, values as Python objects."""
        return cls([str(c) for c in frame.columns], frame.to_numpy(dtype=object).tolist())


def parse_invocations(body: Any, columns: Sequence[str] | None) -> tuple[ParsedRows, str]:
    """Parse an MLflow ``/invocations`` JSON body; returns the rows and the format used."""
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object", where="body")
    present = [key for key in MLFLOW_FORMATS if key in body]
    if len(present) != 1:
        raise PayloadError(
            f"give exactly one of {', '.join(MLFLOW_FORMATS)} (got {sorted(body) or 'none'})",
            where="body",
        )
    fmt = present[0]
    value = body[fmt]
    if fmt == "dataframe_split":
        return _from_split(value), fmt
    if fmt == "dataframe_records":
        return _from_records(value, columns, fmt), fmt
    return _from_instances(value, columns, fmt), fmt


def parse_kserve_v1(body: Any, columns: Sequence[str] | None) -> ParsedRows:
    """Parse a KServe V1 ``:predict`` body ``{"instances": [...]}``."""
    if not isinstance(body, dict) or "instances" not in body:
        raise PayloadError('the body must be a JSON object with "instances"', where="body")
    return _from_instances(body["instances"], columns, "instances")


def _from_split(value: Any) -> ParsedRows:
    if not isinstance(value, dict):
        raise PayloadError("must be an object with columns and data", where="dataframe_split")
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PayloadError("must be a list of column names", where="dataframe_split.columns")
    _check_unique(columns)
    if not isinstance(data, list) or not data:
        raise PayloadError("must be a non-empty list of rows", where="dataframe_split.data")
    width = len(columns)
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise PayloadError(
                f"must be a list of {width} values", where=f"dataframe_split.data[{index}]"
            )
    return ParsedRows(columns, data)


def _from_records(value: Any, columns: Sequence[str] | None, field: str) -> ParsedRows:
    if not isinstance(value, list) or not value:
        raise PayloadError("must be a non-empty list of objects", where=field)
    for index, row in enumerate(value):
        if not isinstance(row, dict):
            raise PayloadError("must be an object of column: value", where=f"{field}[{index}]")
    names = dict.fromkeys(value[0])
    for row in value[1:]:
        if row.keys() != names.keys():
            names.update(dict.fromkeys(row))
    if columns is not None and names.keys() == set(columns):
        names = dict.fromkeys(columns)
    order = list(names)
    return ParsedRows(order, [[row.get(name) for name in order] for row in value])


def _from_instances(value: Any, columns: Sequence[str] | None, field: str) -> ParsedRows:
    if isinstance(value, dict):  # columnar form: {"col": [..], ...}
        lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
        if len(lengths) != 1 or -1 in lengths or 0 in lengths:
            raise PayloadError("columnar form needs equal-length non-empty lists", where=field)
        return ParsedRows(list(value), [list(row) for row in zip(*value.values(), strict=True)])
    if not isinstance(value, list) or not value:
        raise PayloadError("must be a non-empty list", where=field)
    if all(isinstance(row, dict) for row in value):
        return _from_records(value, columns, field)
    if columns is None:
        raise PayloadError("rows given as lists need a model signature", where=field)
    for index, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(columns):
            raise PayloadError(
                f"must be a list of {len(columns)} values ({', '.join(columns)})",
                where=f"{field}[{index}]",
            )
    return ParsedRows(list(columns), value)


def _check_unique(columns: list[str]) -> None:
    if len(set(columns)) != len(columns):
        twice = next(c for i, c in enumerate(columns) if c in columns[:i])
        raise PayloadError("column given more than once", where=twice)
