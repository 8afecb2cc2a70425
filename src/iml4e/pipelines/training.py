"""Train and evaluate tabular scikit-learn models: split, build, fit, measure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from iml4e.errors import BadInput

ESTIMATORS = ("hist_gradient_boosting", "logistic_regression")


@dataclass(frozen=True)
class TrainTestSplit:
    """Features and labels, split once and reused by training and evaluation."""

    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


def split_frame(
    frame: pd.DataFrame, target: str, *, test_size: float = 0.25, seed: int = 42
) -> TrainTestSplit:
    """Hold out ``test_size`` of the rows, stratified on ``target``."""
    if target not in frame.columns:
        raise BadInput("target column not in the data", where=target)
    features = frame.drop(columns=[target])
    x_train, x_test, y_train, y_test = train_test_split(
        features, frame[target], test_size=test_size, random_state=seed, stratify=frame[target]
    )
    return TrainTestSplit(x_train, x_test, y_train, y_test)


def build_tabular_classifier(
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    estimator: str = "hist_gradient_boosting",
    params: dict[str, Any] | None = None,
    seed: int = 42,
) -> Pipeline:
    """Preprocessing (impute, scale, one-hot with unseen categories ignored) + a classifier.

    Missing values and categories never seen in training are handled, so drifted inputs get
    an answer rather than an error.
    """
    params = dict(params or {})
    if estimator == "hist_gradient_boosting":
        classifier: Any = HistGradientBoostingClassifier(random_state=seed, **params)
    elif estimator == "logistic_regression":
        classifier = LogisticRegression(max_iter=1000, **params)
    else:
        raise BadInput(f"unknown estimator (use {', '.join(ESTIMATORS)})", where=estimator)
    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical_steps = Pipeline(
        [
            ("impute", SimpleImputer(strategy="most_frequent")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric_steps, list(numeric)),
            ("categorical", categorical_steps, list(categorical)),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def classification_metrics(model: Any, x: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Accuracy, ROC AUC, F1, precision, recall and log loss of a fitted classifier."""
    predicted = model.predict(x)
    probabilities = model.predict_proba(x)
    binary = probabilities.shape[1] == 2
    average = "binary" if binary else "macro"
    scores = probabilities[:, 1] if binary else probabilities
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "roc_auc": float(
            roc_auc_score(y, scores) if binary else roc_auc_score(y, scores, multi_class="ovr")
        ),
        "f1": float(f1_score(y, predicted, average=average)),
        "precision": float(precision_score(y, predicted, average=average, zero_division=0)),
        "recall": float(recall_score(y, predicted, average=average)),
        "log_loss": float(log_loss(y, probabilities, labels=np.unique(y))),
    }
