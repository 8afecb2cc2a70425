"""A deterministic synthetic credit-application dataset, with controllable drift.

The demo needs a tabular problem with a realistic label, a protected attribute for fairness
checks, and a way to make production data drift away from the training data. Everything is
drawn with vectorised numpy from one ``numpy.random.default_rng(seed)`` stream, in a fixed order,
so the same ``(n_rows, seed, drift)`` always gives the identical frame, and frames that differ
only in ``drift`` share their random draws (row *i* is "the same applicant", shifted).
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import pandas as pd

from iml4e.data.arguments import check_drift, check_whole
from iml4e.data.errors import InvalidArgument

TARGET = "default"
NUMERIC_FEATURES = [
    "age",
    "income",
    "employment_years",
    "debt_ratio",
    "loan_amount",
    "loan_duration_months",
    "n_open_credits",
]
CATEGORICAL_FEATURES = ["purpose", "housing", "sex"]
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

PURPOSES = ["car", "education", "home_improvement", "business", "debt_consolidation", "other"]
DRIFT_ONLY_PURPOSE = "crypto"
HOUSING = ["own", "rent", "mortgage", "free"]
SEXES = ["female", "male"]
LOAN_DURATIONS_MONTHS = [6, 12, 18, 24, 36, 48, 60, 72]
MAX_DEBT_RATIO = 1.5
MIN_LOAN_AMOUNT = 500.0
MIN_WORKING_AGE = 16
COLUMNS_WITH_MISSING_VALUES = ["income", "employment_years", "debt_ratio"]
MAX_MISSING_SHARE = 0.10
CRYPTO_FROM_DRIFT = 0.5

_DURATION_P = [0.05, 0.15, 0.10, 0.20, 0.20, 0.12, 0.10, 0.08]
_PURPOSE_P_REFERENCE = [0.25, 0.10, 0.15, 0.10, 0.30, 0.10]
_PURPOSE_P_DRIFTED = [0.15, 0.10, 0.10, 0.25, 0.20, 0.20]
_HOUSING_P_REFERENCE = [0.30, 0.35, 0.30, 0.05]
_HOUSING_P_DRIFTED = [0.15, 0.55, 0.25, 0.05]
_FEMALE_P = 0.48

# The latent default model: log-odds contributions, chosen so the reference base rate is ~22%
# and a good model reaches a ROC AUC of about 0.8 (the latent noise keeps it from being higher).
_INTERCEPT = -0.85
_DEBT_RATIO_COEF = 3.0
_LOAN_TO_INCOME_COEF = 1.1
_EMPLOYMENT_COEF = -0.17
_EMPLOYMENT_CAP_YEARS = 10.0
_AGE_COEF = -0.04
_OPEN_CREDITS_COEF = 0.2
_DURATION_COEF = 0.014
_PURPOSE_EFFECT = {
    "car": 0.0,
    "education": 0.4,
    "home_improvement": -0.3,
    "business": 0.85,
    "debt_consolidation": 0.4,
    "other": 0.55,
    DRIFT_ONLY_PURPOSE: 1.5,
}
_HOUSING_EFFECT = {"own": -0.4, "rent": 0.3, "mortgage": -0.15, "free": 0.0}
_LATENT_NOISE_SD = 0.5


def credit_applications(n_rows: int, *, seed: int = 0, drift: float = 0.0) -> pd.DataFrame:
    """Generate ``n_rows`` synthetic credit applications with a ``default`` label.

    Columns (in this order) and their reference distribution (``drift=0``):

    - ``age`` (int64, 18-80): normal around 42, sd 12.
    - ``income`` (float64, yearly, > 0): lognormal around 36k, rising with age up to 55, and
      about 8% lower for women (a realistic gap that makes ``sex`` a proxy through income).
    - ``employment_years`` (float64, 0 … ``age - 16``): a beta-distributed share of working life.
    - ``debt_ratio`` (float64, 0-1.5): ``1.5 * Beta(2, 5)``, mean about 0.43.
    - ``loan_amount`` (float64, ≥ 500, multiples of 50): lognormal, larger for larger incomes.
    - ``loan_duration_months`` (int64): one of 6, 12, 18, 24, 36, 48, 60, 72.
    - ``n_open_credits`` (int64, ≥ 0): Poisson, more for higher debt ratios.
    - ``purpose`` (str): car, education, home_improvement, business, debt_consolidation, other.
    - ``housing`` (str): own, rent, mortgage, free.
    - ``sex`` (str): female, male.
    - ``default`` (int64, 0/1): drawn from a latent logistic model — higher risk for high debt
      ratio, a large loan relative to income, short employment, young age, many open credits,
      long durations, renting, and business/other/education/debt-consolidation purposes — plus
      Gaussian noise in the log-odds. The reference base rate is about 22%, and a held-out
      ROC AUC of roughly 0.8 is reachable. ``sex`` does not enter the label model.

    ``drift`` in [0, 1] moves the applicant population away from the reference, linearly:

    - applicants get younger (mean age 42 → 34 at ``drift=1``);
    - incomes fall (log-income -0.25, about -22%);
    - debt ratios rise (``1.5 · Beta(2 + 1.5·drift, 5)``: mean 0.43 → 0.62);
    - loan amounts rise (log-amount +0.3 at equal income; the mean rises ~15% despite the
      lower incomes);
    - the purpose mix moves towards business and other, the housing mix towards rent;
    - for ``drift > 0``, values go missing (NaN) in ``income``, ``employment_years`` and
      ``debt_ratio``, each independently with probability ``0.1 · drift``;
    - for ``drift >= 0.5``, an unseen purpose ``"crypto"`` (the riskiest) appears in a share
      ``0.1 · drift`` of rows.

    The label model is the same at every drift (covariate shift, not concept shift), so the
    default rate rises with drift (about 37% at 0.5 and 53% at 1). Labels are drawn before
    values are blanked out.

    Raises :class:`~iml4e.data.errors.InvalidArgument` (a ``BadInput``) for a negative or
    non-integer ``n_rows`` or ``seed``, or a ``drift`` outside [0, 1].
    """
    n = _check_count(n_rows)
    drift = check_drift(drift)
    rng = np.random.default_rng(check_whole("seed", seed, minimum=0))

    age = np.clip(np.rint(rng.normal(42.0 - 8.0 * drift, 12.0, n)), 18, 80).astype(np.int64)
    is_female = rng.random(n) < _FEMALE_P
    log_income = (
        10.5
        + 0.012 * (np.minimum(age, 55) - 40)
        - 0.08 * is_female
        - 0.25 * drift
        + rng.normal(0.0, 0.45, n)
    )
    income = np.round(np.exp(log_income), -1)
    working_years = (age - MIN_WORKING_AGE) * rng.beta(2.0, 2.5, n)
    employment_years = np.floor(working_years * 10.0) / 10.0
    debt_ratio = np.round(MAX_DEBT_RATIO * rng.beta(2.0 + 1.5 * drift, 5.0, n), 3)
    log_loan = math.log(8000.0) + 0.5 * (log_income - 10.5) + 0.3 * drift + rng.normal(0, 0.6, n)
    loan_amount = np.maximum(np.round(np.exp(log_loan) / 50.0) * 50.0, MIN_LOAN_AMOUNT)
    durations = np.array(LOAN_DURATIONS_MONTHS, dtype=np.int64)
    loan_duration_months = durations[_draw_codes(rng, _DURATION_P, n)]
    n_open_credits = rng.poisson(1.5 + 1.5 * debt_ratio).astype(np.int64)

    purposes = [*PURPOSES, DRIFT_ONLY_PURPOSE]
    purpose_p = _mix(_PURPOSE_P_REFERENCE, _PURPOSE_P_DRIFTED, drift)
    crypto_share = 0.1 * drift if drift >= CRYPTO_FROM_DRIFT else 0.0
    purpose_p = [p * (1.0 - crypto_share) for p in purpose_p] + [crypto_share]
    purpose_codes = _draw_codes(rng, purpose_p, n)
    housing_codes = _draw_codes(rng, _mix(_HOUSING_P_REFERENCE, _HOUSING_P_DRIFTED, drift), n)

    log_odds = (
        _INTERCEPT
        + _DEBT_RATIO_COEF * (debt_ratio - 0.43)
        + _LOAN_TO_INCOME_COEF * (np.log(loan_amount / income) + 1.6)
        + _EMPLOYMENT_COEF * np.minimum(employment_years, _EMPLOYMENT_CAP_YEARS)
        + _AGE_COEF * (age - 40)
        + _OPEN_CREDITS_COEF * (n_open_credits - 2)
        + _DURATION_COEF * (loan_duration_months - 30)
        + np.array([_PURPOSE_EFFECT[p] for p in purposes])[purpose_codes]
        + np.array([_HOUSING_EFFECT[h] for h in HOUSING])[housing_codes]
        + rng.normal(0.0, _LATENT_NOISE_SD, n)
    )
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-log_odds))).astype(np.int64)

    # Always drawn, so the stream (and every column above) is the same at every drift.
    missing = rng.random((n, len(COLUMNS_WITH_MISSING_VALUES))) < MAX_MISSING_SHARE * drift
    gappy = {"income": income, "employment_years": employment_years, "debt_ratio": debt_ratio}
    for position, column in enumerate(COLUMNS_WITH_MISSING_VALUES):
        gappy[column] = np.where(missing[:, position], np.nan, gappy[column])

    return pd.DataFrame(
        {
            "age": age,
            "income": gappy["income"],
            "employment_years": gappy["employment_years"],
            "debt_ratio": gappy["debt_ratio"],
            "loan_amount": loan_amount,
            "loan_duration_months": loan_duration_months,
            "n_open_credits": n_open_credits,
            "purpose": np.array(purposes, dtype=object)[purpose_codes],
            "housing": np.array(HOUSING, dtype=object)[housing_codes],
            "sex": np.where(is_female, SEXES[0], SEXES[1]).astype(object),
            TARGET: default,
        }
    )


def _draw_codes(rng: np.random.Generator, p: list[float], n: int) -> np.ndarray:
    """Category codes drawn with probabilities ``p``, using exactly ``n`` uniforms."""
    cumulative = np.cumsum(p)
    codes = np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right")
    return np.minimum(codes, len(p) - 1)


def _mix(reference: list[float], drifted: list[float], drift: float) -> list[float]:
    return [(1.0 - drift) * r + drift * d for r, d in zip(reference, drifted, strict=True)]


def _check_count(n_rows: int) -> int:
    if isinstance(n_rows, bool) or not isinstance(n_rows, Integral) or n_rows < 0:
        raise InvalidArgument(f"must be a whole number >= 0, got {n_rows!r}", where="n_rows")
    return int(n_rows)
