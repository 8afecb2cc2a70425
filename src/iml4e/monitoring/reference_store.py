"""Keep reference profiles: one file per model version under the artifact root, one store row.

The file is ``<artifact_root>/monitoring/references/<model>/<version>.npz``; the
``iml4e_monitor_reference`` row points at it and summarises the columns (their kind), so a
person can see what is monitored without opening the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iml4e.config import Settings
from iml4e.monitoring.errors import MonitoringError, ReferenceNotFound
from iml4e.monitoring.reference import ReferenceProfile
from iml4e.store import Store
from iml4e.store.models import MonitorReference

REFERENCE_SUFFIX = ".npz"


def reference_path(settings: Settings, *, model_name: str, model_version: str) -> Path:
    """Where the reference of a model version is kept (a local artifact root only)."""
    if "://" in settings.artifact_root:
        raise MonitoringError(
            "reference profiles are kept on a local artifact root only", where="artifact_root"
        )
    for label, part in (("model name", model_name), ("model version", model_version)):
        if not part or "/" in part or "\\" in part or part in {".", ".."}:
            raise MonitoringError(f"{label} {part!r} cannot name a file", where=label)
    folder = Path(settings.artifact_root) / "monitoring" / "references" / model_name
    return folder / f"{model_version}{REFERENCE_SUFFIX}"


def save_reference(
    settings: Settings,
    store: Store,
    reference: ReferenceProfile,
    *,
    model_name: str,
    model_version: str,
    dataset_version_id: int | None = None,
) -> Path:
    """Write the reference file and record it; a second save for the version replaces both.

    The file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    path = reference_path(settings, model_name=model_name, model_version=model_version)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=".reference-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(reference.to_bytes())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    summary: dict[str, Any] = {
        "kinds": {name: column.kind for name, column in reference.columns.items()}
    }
    if reference.prediction is not None:
        summary["prediction"] = reference.prediction.kind
    with store.session() as session:
        row = session.scalars(
            select(MonitorReference).where(
                MonitorReference.model_name == model_name,
                MonitorReference.model_version == model_version,
            )
        ).one_or_none()
        if row is None:
            row = MonitorReference(model_name=model_name, model_version=model_version)
            session.add(row)
        row.dataset_version_id = dataset_version_id
        row.path = str(path)
        row.n_rows = reference.n_rows
        row.columns = summary
    return path


def load_reference(
    settings: Settings, store: Store, *, model_name: str, model_version: str
) -> ReferenceProfile:
    """Read the reference of a model version; :class:`ReferenceNotFound` when there is none."""
    where = f"{model_name} version {model_version}"
    with store.session() as session:
        path = session.scalars(
            select(MonitorReference.path).where(
                MonitorReference.model_name == model_name,
                MonitorReference.model_version == model_version,
            )
        ).one_or_none()
    if path is None:
        raise ReferenceNotFound("no reference profile stored", where=where)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ReferenceNotFound(f"the reference file {path} is missing", where=where) from None
    return ReferenceProfile.from_bytes(data)
