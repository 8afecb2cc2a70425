"""Drift of live data against a stored reference: one test per column, a dataset verdict.

Which test a column gets (Evidently's defaults, and the same rule for a small window), unless
``tests`` names one:

- reference or current data with at most 1,000 non-missing values in the column:
  Kolmogorov-Smirnov (``ks``) for numeric columns, chi-squared (``chisquare``) for categorical
  ones; drift when the p-value is below the threshold (default 0.05). A distance between a
  few hundred live values and the reference is mostly sampling noise (100 undrifted rows
  give normed Wasserstein distances of 0.1-0.25), while a test's p-value accounts for it;
- both larger: normed Wasserstein (``wasserstein``) for numeric columns, Jensen-Shannon
  (``jensenshannon``) for categorical ones; drift when the statistic is at least the threshold
  (default 0.1);
- ``psi`` (either kind) on request: drift when the index is at least the threshold (default 0.1).

The dataset drifts when the share of drifted columns among the tested ones is at least
``drift_share_threshold``. Predictions go through the same machinery (key :data:`PREDICTION`
in ``tests``/``thresholds``) but do not count in the share.

Bad input does not stop the run: a column missing from the current data, one with no values,
one whose values are of another type than the reference's, or one with no reference values is
listed in ``skipped`` with the reason. An empty current frame (a window with no traffic) gives a
report in which every column is skipped with the reason ``no rows in the current data``, a drift
share of 0 and no dataset drift. Only a current frame sharing no column with the reference
raises :class:`ReferenceMismatch`.

Categorical values not seen in the reference are pooled into one bucket with a reference share
of 0 and listed per column in ``unseen_categories`` (at most :data:`MAX_UNSEEN_LISTED`). When the
reference pooled its rare categories into ``__other__``, any value outside the kept categories
goes into ``__other__`` instead and is not reported as unseen (it may have been seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from iml4e.errors import BadInput
from iml4e.monitoring import drift_tests
from iml4e.monitoring.current_values import bucket_counts, sorted_finite_values
from iml4e.monitoring.errors import MonitoringError, ReferenceMismatch
from iml4e.monitoring.reference import (
    PREDICTION,
    ColumnKind,
    ColumnReference,
    ReferenceProfile,
    as_series,
    value_type_of,
)

DriftTest = Literal["ks", "wasserstein", "psi", "chisquare", "jensenshannon"]

SMALL_REFERENCE = 1_000
PARALLEL_ROWS = 100_000
NUMERIC_TESTS: frozenset[str] = frozenset({"ks", "wasserstein", "psi"})
CATEGORICAL_TESTS: frozenset[str] = frozenset({"chisquare", "jensenshannon", "psi"})
P_VALUE_TESTS: frozenset[str] = frozenset({"ks", "chisquare"})
DEFAULT_THRESHOLDS: dict[str, float] = {
    "ks": 0.05,
    "chisquare": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
NO_ROWS = "no rows in the current data"


class DriftOptionsInvalid(BadInput, MonitoringError):
    """A test or threshold override that names an unknown test or does not fit the column."""


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict of one column.

    ``threshold`` is a p-value bound for ``ks``/``chisquare`` (drift when ``p_value`` is below
    it) and a statistic bound otherwise (drift when ``statistic`` reaches it).
    """

    column: str
    kind: ColumnKind
    test: DriftTest
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    unseen_categories: list[str]
    n_current: int
    missing_current: int


@dataclass(frozen=True)
class DriftReport:
    """Drift of every tested column, the dataset verdict and the prediction drift."""

    columns: list[ColumnDrift]
    drift_share: float
    dataset_drift: bool
    prediction: ColumnDrift | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    n_current: int = 0


def choose_test(column: ColumnReference, n_current: int | None = None) -> DriftTest:
    """The default test of a reference column against ``n_current`` live values (the rule in
    this module's docstring)."""
    small = column.n <= SMALL_REFERENCE or (n_current is not None and n_current <= SMALL_REFERENCE)
    if column.kind == "numeric":
        return "ks" if small else "wasserstein"
    return "chisquare" if small else "jensenshannon"


