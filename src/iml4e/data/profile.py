"""Profiles ("analyze"): what each column of a frame holds, exactly enough to test drift later.

The profile of the training data is the reference that monitoring compares live data against
(KS, Wasserstein, PSI, chi-squared, Jensen-Shannon), so its bins and frequencies are exact and
usable without the original data: count a live window with :func:`numpy.histogram` on the
stored ``edges``, or its categories by name, and the two line up.

How a column is read:

- **kind** follows the dtype, never the values: bool dtypes (numpy ``bool``, pandas
  ``boolean``) are ``"boolean"``; other numeric dtypes ``"numeric"``; ``datetime64`` (with or
  without a time zone) ``"datetime"``; everything else (object, string, category, timedelta,
  complex…) ``"categorical"``. An object column of numbers-as-strings (``"1"``, ``"2.5"``) stays
  categorical: converting it would guess at what a person meant.
- **missing** values are NaN, None, ``pd.NA`` and NaT; ``count`` is the non-missing rest.
- **numeric** (and **datetime**, in seconds since 1970-01-01 UTC) columns get a
  :class:`NumericSummary` over their finite values (``std`` with ``ddof=1`` as pandas; quantiles
  are :func:`numpy.quantile`'s linear method) and a :class:`Histogram` of ``bins`` equal-width
  bins from min to max as :func:`numpy.histogram` counts them on the stored ``edges`` (each bin
  ``[a, b)``, the last ``[a, b]``). A constant column gets one bin ``[v, v]``. ±inf are values,
  not missing: they are counted in ``NumericSummary.infinite`` and in the outer bins (the first
  and last bins are open-ended), so the counts always sum to ``count``. A column without any
  finite value has neither summary nor histogram. Values are read as float64.
- **categorical** and **boolean** columns get ``categories``: category (``str(value)``) → count,
  most frequent first (ties in order of first appearance; pandas categoricals in category
  order). Above ``max_categories`` distinct values, the ``max_categories`` most frequent are kept
  and the rest are summed under ``"__other__"`` (:data:`OTHER`); ``other_categories`` says how
  many distinct values that bucket holds. Values whose ``str`` is equal (``1`` and ``"1"`` in one
  object column) are one category.
- **duplicate_rows** counts rows equal to an earlier row over all columns, as
  ``frame.duplicated().sum()`` does (a frame without columns has none); it is exact, not hashed.
- **correlations** are Pearson over the numeric columns, pairwise over rows where both are finite,
  as ``DataFrame.corr()``; ``None`` where undefined (a constant column, fewer than two rows).
- **target_balance** (with ``target``): class → share of the target's non-missing values. A
  numeric target with at most :data:`MAX_TARGET_CLASSES` distinct values is read as classes
  (integral values named without ``.0``); other numeric and datetime targets have none.

An empty frame gives a profile with zero rows: every column has ``count == 0``, no summary and no
histogram (``categories`` is ``{}`` for categorical and boolean columns).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iml4e.data.errors import InvalidArgument

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
OTHER = "__other__"
MAX_TARGET_CLASSES = 20
TOP_CATEGORIES = 10
KINDS = ("numeric", "categorical", "boolean", "datetime")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NumericSummary:
    """Summary of a numeric (or datetime, in epoch seconds) column's finite values.

    ``mean`` and ``std`` (``ddof=1``) are ``None`` when undefined (one value) or when they
    overflow float64; ``infinite`` counts the ±inf values left out of every statistic.
    """

    min: float
    max: float
    mean: float | None
    std: float | None
    quantiles: dict[str, float | None]
    infinite: int = 0


@dataclass(frozen=True)
class Histogram:
    """Counts per bin; ``len(edges) == len(counts) + 1`` and the counts sum to the column count."""

    edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class ColumnProfile:
    """What one column holds; see the module docstring for how each field is computed."""

    name: str
    kind: str
    dtype: str
    count: int
    missing: int
    distinct: int
    numeric: NumericSummary | None = None
    histogram: Histogram | None = None
    categories: dict[str, int] | None = None
    other_categories: int = 0

    @property
    def top_categories(self) -> list[tuple[str, int]]:
        """The ten most frequent categories (without the ``"__other__"`` bucket)."""
        if not self.categories:
            return []
        named = [
            (key, n)
            for key, n in self.categories.items()
            if key != OTHER or self.other_categories == 0
        ]
        return sorted(named, key=lambda item: -item[1])[:TOP_CATEGORIES]


@dataclass(frozen=True)
class DatasetProfile:
    """The profile of a whole frame: its columns, duplicates, correlations and target balance."""

    n_rows: int
    n_columns: int
    columns: dict[str, ColumnProfile]
    duplicate_rows: int
    correlations: dict[str, dict[str, float | None]]
    target: str | None = None
    target_balance: dict[str, float] | None = None

    @property
    def missing_cells(self) -> int:
        """Missing values over all columns."""
        return sum(column.missing for column in self.columns.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe data (no NaN or inf) that :meth:`from_dict` turns back exactly."""
        return {
            "format": FORMAT_VERSION,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "duplicate_rows": self.duplicate_rows,
            "target": self.target,
            "target_balance": None if self.target_balance is None else dict(self.target_balance),
            "correlations": {name: dict(row) for name, row in self.correlations.items()},
            "columns": {name: _column_to_dict(column) for name, column in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        """The profile :meth:`to_dict` wrote; ``InvalidArgument`` when ``data`` is not one."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise InvalidArgument(
                f"not a dataset profile of format {FORMAT_VERSION}", where="profile"
            )
        try:
            columns = {name: _column_from_dict(c) for name, c in data["columns"].items()}
            balance = data["target_balance"]
            return cls(
                n_rows=int(data["n_rows"]),
                n_columns=int(data["n_columns"]),
                columns=columns,
                duplicate_rows=int(data["duplicate_rows"]),
                correlations={
                    str(name): {str(other): _float(r) for other, r in row.items()}
                    for name, row in data["correlations"].items()
                },
                target=data["target"],
                target_balance=None
                if balance is None
                else {str(k): float(v) for k, v in balance.items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InvalidArgument(
                f"malformed dataset profile: {error!r}", where="profile"
            ) from None

    def to_json(self, *, indent: int | None = None) -> str:
        """The profile as JSON text: strict (no NaN or inf), ASCII-only (non-ASCII escaped)."""
        return json.dumps(self.to_dict(), allow_nan=False, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> DatasetProfile:
        """The profile :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidArgument(f"not JSON: {error}", where="profile") from None
        return cls.from_dict(data)


def profile_frame(
    frame: pd.DataFrame, *, target: str | None = None, bins: int = 20, max_categories: int = 1000
) -> DatasetProfile:
    """Profile every column of ``frame`` and the frame as a whole (see the module docstring).

    ``bins``: equal-width histogram bins of numeric and datetime columns; ``max_categories``:
    most categories counted by name before the rest go to ``"__other__"``; ``target``: the label
    column whose class balance is reported.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(
            f"expected a pandas DataFrame, got {type(frame).__name__}", where="frame"
        )
    for value, name in ((bins, "bins"), (max_categories, "max_categories")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgument(f"must be a positive integer, got {value!r}", where=name)
    names = [str(column) for column in frame.columns]
    if len(set(names)) != len(names):
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise InvalidArgument(f"repeated column names {repeated}", where="frame")
    if target is not None and target not in names:
        raise InvalidArgument(f"no column {target!r} in the frame", where="target")

    n_rows = len(frame)
    columns: dict[str, ColumnProfile] = {}
    numeric_values: dict[str, np.ndarray] = {}
    rows = _RowKeys(n_rows)
    for position, name in enumerate(names):
        series = frame.iloc[:, position]
        column, codes, cardinality, values = _profile_column(name, series, bins, max_categories)
        columns[name] = column
        rows.add(codes, cardinality)
        if column.kind == "numeric":
            numeric_values[name] = values
    return DatasetProfile(
        n_rows=n_rows,
        n_columns=len(names),
        columns=columns,
        duplicate_rows=rows.duplicates() if names else 0,
        correlations=_correlations(numeric_values, columns),
        target=target,
        target_balance=None
        if target is None
        else _target_balance(frame.iloc[:, names.index(target)], columns[target]),
    )


# --- columns ----------------------------------------------------------------------------------


def column_kind(dtype: Any) -> str:
    """The kind a column of ``dtype`` is profiled as (see the module docstring)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    return "categorical"


def _profile_column(
    name: str, series: pd.Series, bins: int, max_categories: int
) -> tuple[ColumnProfile, np.ndarray, int, np.ndarray | None]:
    """The column's profile, its value codes (-1 missing) and their cardinality, its floats."""
    kind = column_kind(series.dtype)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        uniques: Any = series.cat.categories
    else:
        try:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
        except TypeError:  # unhashable objects (lists, dicts): compare their text
            text = series.astype(str).where(series.notna())
            codes, uniques = pd.factorize(text, use_na_sentinel=True)
    missing = int(np.count_nonzero(codes < 0))
    count = len(series) - missing
    base = {"name": name, "kind": kind, "dtype": str(series.dtype), "count": count}
    if kind in ("categorical", "boolean"):
        keys, counts = _category_counts(codes, uniques)
        categories, other = _bucket(keys, counts, max_categories)
        profile = ColumnProfile(
            **base,
            missing=missing,
            distinct=len(keys),
            categories=categories,
            other_categories=other,
        )
        return profile, codes, len(uniques), None
    values = _epoch_seconds(series) if kind == "datetime" else _floats(series)
    summary, histogram = _numeric(values, count, bins)
    profile = ColumnProfile(
        **base, missing=missing, distinct=len(uniques), numeric=summary, histogram=histogram
    )
    return profile, codes, len(uniques), values


def _floats(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _epoch_seconds(series: pd.Series) -> np.ndarray:
    """Seconds since 1970-01-01 UTC as float64, NaN for NaT."""
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    values = series.to_numpy()
    if values.dtype.kind != "M":
        values = values.astype("datetime64[ns]")
    unit, _ = np.datetime_data(values.dtype)
    per_second = np.timedelta64(1, "s") / np.timedelta64(1, unit)
    seconds = values.view(np.int64) / per_second
    seconds[np.isnat(values)] = np.nan
    return seconds


def _numeric(
    values: np.ndarray, count: int, bins: int
) -> tuple[NumericSummary | None, Histogram | None]:
    finite_mask = np.isfinite(values)
    finite = values if finite_mask.all() else values[finite_mask]
    if not len(finite):
        return None, None
    infinite = count - len(finite)
    low, high = float(finite.min()), float(finite.max())
    with np.errstate(all="ignore"):
        mean = float(np.mean(finite))
        std = float(np.std(finite, ddof=1)) if len(finite) > 1 else math.nan
        quantiles = np.quantile(finite, QUANTILES)
    summary = NumericSummary(
        min=low,
        max=high,
        mean=_finite_or_none(mean),
        std=_finite_or_none(std),
        quantiles={
            str(q): _finite_or_none(float(v)) for q, v in zip(QUANTILES, quantiles, strict=True)
        },
        infinite=infinite,
    )
    edges = _edges(low, high, bins)
    counts = np.histogram(finite, bins=edges)[0].astype(np.int64)
    if infinite:  # the outer bins are open-ended
        negative = int(np.count_nonzero(values == -np.inf))
        counts[0] += negative
        counts[-1] += infinite - negative
    return summary, Histogram(edges=[float(e) for e in edges], counts=counts.tolist())


def _edges(low: float, high: float, bins: int) -> np.ndarray:
    """``bins`` equal-width bins from ``low`` to ``high`` (one bin ``[v, v]`` if they are equal)."""
    if low == high:
        return np.array([low, high])
    with np.errstate(all="ignore"):
        if np.isfinite(high - low):
            return np.linspace(low, high, bins + 1)
        # the span overflows float64: interpolate without forming it
        t = np.linspace(0.0, 1.0, bins + 1)
        edges = low * (1.0 - t) + high * t
    edges[0], edges[-1] = low, high
    return np.maximum.accumulate(edges)


def _category_counts(codes: np.ndarray, uniques: Any) -> tuple[np.ndarray, np.ndarray]:
    """Category names (``str``) and their counts, in order of first appearance."""
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    values = np.asarray(uniques, dtype=object)
    seen = counts > 0  # a pandas categorical lists categories that never occur
    values, counts = values[seen], counts[seen]
    if pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty"):
        return values, counts
    merged = pd.Series(counts, index=[str(value) for value in values])
    merged = merged.groupby(level=0, sort=False).sum()
    return np.asarray(merged.index, dtype=object), merged.to_numpy()


def _bucket(keys: np.ndarray, counts: np.ndarray, max_categories: int) -> tuple[dict, int]:
    """Counts by name, most frequent first; beyond ``max_categories``, the rest under OTHER."""
    order = np.argsort(-counts, kind="stable")
    if len(keys) <= max_categories:
        return {str(keys[i]): int(counts[i]) for i in order}, 0
    order = order[keys[order] != OTHER]  # a real "__other__" value joins the bucket
    top = order[:max_categories]
    categories = {str(keys[i]): int(counts[i]) for i in top}
    categories[OTHER] = int(counts.sum()) - sum(categories.values())
    return categories, len(keys) - len(top)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --- the frame --------------------------------------------------------------------------------


class _RowKeys:
    """One exact integer key per row, built column by column from the columns' value codes."""

    _LIMIT = 2**62

    def __init__(self, n_rows: int) -> None:
        self.keys = np.zeros(n_rows, dtype=np.int64)
        self.cardinality = 1

    def add(self, codes: np.ndarray, cardinality: int) -> None:
        size = cardinality + 1  # + missing
        if self.cardinality * size >= self._LIMIT:
            self.keys, uniques = pd.factorize(self.keys)
            self.cardinality = max(len(uniques), 1)
        self.keys = self.keys * size + (codes.astype(np.int64, copy=False) + 1)
        self.cardinality *= size

    def duplicates(self) -> int:
        return len(self.keys) - len(pd.unique(self.keys))


def _correlations(
    values: dict[str, np.ndarray], columns: dict[str, ColumnProfile]
) -> dict[str, dict[str, float | None]]:
    names = list(values)
    if not names:
        return {}
    block = np.empty((len(names), len(next(iter(values.values())))))
    for row, name in enumerate(names):
        block[row] = values[name]
    finite = np.isfinite(block)
    with np.errstate(all="ignore"):
        if finite.all() and block.shape[1] > 1:
            matrix = np.atleast_2d(np.corrcoef(block))
        else:
            block[~finite] = np.nan
            matrix = pd.DataFrame(block.T).corr().to_numpy()
    constant = [
        (column.numeric is None or column.numeric.min == column.numeric.max)
        for column in (columns[name] for name in names)
    ]
    matrix = np.clip(matrix, -1.0, 1.0)
    return {
        a: {
            b: None if constant[i] or constant[j] else _finite_or_none(float(matrix[i, j]))
            for j, b in enumerate(names)
        }
        for i, a in enumerate(names)
    }


def _target_balance(series: pd.Series, column: ColumnProfile) -> dict[str, float] | None:
    if column.count == 0:
        return {}
    if column.categories is not None:
        return {key: n / column.count for key, n in column.categories.items()}
    if column.kind != "numeric" or column.distinct > MAX_TARGET_CLASSES:
        return None
    counts = series.dropna().value_counts(sort=True)
    return {_class_name(value): int(n) / column.count for value, n in counts.items()}


def _class_name(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(value)


# --- from plain data --------------------------------------------------------------------------


def _column_to_dict(column: ColumnProfile) -> dict[str, Any]:
    numeric, histogram = column.numeric, column.histogram
    return {
        "name": column.name,
        "kind": column.kind,
        "dtype": column.dtype,
        "count": column.count,
        "missing": column.missing,
        "distinct": column.distinct,
        "numeric": None
        if numeric is None
        else {
            "min": numeric.min,
            "max": numeric.max,
            "mean": numeric.mean,
            "std": numeric.std,
            "quantiles": dict(numeric.quantiles),
            "infinite": numeric.infinite,
        },
        "histogram": None
        if histogram is None
        else {"edges": list(histogram.edges), "counts": list(histogram.counts)},
        "categories": None if column.categories is None else dict(column.categories),
        "other_categories": column.other_categories,
    }


def _column_from_dict(data: dict[str, Any]) -> ColumnProfile:
    if data["kind"] not in KINDS:
        raise ValueError(f"unknown kind {data['kind']!r}")
    numeric, histogram, categories = data["numeric"], data["histogram"], data["categories"]
    return ColumnProfile(
        name=str(data["name"]),
        kind=data["kind"],
        dtype=str(data["dtype"]),
        count=int(data["count"]),
        missing=int(data["missing"]),
        distinct=int(data["distinct"]),
        numeric=None
        if numeric is None
        else NumericSummary(
            min=float(numeric["min"]),
            max=float(numeric["max"]),
            mean=_float(numeric["mean"]),
            std=_float(numeric["std"]),
            quantiles={str(q): _float(v) for q, v in numeric["quantiles"].items()},
            infinite=int(numeric.get("infinite", 0)),
        ),
        histogram=None
        if histogram is None
        else Histogram(
            edges=[float(e) for e in histogram["edges"]],
            counts=[int(c) for c in histogram["counts"]],
        ),
        categories=None if categories is None else {str(k): int(v) for k, v in categories.items()},
        other_categories=int(data.get("other_categories", 0)),
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
