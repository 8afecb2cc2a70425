"""A small real model, logged and registered in MLflow on a temporary SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

from iml4e.config import Settings, load_settings
from iml4e.pipelines.training import build_tabular_classifier
from iml4e.platform import initialize
from iml4e.registry import register_model_version, set_alias
from iml4e.store import Store, open_store
from iml4e.tracking import (
    activate_tracking,
    connect_tracking,
    ensure_experiment,
    log_sklearn_model,
)

MODEL_NAME = "tiny-classifier"


@dataclass
class RegisteredModel:
    settings: Settings
    name: str
    version: str
    frame: pd.DataFrame


def tiny_frame(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=rows),
            "x2": rng.normal(size=rows),
            "color": rng.choice(["red", "green", "blue"], size=rows),
        }
    )
    frame["label"] = ((frame.x1 + (frame.color == "red") * 0.8) > 0.3).astype(int)
    return frame


def register_tiny_version(settings: Settings, estimator: str, alias: str) -> str:
    """Train a tiny classifier with ``estimator``, register it, point ``alias`` at it."""
    store = open_store(settings)
    client = connect_tracking(settings, store)
    activate_tracking(settings)
    import mlflow

    frame = tiny_frame()
    features = frame.drop(columns=["label"])
    model = build_tabular_classifier(["x1", "x2"], ["color"], estimator=estimator)
    model.fit(features, frame["label"])
    experiment_id = ensure_experiment(client, settings, "serving-tests")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        logged = log_sklearn_model(model, features)
    version = register_model_version(
        client,
        store,
        name=MODEL_NAME,
        source=logged.model_uri,
        run_id=run.info.run_id,
        metrics={},
    )
    set_alias(client, MODEL_NAME, alias, version.version)
    store.close()
    return version.version


@pytest.fixture(scope="session")
def registered_model(tmp_path_factory: pytest.TempPathFactory) -> RegisteredModel:
    home = tmp_path_factory.mktemp("serving-home")
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    initialize(settings)
    version = register_tiny_version(settings, "logistic_regression", "champion")
    return RegisteredModel(settings, MODEL_NAME, version, tiny_frame())


@pytest.fixture(scope="session")
def second_version(registered_model: RegisteredModel) -> str:
    """A second version of the tiny model (gradient boosting), aliased ``challenger``."""
    return register_tiny_version(registered_model.settings, "hist_gradient_boosting", "challenger")


@pytest.fixture
def expected(registered_model: RegisteredModel, rows: pd.DataFrame) -> list:
    """What MLflow's own pyfunc predicts for the test module's ``rows``."""
    import mlflow.pyfunc

    uri = f"models:/{registered_model.name}/{registered_model.version}"
    return mlflow.pyfunc.load_model(uri).predict(rows).tolist()


@contextmanager
def serve_champion(
    registered_model: RegisteredModel, deployment: str
) -> Iterator[tuple[TestClient, Store]]:
    """The champion served in process by the real app, with its log and store."""
    from iml4e.serving.app import create_model_app
    from iml4e.serving.inference_log import InferenceLogWriter
    from iml4e.serving.router import Router
    from iml4e.serving.served_model import load_served_model

    settings = registered_model.settings
    with open_store(settings) as store:
        model = load_served_model(settings, f"models:/{registered_model.name}@champion")
        log = InferenceLogWriter(store, settings.home / f"inference-{deployment}", deployment)
        router = Router.for_models(deployment, log, model)
        with TestClient(create_model_app(router, log=log, store=store)) as client:
            yield client, store