def detect_drift(
    reference: ReferenceProfile,
    current: pd.DataFrame,
    *,
    predictions: ArrayLike | pd.Series | None = None,
    tests: Mapping[str, DriftTest] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share_threshold: float = 0.5,
) -> DriftReport:
    """Compare ``current`` (and the model's ``predictions`` on it) with the ``reference``.

    ``tests`` and ``thresholds`` override the test and the threshold per column (key
    :data:`PREDICTION` for the predictions). Raises :class:`ReferenceMismatch` when ``current``
    shares no column with the reference and :class:`DriftOptionsInvalid` for an override naming
    an unknown column or test, or a test that does not fit the column's kind.
    """
    tests = dict(tests or {})
    thresholds = dict(thresholds or {})
    _check_overrides(reference, tests, thresholds)
    skipped: list[dict[str, str]] = []
    if len(current) == 0:
        skipped = [{"column": name, "reason": NO_ROWS} for name in reference.columns]
        if reference.prediction is not None:
            skipped.append({"column": PREDICTION, "reason": NO_ROWS})
        return DriftReport(columns=[], drift_share=0.0, dataset_drift=False, skipped=skipped)
    present = {str(name): name for name in current.columns}
    if not set(present) & set(reference.columns):
        raise ReferenceMismatch(
            f"the current data has none of the reference columns "
            f"({', '.join(sorted(reference.columns)[:10])})"
        )
    jobs = []
    for name, column in reference.columns.items():
        if name not in present:
            skipped.append({"column": name, "reason": "not in the current data"})
        elif isinstance(values := current[present[name]], pd.DataFrame):
            skipped.append({"column": name, "reason": "more than one current column by that name"})
        else:
            jobs.append((column, values, tests.get(name), thresholds.get(name)))
    results: list[ColumnDrift] = []
    for outcome, (column, *_) in zip(_run_jobs(jobs, len(current)), jobs, strict=True):
        if isinstance(outcome, str):
            skipped.append({"column": column.name, "reason": outcome})
        else:
            results.append(outcome)
    prediction = None
    if predictions is not None:
        outcome = _prediction_drift(
            reference, as_series(predictions), len(current), tests, thresholds
        )
        if isinstance(outcome, str):
            skipped.append({"column": PREDICTION, "reason": outcome})
        else:
            prediction = outcome
    share = sum(result.drifted for result in results) / len(results) if results else 0.0
    return DriftReport(
        columns=results,
        drift_share=share,
        dataset_drift=bool(results) and share >= drift_share_threshold,
        prediction=prediction,
        skipped=skipped,
        n_current=len(current),
    )


def column_drift(
    reference: ColumnReference,
    current: pd.Series,
    test: DriftTest | None = None,
    threshold: float | None = None,
) -> ColumnDrift | str:
    """Test one column; returns the reason instead when it cannot be tested."""
    if reference.n == 0:
        return "no values in the reference"
    try:
        value_type = value_type_of(current, reference.name)
    except ReferenceMismatch as exc:
        return exc.message
    if value_type != reference.value_type:
        return f"{value_type} values where the reference has {reference.value_type} values"
    test = test or choose_test(reference, int(current.notna().sum()))
    threshold = DEFAULT_THRESHOLDS[test] if threshold is None else threshold
    if reference.kind == "numeric":
        measured = _numeric_statistic(reference, current, test)
    else:
        measured = _categorical_statistic(reference, current, test)
    if isinstance(measured, str):
        return measured
    statistic, p_value, unseen, n_current = measured
    drifted = p_value < threshold if p_value is not None else statistic >= threshold
    return ColumnDrift(
        column=reference.name,
        kind=reference.kind,
        test=test,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=bool(drifted),
        unseen_categories=unseen,
        n_current=n_current,
        missing_current=len(current) - n_current,
    )


def _prediction_drift(
    reference: ReferenceProfile,
    predictions: pd.Series,
    rows: int,
    tests: Mapping[str, DriftTest],
    thresholds: Mapping[str, float],
) -> ColumnDrift | str:
    if reference.prediction is None:
        return "the reference has no predictions"
    if len(predictions) != rows:
        return f"{len(predictions)} predictions for {rows} rows"
    return column_drift(
        reference.prediction, predictions, tests.get(PREDICTION), thresholds.get(PREDICTION)
    )


