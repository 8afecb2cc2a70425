"""Log trained models to the active MLflow run in a safe, loadable format."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.models.model import ModelInfo

# MLflow 3 saves scikit-learn models with skops, which refuses types it does not trust.
# Preprocessing pipelines carry dtype objects (data, not code); gradient-boosting trees are
# trusted because the platform wrote the file itself in the same call.
TRUSTED_SKLEARN_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


# What a scikit-learn model needs to load elsewhere. Given explicitly, because MLflow would
# otherwise infer it by loading the model in a child process, which takes seconds per model.
SKLEARN_MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")


def pinned_requirements(packages: tuple[str, ...] = SKLEARN_MODEL_REQUIREMENTS) -> list[str]:
    """``package==version`` for each package as installed in this environment."""
    from importlib.metadata import version

    return [f"{package}=={version(package)}" for package in packages]


def log_sklearn_model(
    model: Any, features: pd.DataFrame, *, name: str = "model", example_rows: int = 3
) -> ModelInfo:
    """Log a fitted scikit-learn model with its signature and an input example.

    The signature is inferred from ``features`` and the model's predictions on them, so the
    model server can check every request's columns and types against it.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values; the outputs here are
        # class labels, and numeric inputs are passed as floats by the callers that need NaN.
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
        signature = infer_signature(features, model.predict(features))
    return mlflow.sklearn.log_model(
        model,
        name=name,
        signature=signature,
        input_example=features.head(example_rows),
        skops_trusted_types=TRUSTED_SKLEARN_TYPES,
        pip_requirements=pinned_requirements(),
    )
