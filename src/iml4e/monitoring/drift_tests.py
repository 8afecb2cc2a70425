"""The drift statistics: plain functions over a stored reference and the current values.

Numeric tests take the reference as a sorted sample and the current values sorted (numpy sorts
a million floats in a few milliseconds); categorical tests take the reference shares and the
current counts of the same buckets. Each agrees with scipy's implementation on the same data:

- :func:`ks_test` — ``scipy.stats.ks_2samp(reference, current, method="asymp")``: the
  statistic is identical, the p-value is Smirnov's asymptotic two-sided one
  (``scipy.stats.kstwo.sf(D, round(n·m/(n+m)))``).
- :func:`wasserstein_normed` — ``scipy.stats.wasserstein_distance(reference, current)``
  divided by ``max(reference std, 0.001)`` (Evidently's ``wasserstein`` stat test).
- :func:`chi_squared_test` — ``scipy.stats.chisquare(current_counts, reference_shares · n)``.
- :func:`jensen_shannon_distance` — ``scipy.spatial.distance.jensenshannon(reference_shares,
  current_shares)`` with the natural logarithm (scipy's default and Evidently's, so its 0.1
  threshold means the same); the distance lies in [0, sqrt(ln 2) ≈ 0.833].
- :func:`population_stability_index` — ``sum((cur - ref) · ln(cur / ref))`` over the buckets,
  shares of 0 replaced by :data:`PSI_EPSILON` (1e-4, as Evidently) so empty buckets stay finite.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial import distance

PSI_EPSILON = 1e-4
MIN_STD = 0.001


def distinct_values(
    reference_sorted: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The distinct values ``u`` of a sorted sample with ``F(u-)`` and ``F(u)`` at each."""
    n = len(reference_sorted)
    first = np.flatnonzero(np.diff(reference_sorted, prepend=-np.inf))
    return reference_sorted[first], first / n, np.append(first[1:], n) / n


