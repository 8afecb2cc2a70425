"""Bring an installation into being: home folder, database schemas, MLflow tables."""

from __future__ import annotations

from typing import Any

from iml4e.config import Settings, mask_url, prepare_home
from iml4e.store import current_revision, open_store
from iml4e.tracking.client import ensure_mlflow_schema


def initialize(settings: Settings) -> dict[str, Any]:
    """Create the home folder, migrate iml4e's tables and create MLflow's; safe to repeat.

    Returns what was set up, for display.
    """
    # A server database is reached first, so one that fails leaves no folders behind; a SQLite
    # file lives in the home folder, which must then exist first.
    if settings.is_sqlite:
        prepare_home(settings)
    store = open_store(settings)
    try:
        prepare_home(settings)
        ensure_mlflow_schema(settings, store)
        with store.engine.connect() as connection:
            revision = current_revision(connection)
    finally:
        store.close()
    return {
        "home": str(settings.home),
        "database_url": mask_url(settings.database_url),
        "schema_revision": revision,
        "artifact_root": settings.artifact_root,
        "mlflow_tracking_uri": mask_url(settings.mlflow_tracking_uri),
    }
