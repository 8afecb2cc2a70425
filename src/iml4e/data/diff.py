"""What changed between two versions of a dataset: its columns, and each column's distribution.

Numeric columns are compared with the population stability index (PSI) over ten quantile bins
of the older version (per value for columns with at most 20 distinct values, such as labels)
and the two-sample Kolmogorov-Smirnov statistic; categorical columns with
PSI over their categories, listing categories that appeared or vanished. PSI above 0.2 is
the usual rule of thumb for a shift worth a look (``psi_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from iml4e.data.catalog import DatasetVersionInfo, get_dataset_version, read_dataset_version
from iml4e.store import Store

DEFAULT_PSI_THRESHOLD = 0.2
QUANTILE_BINS = 10
DISCRETE_MAX_VALUES = 20
_EPSILON = 1e-4


@dataclass(frozen=True)
class ColumnChange:
    """A column added, removed, or whose dtype changed."""

    column: str
    change: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ColumnShift:
    """How one column's distribution moved from the older to the newer version."""

    column: str
    kind: str
    psi: float
    ks: float | None
    missing_before: float
    missing_after: float
    new_categories: tuple[str, ...] = ()
    vanished_categories: tuple[str, ...] = ()
    shifted: bool = False


@dataclass(frozen=True)
class DatasetDiff:
    """The difference between versions ``before`` and ``after`` of dataset ``name``."""

    name: str
    before: int
    after: int
    same_content: bool
    rows_before: int
    rows_after: int
    schema_changes: list[ColumnChange] = field(default_factory=list)
    shifts: list[ColumnShift] = field(default_factory=list)
    compared_data: bool = True


def diff_dataset_versions(
    before: DatasetVersionInfo,
    after: DatasetVersionInfo,
    *,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
) -> DatasetDiff:
    """Compare two versions; distributions are compared when both have data snapshots."""
    changes = _schema_changes(before.columns, after.columns)
    diff = DatasetDiff(
        name=after.name,
        before=before.version,
        after=after.version,
        same_content=before.content_hash == after.content_hash,
        rows_before=before.n_rows,
        rows_after=after.n_rows,
        schema_changes=changes,
        compared_data=before.snapshot_uri is not None and after.snapshot_uri is not None,
    )
    if not diff.compared_data or diff.same_content:
        return diff
    old, new = read_dataset_version(before), read_dataset_version(after)
    common = [c for c in old.columns if c in new.columns]
    diff.shifts.extend(column_shift(old[c], new[c], psi_threshold=psi_threshold) for c in common)
    return diff


def diff_catalog_versions(
    store: Store,
    name: str,
    before: int,
    after: int,
    *,
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
) -> DatasetDiff:
    """Compare versions ``before`` and ``after`` of the catalog's dataset ``name``.

    Raises :class:`~iml4e.data.errors.DatasetNotFound` for an unknown dataset or version and
    :class:`~iml4e.data.errors.InvalidArgument` for a bad name or version number.
    """
    return diff_dataset_versions(
        get_dataset_version(store, name, before),
        get_dataset_version(store, name, after),
        psi_threshold=psi_threshold,
    )


def column_shift(
    before: pd.Series, after: pd.Series, *, psi_threshold: float = DEFAULT_PSI_THRESHOLD
) -> ColumnShift:
    """The shift of one column between two samples."""
    missing_before, missing_after = float(before.isna().mean()), float(after.isna().mean())
    old, new = before.dropna(), after.dropna()
    numeric = (
        pd.api.types.is_numeric_dtype(before)
        and pd.api.types.is_numeric_dtype(after)
        and not pd.api.types.is_bool_dtype(before)
    )
    discrete = numeric and old.nunique() <= DISCRETE_MAX_VALUES
    if numeric and not discrete and len(old) and len(new):
        psi, ks = _numeric_psi(old.to_numpy(float), new.to_numpy(float)), _ks(old, new)
        return ColumnShift(
            str(before.name),
            "numeric",
            psi,
            ks,
            missing_before,
            missing_after,
            shifted=psi > psi_threshold,
        )
    if discrete:  # few values (labels, counts): PSI per value; quantile bins would merge them
        old_share = old.value_counts(normalize=True)
        new_share = new.value_counts(normalize=True)
        categories = old_share.index.union(new_share.index)
        psi = _psi(
            old_share.reindex(categories, fill_value=0).to_numpy(),
            new_share.reindex(categories, fill_value=0).to_numpy(),
        )
        return ColumnShift(
            str(before.name),
            "numeric",
            psi,
            _ks(old, new) if len(new) else None,
            missing_before,
            missing_after,
            shifted=psi > psi_threshold,
        )
    old_share = old.astype(str).value_counts(normalize=True)
    new_share = new.astype(str).value_counts(normalize=True)
    categories = old_share.index.union(new_share.index)
    psi = _psi(
        old_share.reindex(categories, fill_value=0).to_numpy(),
        new_share.reindex(categories, fill_value=0).to_numpy(),
    )
    appeared = tuple(sorted(set(new_share.index) - set(old_share.index)))
    vanished = tuple(sorted(set(old_share.index) - set(new_share.index)))
    return ColumnShift(
        str(before.name),
        "categorical",
        psi,
        None,
        missing_before,
        missing_after,
        appeared,
        vanished,
        shifted=psi > psi_threshold or bool(appeared),
    )


def _schema_changes(before: dict[str, str], after: dict[str, str]) -> list[ColumnChange]:
    changes = [ColumnChange(c, "removed", before[c], None) for c in before if c not in after]
    changes += [ColumnChange(c, "added", None, after[c]) for c in after if c not in before]
    changes += [
        ColumnChange(c, "dtype", before[c], after[c])
        for c in before
        if c in after and before[c] != after[c]
    ]
    return changes


def _numeric_psi(old: np.ndarray, new: np.ndarray) -> float:
    edges = np.unique(np.quantile(old, np.linspace(0, 1, QUANTILE_BINS + 1)))
    if len(edges) < 2:  # a constant column: one bin for the value, one for anything else
        same_old = np.mean(old == edges[0])
        same_new = np.mean(new == edges[0])
        return _psi(np.array([same_old, 1 - same_old]), np.array([same_new, 1 - same_new]))
    edges[0], edges[-1] = -np.inf, np.inf
    old_counts = np.histogram(old, bins=edges)[0] / len(old)
    new_counts = np.histogram(new, bins=edges)[0] / len(new)
    return _psi(old_counts, new_counts)


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.clip(expected, _EPSILON, None)
    actual = np.clip(actual, _EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _ks(old: pd.Series, new: pd.Series) -> float:
    from scipy.stats import ks_2samp

    return float(ks_2samp(old.to_numpy(float), new.to_numpy(float)).statistic)
