"""Turn request bodies of the supported protocols into one DataFrame, or say what is wrong.

MLflow ``/invocations`` accepts ``dataframe_split``, ``dataframe_records``, ``instances`` and
``inputs``; KServe V1 ``:predict`` accepts ``instances``. Rows given as lists are matched to
the model signature's column order. Framework-free: plain data in, DataFrame out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from iml4e.serving.errors import PayloadError

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocations(body: Any, columns: Sequence[str] | None) -> tuple[pd.DataFrame, str]:
    """Parse an MLflow ``/invocations`` JSON body; returns the frame and the format used."""
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


def parse_kserve_v1(body: Any, columns: Sequence[str] | None) -> pd.DataFrame:
    """Parse a KServe V1 ``:predict`` body ``{"instances": [...]}``."""
    if not isinstance(body, dict) or "instances" not in body:
        raise PayloadError('the body must be a JSON object with "instances"', where="body")
    return _from_instances(body["instances"], columns, "instances")


def _from_split(value: Any) -> pd.DataFrame:
    if not isinstance(value, dict):
        raise PayloadError("must be an object with columns and data", where="dataframe_split")
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PayloadError("must be a list of column names", where="dataframe_split.columns")
    if not isinstance(data, list) or not data:
        raise PayloadError("must be a non-empty list of rows", where="dataframe_split.data")
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise PayloadError(
                f"must be a list of {len(columns)} values", where=f"dataframe_split.data[{index}]"
            )
    return pd.DataFrame(data, columns=columns)


def _from_records(value: Any, columns: Sequence[str] | None, field: str) -> pd.DataFrame:
    if not isinstance(value, list) or not value:
        raise PayloadError("must be a non-empty list of objects", where=field)
    for index, row in enumerate(value):
        if not isinstance(row, dict):
            raise PayloadError("must be an object of column: value", where=f"{field}[{index}]")
    frame = pd.DataFrame.from_records(value)
    if columns is not None and set(frame.columns) == set(columns):
        frame = frame[list(columns)]
    return frame


def _from_instances(value: Any, columns: Sequence[str] | None, field: str) -> pd.DataFrame:
    if isinstance(value, dict):  # columnar form: {"col": [..], ...}
        lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
        if len(lengths) != 1 or -1 in lengths or 0 in lengths:
            raise PayloadError("columnar form needs equal-length non-empty lists", where=field)
        return pd.DataFrame(value)
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
    return pd.DataFrame(value, columns=list(columns))