_Job = tuple[ColumnReference, pd.Series, "DriftTest | None", "float | None"]


def _run_jobs(jobs: list[_Job], rows: int) -> list[ColumnDrift | str]:
    """Test the columns, numeric ones in a second thread when the window is large.

    numpy releases the GIL while it sorts and searches numbers, while counting text categories
    holds it; the two kinds of columns therefore overlap well on two cores.
    """
    numeric = [i for i, job in enumerate(jobs) if job[0].kind == "numeric"]
    others = [i for i, job in enumerate(jobs) if job[0].kind != "numeric"]
    outcomes: list[ColumnDrift | str] = [""] * len(jobs)
    if rows < PARALLEL_ROWS or not numeric or not others:
        return [column_drift(*job) for job in jobs]
    with ThreadPoolExecutor(max_workers=1) as pool:
        numeric_outcomes = pool.submit(lambda: [column_drift(*jobs[i]) for i in numeric])
        for i in others:
            outcomes[i] = column_drift(*jobs[i])
        for i, outcome in zip(numeric, numeric_outcomes.result(), strict=True):
            outcomes[i] = outcome
    return outcomes


_Measured = tuple[float, float | None, list[str], int]


def _numeric_statistic(
    reference: ColumnReference, current: pd.Series, test: DriftTest
) -> _Measured | str:
    values = sorted_finite_values(current)
    if len(values) == 0:
        return "all values missing"
    sample = cast(NDArray[np.float64], reference.sample)
    if test == "ks":
        statistic, p_value = drift_tests.ks_test(sample, values)
        return statistic, p_value, [], len(values)
    if test == "wasserstein":
        statistic = drift_tests.wasserstein_normed(sample, values, reference.std or 0.0)
        return statistic, None, [], len(values)
    counts = drift_tests.bin_counts(cast(NDArray[np.float64], reference.bin_edges), values)
    shares = cast(NDArray[np.float64], reference.bin_shares)
    return drift_tests.population_stability_index(shares, counts), None, [], len(values)


def _categorical_statistic(
    reference: ColumnReference, current: pd.Series, test: DriftTest
) -> _Measured | str:
    buckets = bucket_counts(reference, current)
    if buckets.total == 0:
        return "all values missing"
    counts = buckets.counts
    reference_shares = np.append(np.fromiter(reference.shares.values(), np.float64), 0.0)
    if counts[-1] == 0:  # no unseen bucket needed
        counts, reference_shares = counts[:-1], reference_shares[:-1]
    p_value: float | None = None
    if test == "chisquare":
        statistic, p_value = drift_tests.chi_squared_test(reference_shares, counts)
    elif test == "jensenshannon":
        statistic = drift_tests.jensen_shannon_distance(reference_shares, counts)
    else:
        statistic = drift_tests.population_stability_index(reference_shares, counts)
    return statistic, p_value, buckets.unseen, buckets.total


def _check_overrides(
    reference: ReferenceProfile, tests: dict[str, DriftTest], thresholds: dict[str, float]
) -> None:
    kinds = {name: column.kind for name, column in reference.columns.items()}
    if reference.prediction is not None:
        kinds[PREDICTION] = reference.prediction.kind
    for name in [*tests, *thresholds]:
        if name not in kinds:
            raise DriftOptionsInvalid("no such column in the reference", where=name)
    for name, test in tests.items():
        allowed = NUMERIC_TESTS if kinds[name] == "numeric" else CATEGORICAL_TESTS
        if test not in allowed:
            raise DriftOptionsInvalid(
                f"test {test!r} does not fit a {kinds[name]} column "
                f"(choose from {', '.join(sorted(allowed))})",
                where=name,
            )
    for name, threshold in thresholds.items():
        if not np.isfinite(threshold) or threshold < 0:
            raise DriftOptionsInvalid(f"threshold {threshold!r} is not a number >= 0", where=name)
