"""Connect to MLflow on the platform's database and keep its schema current."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from iml4e.config import Settings, mask_url
from iml4e.errors import Iml4eError
from iml4e.store import Store
from iml4e.tracking.privacy import apply_privacy_defaults

if TYPE_CHECKING:
    from mlflow import MlflowClient


class TrackingError(Iml4eError):
    """MLflow could not be reached or refused an operation."""


def _is_database_uri(uri: str) -> bool:
    return uri.split(":", 1)[0].split("+", 1)[0] in {"sqlite", "postgresql", "mysql", "mssql"}


def ensure_mlflow_schema(settings: Settings, store: Store) -> None:
    """Create or upgrade MLflow's tables, serialised with iml4e's own migrations.

    MLflow migrates its schema when its store is first opened; two processes doing that at
    once on a fresh database would race, so it happens under the store's schema lock.
    """
    if not _is_database_uri(settings.mlflow_tracking_uri):
        return  # a remote MLflow server manages its own schema
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    with store.schema_lock():
        try:
            SqlAlchemyStore(settings.mlflow_tracking_uri, settings.artifact_location_uri)
        except Exception as exc:
            raise TrackingError(
                f"cannot open MLflow's tables ({exc})", where=mask_url(settings.mlflow_tracking_uri)
            ) from None


def connect_tracking(settings: Settings, store: Store) -> MlflowClient:
    """An MLflow client on the platform's tracking and registry URIs, schema ensured."""
    apply_privacy_defaults()
    ensure_mlflow_schema(settings, store)
    from mlflow import MlflowClient

    return MlflowClient(
        tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri
    )


def activate_tracking(settings: Settings) -> None:
    """Point MLflow's fluent API (``mlflow.start_run``, ``log_model``) at the platform.

    MLflow keeps these URIs per process; the steps that use the fluent API call this first.
    """
    apply_privacy_defaults()
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_registry_uri)


def ensure_experiment(client: MlflowClient, settings: Settings, name: str) -> str:
    """The id of experiment ``name``, created with its artifacts under the artifact root."""
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    folder = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "experiment"
    location = f"{settings.artifact_location_uri.rstrip('/')}/mlflow/{folder}"
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:
        # Another process created it between our look-up and our create.
        existing = client.get_experiment_by_name(name)
        if existing is None:
            raise
        return existing.experiment_id