def ks_test(
    reference_sorted: NDArray[np.float64], current_sorted: NDArray[np.float64]
) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and asymptotic two-sided p-value.

    Between two consecutive distinct reference values ``u_j < u_{j+1}`` the reference CDF is
    constant and the current CDF is non-decreasing, so ``|F_ref - F_cur|`` is largest at one end
    of the interval: at ``u_j`` itself or just before ``u_{j+1}`` (the left limit). Below the
    first and above the last reference value the same holds. The supremum is therefore the
    largest of ``|F_ref(u) - F_cur(u)|`` and ``|F_ref(u-) - F_cur(u-)|`` over the distinct
    reference values ``u``: the current values only need counting below and at each ``u``.
    """
    n, m = len(reference_sorted), len(current_sorted)
    distinct, ref_below, ref_at = distinct_values(reference_sorted)
    cur_below = np.searchsorted(current_sorted, distinct, side="left") / m
    cur_at = np.searchsorted(current_sorted, distinct, side="right") / m
    statistic = float(max(np.abs(ref_at - cur_at).max(), np.abs(ref_below - cur_below).max()))
    larger, smaller = max(n, m), min(n, m)
    # scipy's size; one value against one rounds to 0, where scipy has no p-value: use 1
    effective = max(np.round(float(larger) * smaller / (larger + smaller)), 1.0)
    p_value = float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))
    return statistic, p_value


def wasserstein_distance(
    reference_sorted: NDArray[np.float64], current_sorted: NDArray[np.float64]
) -> float:
    """Wasserstein-1 distance between the two empirical distributions: ``integral |F_ref - F_cur|``.

    The reference CDF is a constant ``a`` between consecutive distinct reference values
    ``s < t``; the current CDF is non-decreasing, so ``F_cur - a`` changes sign once, at the
    ``ceil(a·m)``-th smallest current value ``z`` (clipped into ``[s, t]``). With
    ``H(x) = integral of F_cur up to x = (k·x - sum of the k current values <= x) / m``
    (prefix sums of the sorted current values), the interval contributes
    ``a(z - s) - (H(z) - H(s)) + (H(t) - H(z)) - a(t - z)``. The work on the current column is
    one cumulative sum and a binary search per reference value; values are centred on the
    current median first so the prefix sums stay small.
    """
    n, m = len(reference_sorted), len(current_sorted)
    centre = current_sorted[m // 2]
    current = current_sorted - centre
    first = np.flatnonzero(np.diff(reference_sorted, prepend=-np.inf))
    distinct = reference_sorted[first] - centre
    at_or_below = np.append(first[1:], n)  # reference values <= each distinct value
    prefix = np.empty(m + 1)
    prefix[0] = 0.0
    np.cumsum(current, out=prefix[1:])

    def integral_of_f_current(x: NDArray[np.float64]) -> NDArray[np.float64]:
        k = np.searchsorted(current, x, side="right")
        return (k * x - prefix[k]) / m

    h_at = integral_of_f_current(distinct)
    last = distinct[-1]
    k_last = int(np.searchsorted(current, last, side="right"))
    above_last = ((prefix[m] - prefix[k_last]) - (m - k_last) * last) / m
    start, end = distinct[:-1], distinct[1:]
    counts = at_or_below[:-1]
    level = counts / n
    crossing = -((-counts * m) // n)  # ceil(level * m), in integers
    z = np.clip(current[np.maximum(crossing - 1, 0)], start, end)
    h_z = integral_of_f_current(z)
    middle = level * (z - start) - (h_z - h_at[:-1]) + (h_at[1:] - h_z) - level * (end - z)
    return float(h_at[0] + middle.sum() + above_last)


def wasserstein_normed(
    reference_sorted: NDArray[np.float64], current_sorted: NDArray[np.float64], std: float
) -> float:
    """Wasserstein-1 distance in units of the reference standard deviation (at least 0.001)."""
    return wasserstein_distance(reference_sorted, current_sorted) / max(std, MIN_STD)


def bin_counts(
    bin_edges: NDArray[np.float64], current_sorted: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Current values per reference bin (``edges[i] <= x < edges[i + 1]``)."""
    inner = bin_edges[1:-1]
    cuts = np.concatenate(
        ([0], np.searchsorted(current_sorted, inner, side="left"), [len(current_sorted)])
    )
    return np.diff(cuts).astype(np.int64)


def population_stability_index(
    reference_shares: NDArray[np.float64], current_counts: NDArray[np.int64]
) -> float:
    """PSI of the current counts against the reference shares of the same buckets."""
    reference = np.where(reference_shares == 0, PSI_EPSILON, reference_shares)
    current = current_counts / current_counts.sum()
    current = np.where(current == 0, PSI_EPSILON, current)
    return float(np.sum((current - reference) * np.log(current / reference)))


def chi_squared_test(
    reference_shares: NDArray[np.float64], current_counts: NDArray[np.int64]
) -> tuple[float, float]:
    """Pearson's chi-squared of the current counts against ``reference_shares · n``.

    A bucket with observations and a reference share of 0 (a category never seen in the
    reference) makes the statistic +inf and the p-value 0. With a single bucket there is
    nothing to test: statistic 0, p-value 1.
    """
    total = current_counts.sum()
    expected = reference_shares * total
    observed = current_counts.astype(np.float64)
    if np.any((expected == 0) & (observed > 0)):
        return float("inf"), 0.0
    used = expected > 0
    if used.sum() < 2:
        return 0.0, 1.0
    statistic = float(np.sum((observed[used] - expected[used]) ** 2 / expected[used]))
    return statistic, float(stats.chi2.sf(statistic, int(used.sum()) - 1))


def jensen_shannon_distance(
    reference_shares: NDArray[np.float64], current_counts: NDArray[np.int64]
) -> float:
    """Jensen-Shannon distance (natural logarithm) of the two distributions over the buckets."""
    current = current_counts / current_counts.sum()
    return float(distance.jensenshannon(reference_shares, current))
