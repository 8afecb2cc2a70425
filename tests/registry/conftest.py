"""A real MLflow registry on a temporary SQLite home, with a tiny logged model to version."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from iml4e.config import Settings
from iml4e.platform import initialize
from iml4e.registry import register_model_version
from iml4e.store import Store, open_store
from iml4e.tracking import activate_tracking, connect_tracking, ensure_experiment

MODEL = "credit-default"


@dataclass
class Registry:
    settings: Settings
    store: Store
    client: Any
    source: str
    run_id: str

    def add_version(self, metrics: dict[str, float], name: str = MODEL) -> str:
        """Register another version of ``name`` (same artifact) with these metrics."""
        info = register_model_version(
            self.client,
            self.store,
            name=name,
            source=self.source,
            run_id=self.run_id,
            metrics=metrics,
            actor="pipeline",
        )
        return info.version


def log_tiny_model(settings: Settings, client: Any) -> tuple[str, str]:
    """Log a small LogisticRegression; returns its model URI and run id."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    from iml4e.tracking import log_sklearn_model

    rng = np.random.default_rng(0)
    features = pd.DataFrame({"x1": rng.normal(size=60), "x2": rng.normal(size=60)})
    labels = (features.x1 > 0).astype(int)
    activate_tracking(settings)
    experiment_id = ensure_experiment(client, settings, "registry-tests")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        logged = log_sklearn_model(LogisticRegression().fit(features, labels), features)
    return logged.model_uri, run.info.run_id


def open_registry(settings: Settings) -> Registry:
    """A registry on ``settings`` with a tiny logged model ready to version."""
    initialize(settings)
    store = open_store(settings)
    client = connect_tracking(settings, store)
    source, run_id = log_tiny_model(settings, client)
    return Registry(settings, store, client, source, run_id)


@pytest.fixture
def registry(make_settings: Callable[..., Settings]) -> Iterator[Registry]:
    opened = open_registry(make_settings(user="alice"))
    yield opened
    opened.store.close()


@pytest.fixture
def backend_registry(backend_settings: Settings) -> Iterator[Registry]:
    """A registry on each real backend in turn: SQLite, then PostgreSQL."""
    opened = open_registry(backend_settings)
    yield opened
    opened.store.close()
