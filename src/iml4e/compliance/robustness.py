"""Robustness measures: how much a model's accuracy falls when its inputs are slightly wrong.

Art. 15(4) of the EU AI Act asks high-risk systems to be resilient to errors and
inconsistencies in their inputs. This module measures that the plain way: perturb the
evaluation features the way real data goes wrong (measurement noise on numbers, mis-entered
categories) and compare accuracy before and after. Deterministic for a seed, so the number in
a document can be reproduced.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from iml4e.compliance.errors import ComplianceError


@dataclass(frozen=True)
class RobustnessResult:
    """Accuracy on the clean and the perturbed features; ``accuracy_drop`` may be negative."""

    n_rows: int
    clean_accuracy: float
    perturbed_accuracy: float
    accuracy_drop: float
    noise_scale: float
    flip_rate: float
    perturbations: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        data = asdict(self)
        data["perturbations"] = list(self.perturbations)
        return data


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _add_noise(series: pd.Series, noise_scale: float, rng: np.random.Generator) -> pd.Series:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    spread = np.nanstd(values, ddof=1) if np.count_nonzero(~np.isnan(values)) > 1 else 0.0
    noisy = values + rng.normal(0.0, 1.0, size=len(values)) * noise_scale * spread
    if pd.api.types.is_integer_dtype(series):
        noisy = np.round(noisy)
    return pd.Series(noisy, index=series.index, name=series.name).astype(series.dtype)


def _swap_values(series: pd.Series, flip_rate: float, rng: np.random.Generator) -> pd.Series:
    codes, uniques = pd.factorize(series)  # missing values get code -1
    present = np.flatnonzero(codes >= 0)
    n_swaps = round(flip_rate * len(present))
    if len(uniques) < 2 or n_swaps == 0:
        return series.copy()
    rows = rng.choice(present, size=n_swaps, replace=False)
    # adding 1..k-1 modulo k picks, uniformly, one of the other observed values
    codes[rows] = (codes[rows] + rng.integers(1, len(uniques), size=n_swaps)) % len(uniques)
    swapped = series.copy()
    swapped.iloc[rows] = uniques.take(codes[rows])
    return swapped


def perturb(
    features: pd.DataFrame, *, noise_scale: float = 0.1, flip_rate: float = 0.05, seed: int = 0
) -> tuple[pd.DataFrame, list[str]]:
    """A perturbed copy of ``features`` and a description of what was done to each column.

    Numeric columns get Gaussian noise with a standard deviation of ``noise_scale`` times the
    column's own; integer columns stay integer (rounded) and missing values stay missing.
    Other columns have ``flip_rate`` of their non-missing rows replaced by another value seen
    in the same column.
    """
    if noise_scale < 0:
        raise ComplianceError(f"must be 0 or more; got {noise_scale}", where="noise_scale")
    if not 0 <= flip_rate <= 1:
        raise ComplianceError(f"must be between 0 and 1; got {flip_rate}", where="flip_rate")
    rng = np.random.default_rng(seed)
    perturbed = features.copy()
    described: list[str] = []
    for column in features.columns:
        series = features[column]
        if _is_number(series):
            perturbed[column] = _add_noise(series, noise_scale, rng)
            described.append(f"{column}: gaussian noise, sd {noise_scale:g} x column sd")
        else:
            perturbed[column] = _swap_values(series, flip_rate, rng)
            described.append(f"{column}: {flip_rate * 100:g}% of values swapped")
    return perturbed, described


def _accuracy(model: Any, features: pd.DataFrame, truth: np.ndarray) -> float:
    predicted = np.asarray(model.predict(features))
    if predicted.ndim == 2 and predicted.shape[1] == 1:
        predicted = predicted.ravel()
    if predicted.shape != truth.shape:
        raise ComplianceError(
            f"the model gave {predicted.shape[0]} predictions for {len(truth)} rows",
            where="model",
        )
    return float(np.mean(predicted == truth))


def robustness_report(
    model: Any,
    features: pd.DataFrame,
    y_true: pd.Series,
    *,
    noise_scale: float = 0.1,
    flip_rate: float = 0.05,
    seed: int = 0,
) -> RobustnessResult:
    """Accuracy of ``model`` on ``features`` before and after :func:`perturb`.

    ``model`` is anything with ``predict(DataFrame)``: an sklearn estimator or pipeline, or an
    MLflow pyfunc model.
    """
    if len(features) == 0:
        raise ComplianceError("no rows to measure robustness on", where="features")
    if len(features) != len(y_true):
        raise ComplianceError(
            f"{len(y_true)} labels for {len(features)} rows; they must be row for row",
            where="y_true",
        )
    truth = np.asarray(y_true)
    perturbed, described = perturb(
        features, noise_scale=noise_scale, flip_rate=flip_rate, seed=seed
    )
    clean = _accuracy(model, features, truth)
    noisy = _accuracy(model, perturbed, truth)
    return RobustnessResult(
        n_rows=len(features),
        clean_accuracy=clean,
        perturbed_accuracy=noisy,
        accuracy_drop=clean - noisy,
        noise_scale=noise_scale,
        flip_rate=flip_rate,
        perturbations=tuple(described),
    )
