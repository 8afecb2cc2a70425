"""The cases the main job can run: which data, which contract, which model, which gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from iml4e.errors import BadInput
from iml4e.registry import Threshold


@dataclass(frozen=True)
class DemoCase:
    """Everything about one case that the main job's stages need to know."""

    name: str
    title: str
    dataset_name: str
    model_name: str
    target: str
    numeric_features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    estimator: str
    gate: tuple[Threshold, ...]
    source: Callable[[int, int, float], str]
    """(rows, seed, drift) → the connector source of the training data (fixed data ignores
    them; ``drift`` stands for newer data whose distribution has moved)."""
    traffic: Callable[[int, int, float], pd.DataFrame]
    """(rows, seed, drift) → labelled rows to send to the server."""
    contract: Callable[..., Any]
    """(evolved=False) → the data contract; ``evolved`` is the one agreed after drift."""


def _credit() -> DemoCase:
    from iml4e.data.contracts import credit_application_schema
    from iml4e.data.synthetic import (
        CATEGORICAL_FEATURES,
        NUMERIC_FEATURES,
        TARGET,
        credit_applications,
    )

    return DemoCase(
        name="credit",
        title="credit default (synthetic applications)",
        dataset_name="credit-applications",
        model_name="credit-default",
        target=TARGET,
        numeric_features=tuple(NUMERIC_FEATURES),
        categorical_features=tuple(CATEGORICAL_FEATURES),
        estimator="hist_gradient_boosting",
        gate=(Threshold("roc_auc", ">=", 0.75), Threshold("accuracy", ">=", 0.70)),
        source=lambda rows, seed, drift: (
            f"builtin:credit?rows={rows}&seed={seed}" + (f"&drift={drift}" if drift else "")
        ),
        traffic=lambda rows, seed, drift: credit_applications(rows, seed=seed, drift=drift),
        contract=lambda evolved=False: credit_application_schema(evolved=evolved),
    )


def _wine() -> DemoCase:
    from iml4e.data.bundled import TARGET_COLUMN, WINE_FEATURES, wine
    from iml4e.data.contracts import wine_schema
    from iml4e.data.resample import resample_with_drift

    return DemoCase(
        name="wine",
        title="wine cultivar (scikit-learn's bundled UCI wine data)",
        dataset_name="wine",
        model_name="wine-classifier",
        target=TARGET_COLUMN,
        numeric_features=WINE_FEATURES,
        categorical_features=(),
        estimator="logistic_regression",
        gate=(Threshold("accuracy", ">=", 0.85), Threshold("roc_auc", ">=", 0.90)),
        source=lambda _rows, _seed, _drift: "builtin:wine",
        traffic=lambda rows, seed, drift: resample_with_drift(
            wine(), rows, seed=seed, drift=drift, exclude=[TARGET_COLUMN]
        ),
        contract=lambda evolved=False: wine_schema(),
    )


CASES: dict[str, Callable[[], DemoCase]] = {"credit": _credit, "wine": _wine}


def demo_case(name: str) -> DemoCase:
    """The case called ``name`` (``credit`` or ``wine``)."""
    if name not in CASES:
        raise BadInput(f"unknown case (known: {', '.join(CASES)})", where=f"case {name!r}")
    return CASES[name]()
