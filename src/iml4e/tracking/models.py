"""Log trained models to the active MLflow run in a safe, loadable format."""

from __future__ import annotations

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


def log_sklearn_model(
    model: Any, features: pd.DataFrame, *, name: str = "model", example_rows: int = 3
) -> ModelInfo:
    """Log a fitted scikit-learn model with its signature and an input example.

    The signature is inferred from ``features`` and the model's predictions on them, so the
    model server can check every request's columns and types against it.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(features, model.predict(features))
    return mlflow.sklearn.log_model(
        model,
        name=name,
        signature=signature,
        input_example=features.head(example_rows),
        skops_trusted_types=TRUSTED_SKLEARN_TYPES,
    )
