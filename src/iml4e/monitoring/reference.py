"""Reference profiles: what monitoring keeps of the training data to compare live data with.

A reference is built once from the training frame (and, optionally, the model's predictions on
it), stored as one ``.npz`` file, and reused by every monitoring run, which never reloads the
training data.

Rules of the profile, per column:

- A column is *numeric* when its dtype is a number (not bool) and it has more than
  :data:`MAX_DISCRETE_VALUES` distinct non-missing values; every other column (text, bool,
  pandas categories, numbers with at most 5 distinct values) is *categorical*.
- Numeric values that are NaN or ±inf count as missing; so do None/NaN in categorical columns.
- Numeric: a sorted sample of the values (all of them when there are at most ``max_sample``,
  else ``max_sample`` drawn uniformly without replacement with ``numpy.random.default_rng(seed)``),
  min, max, mean, population std (``ddof=0``, as ``numpy.std``), and ``bins`` quantile bins: the
  inner edges are the reference quantiles at 1/bins … (bins-1)/bins (duplicates dropped), the
  outer edges -inf and +inf; a value ``x`` falls in bin ``i`` when
  ``edges[i] <= x < edges[i + 1]``. Statistics and bin shares use every value, not the sample.
- Categorical: the share of each category among non-missing values, keyed by text (numbers as
  ``repr(float(v))``, so ``1`` and ``1.0`` are the same category). Above
  :data:`MAX_CATEGORIES` categories the most frequent are kept and the rest pooled as
  :data:`OTHER`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from iml4e.monitoring.errors import ReferenceMismatch

ColumnKind = Literal["numeric", "categorical"]
ValueType = Literal["number", "text"]

MAX_DISCRETE_VALUES = 5
MAX_CATEGORIES = 1_000
OTHER = "__other__"
PREDICTION = "prediction"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class ColumnReference:
    """The reference distribution of one column (or of the model's predictions).

    ``n`` counts non-missing values, ``missing`` the missing ones. Numeric fields are ``None``
    for categorical columns and ``shares`` is empty for numeric ones. ``value_type`` says
    whether the raw values were numbers or text, so live data of another type is detected.
    Instances compare by identity (their arrays have no single truth value).
    """

    name: str
    kind: ColumnKind
    value_type: ValueType
    n: int
    missing: int
    sample: NDArray[np.float64] | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    bin_edges: NDArray[np.float64] | None = None
    bin_shares: NDArray[np.float64] | None = None
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def capped(self) -> bool:
        """Whether rare categories were pooled into :data:`OTHER`."""
        return OTHER in self.shares


@dataclass(frozen=True)
class ReferenceProfile:
    """The reference of a model version: one :class:`ColumnReference` per feature column."""

    columns: dict[str, ColumnReference]
    n_rows: int
    prediction: ColumnReference | None = None

    def to_bytes(self) -> bytes:
        """Serialise to one uncompressed ``.npz`` archive (arrays plus a JSON header)."""
        arrays: dict[str, NDArray[Any]] = {}
        header: dict[str, Any] = {"format": FORMAT_VERSION, "n_rows": self.n_rows, "columns": []}
        entries = list(self.columns.values())
        if self.prediction is not None:
            entries.append(self.prediction)
            header["prediction"] = len(entries) - 1
        for index, column in enumerate(entries):
            header["columns"].append(_column_header(column))
            for key in ("sample", "bin_edges", "bin_shares"):
                value = getattr(column, key)
                if value is not None:
                    arrays[f"{index}.{key}"] = value
            if column.shares:
                arrays[f"{index}.shares"] = np.fromiter(column.shares.values(), np.float64)
        arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceProfile:
        """Read a profile written by :meth:`to_bytes`."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise ReferenceMismatch(f"not a reference profile ({exc})") from None
        if header.get("format") != FORMAT_VERSION:
            raise ReferenceMismatch(f"unknown reference format {header.get('format')!r}")
        entries = [
            _column_from_header(column, index, arrays)
            for index, column in enumerate(header["columns"])
        ]
        prediction_index = header.get("prediction")
        prediction = None if prediction_index is None else entries.pop(prediction_index)
        return cls(
            columns={column.name: column for column in entries},
            n_rows=int(header["n_rows"]),
            prediction=prediction,
        )


def build_reference(
    frame: pd.DataFrame,
    *,
    predictions: ArrayLike | pd.Series | None = None,
    max_sample: int = 50_000,
    bins: int = 10,
    seed: int = 0,
) -> ReferenceProfile:
    """Profile the training ``frame`` (and the model's ``predictions`` on it) once.

    Raises :class:`ReferenceMismatch` for a column of an unsupported dtype (dates, durations,
    complex numbers) or predictions whose length differs from the frame's.
    """
    if max_sample < 1 or bins < 1:
        raise ReferenceMismatch("max_sample and bins must be at least 1")
    columns = {
        str(name): build_column_reference(
            str(name), frame[name], max_sample=max_sample, bins=bins, seed=seed
        )
        for name in frame.columns
    }
    prediction = None
    if predictions is not None:
        series = as_series(predictions)
        if len(series) != len(frame):
            raise ReferenceMismatch(
                f"{len(series)} predictions for {len(frame)} rows", where=PREDICTION
            )
        prediction = build_column_reference(
            PREDICTION, series, max_sample=max_sample, bins=bins, seed=seed
        )
    return ReferenceProfile(columns=columns, n_rows=len(frame), prediction=prediction)


def build_column_reference(
    name: str, series: pd.Series, *, max_sample: int, bins: int, seed: int
) -> ColumnReference:
    """Profile one column by the rules in this module's docstring."""
    value_type = value_type_of(series, name)
    if value_type == "number":
        values = finite_values(series)
        missing = len(series) - len(values)
        if len(np.unique(values)) > MAX_DISCRETE_VALUES:
            return _numeric_reference(name, values, missing, max_sample, bins, seed)
        keys, counts = category_counts(series, value_type)
        return _categorical_reference(name, value_type, keys, counts, missing)
    keys, counts = category_counts(series, value_type)
    return _categorical_reference(name, value_type, keys, counts, len(series) - int(counts.sum()))


def as_series(values: ArrayLike | pd.Series) -> pd.Series:
    """``values`` as a pandas Series (predictions may come as a list or an array)."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values).ravel())


def value_type_of(series: pd.Series, name: str) -> ValueType:
    """``number`` for numeric dtypes (bool excluded), ``text`` for text, bool and categories."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "number"
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or pd.api.types.is_complex_dtype(dtype)
    ):
        raise ReferenceMismatch(f"unsupported dtype {dtype} for drift monitoring", where=name)
    return "text"


