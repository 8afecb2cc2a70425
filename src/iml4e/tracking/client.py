"""Connect to MLflow on the platform's database and keep its schema current."""

from __future__ import annotations

import os
import re
from contextlib import suppress
from importlib.metadata import version as package_version
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from iml4e.config import Settings, mask_url
from iml4e.errors import Iml4eError
from iml4e.store import Store
from iml4e.tracking.environment import apply_mlflow_environment_defaults

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
    if _same_database(settings) and mlflow_schema_revision(store.engine) == mlflow_head_revision(
        settings.home / "cache"
    ):
        return  # current: skip importing MLflow's store, which alone takes ~2 s
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    with store.schema_lock():
        try:
            SqlAlchemyStore(settings.mlflow_tracking_uri, settings.artifact_location_uri)
        except Exception as exc:
            raise TrackingError(
                f"cannot open MLflow's tables ({exc})", where=mask_url(settings.mlflow_tracking_uri)
            ) from None


def mlflow_head_revision(cache_dir: Path | None = None) -> str | None:
    """The newest schema revision of the installed MLflow's migrations.

    Reading MLflow's migration scripts imports MLflow (~2 s), so the answer is remembered in
    ``cache_dir`` per MLflow version: the scripts of a released version never change.
    """
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"mlflow-{package_version('mlflow')}-schema-head"
        if cache.is_file():
            return cache.read_text().strip() or None
    head = _read_mlflow_head_revision()
    if cache is not None and head is not None:
        with suppress(OSError):  # a cache that cannot be written only costs time
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(head)
            partial.replace(cache)
    return head


def _read_mlflow_head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    spec = find_spec("mlflow")  # locate MLflow without importing it (that alone takes ~2 s)
    if spec is None or spec.origin is None:
        raise TrackingError("mlflow is not installed")
    config = Config()
    migrations = Path(spec.origin).parent / "store" / "db_migrations"
    config.set_main_option("script_location", str(migrations))
    return ScriptDirectory.from_config(config).get_current_head()


def mlflow_schema_revision(engine: Engine) -> str | None:
    """MLflow's schema revision recorded in the database (``None`` before MLflow ran)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _same_database(settings: Settings) -> bool:
    return settings.mlflow_tracking_uri == settings.database_url


def connect_tracking(settings: Settings, store: Store) -> MlflowClient:
    """An MLflow client on the platform's tracking and registry URIs, schema ensured."""
    apply_mlflow_environment_defaults()
    ensure_mlflow_schema(settings, store)
    from mlflow import MlflowClient

    return MlflowClient(
        tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri
    )


def activate_tracking(settings: Settings) -> None:
    """Point MLflow's fluent API (``mlflow.start_run``, ``log_model``) at the platform.

    MLflow keeps these URIs per process; the steps that use the fluent API call this first.
    """
    apply_mlflow_environment_defaults()
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