def finite_values(series: pd.Series) -> NDArray[np.float64]:
    """The finite values of a numeric column as float64 (NaN, ±inf and NA dropped)."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def category_counts(
    series: pd.Series, value_type: ValueType
) -> tuple[list[str], NDArray[np.int64]]:
    """Category keys and their counts among non-missing values (order of first appearance)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)[1:].astype(np.int64)
    keys = [category_key(value, value_type) for value in uniques]
    if len(set(keys)) != len(keys):  # e.g. 1 and 1.0 in an object column
        merged: dict[str, int] = {}
        for key, count in zip(keys, counts.tolist(), strict=True):
            merged[key] = merged.get(key, 0) + count
        return list(merged), np.fromiter(merged.values(), np.int64, len(merged))
    return keys, counts


def category_key(value: object, value_type: ValueType) -> str:
    """The text a category is known by: ``repr(float(v))`` for numbers, ``str(v)`` otherwise."""
    if value_type == "number":
        return repr(float(value))  # type: ignore[arg-type]
    return str(value)


def _numeric_reference(
    name: str, values: NDArray[np.float64], missing: int, max_sample: int, bins: int, seed: int
) -> ColumnReference:
    if len(values) > max_sample:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(values, size=max_sample, replace=False))
    else:
        sample = np.sort(values)
    quantiles = np.quantile(values, np.arange(1, bins) / bins) if bins > 1 else np.empty(0)
    inner = np.unique(quantiles)
    edges = np.concatenate(([-np.inf], inner, [np.inf]))
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return ColumnReference(
        name=name,
        kind="numeric",
        value_type="number",
        n=len(values),
        missing=missing,
        sample=sample,
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
        std=float(values.std()),
        bin_edges=edges,
        bin_shares=counts / len(values),
    )


def _categorical_reference(
    name: str, value_type: ValueType, keys: list[str], counts: NDArray[np.int64], missing: int
) -> ColumnReference:
    total = int(counts.sum())
    order = np.argsort(-counts, kind="stable")
    kept = order[:MAX_CATEGORIES]
    shares = {keys[i]: float(counts[i]) / total for i in kept.tolist()} if total else {}
    if len(order) > MAX_CATEGORIES:
        shares[OTHER] = float(counts[order[MAX_CATEGORIES:]].sum()) / total
    return ColumnReference(
        name=name,
        kind="categorical",
        value_type=value_type,
        n=total,
        missing=missing,
        shares=shares,
    )


def _column_header(column: ColumnReference) -> dict[str, Any]:
    return {
        "name": column.name,
        "kind": column.kind,
        "value_type": column.value_type,
        "n": column.n,
        "missing": column.missing,
        "min": column.min,
        "max": column.max,
        "mean": column.mean,
        "std": column.std,
        "categories": list(column.shares),
    }


def _column_from_header(
    header: dict[str, Any], index: int, arrays: dict[str, NDArray[Any]]
) -> ColumnReference:
    shares = arrays.get(f"{index}.shares")
    categories: list[str] = header["categories"]
    return ColumnReference(
        name=header["name"],
        kind=header["kind"],
        value_type=header["value_type"],
        n=int(header["n"]),
        missing=int(header["missing"]),
        sample=arrays.get(f"{index}.sample"),
        min=header["min"],
        max=header["max"],
        mean=header["mean"],
        std=header["std"],
        bin_edges=arrays.get(f"{index}.bin_edges"),
        bin_shares=arrays.get(f"{index}.bin_shares"),
        shares=dict(zip(categories, shares.tolist(), strict=True)) if shares is not None else {},
    )
