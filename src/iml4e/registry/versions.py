"""Register model versions in MLflow's registry and link them to iml4e's lineage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from iml4e.audit import record_audit
from iml4e.registry.errors import ModelNotFound
from iml4e.registry.events import add_event, record_event
from iml4e.registry.locking import model_lock
from iml4e.registry.names import check_model_name
from iml4e.store import Store
from iml4e.store.models import ModelRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class ModelVersionInfo:
    """A registered model version and what it rests on."""

    name: str
    version: str
    run_id: str
    source: str
    aliases: tuple[str, ...]


def register_model_version(
    client: MlflowClient,
    store: Store,
    *,
    name: str,
    source: str,
    run_id: str,
    metrics: Mapping[str, float],
    pipeline_run_id: str | None = None,
    dataset_version_id: int | None = None,
    actor: str = "iml4e",
) -> ModelVersionInfo:
    """Create a new version of ``name`` from ``source`` (a ``models:/m-…`` or run URI).

    The MLflow version is the registry's source of truth; iml4e records the pipeline run and
    dataset version it came from, which MLflow has no place for.
    """
    from mlflow.exceptions import MlflowException

    check_model_name(name)
    try:
        client.get_registered_model(name)
    except MlflowException:
        with suppress(MlflowException):  # created by another process meanwhile
            client.create_registered_model(name)
    version = client.create_model_version(name, source, run_id=run_id)
    with store.session() as session:
        session.add(
            ModelRecord(
                model_name=name,
                model_version=str(version.version),
                mlflow_run_id=run_id,
                pipeline_run_id=pipeline_run_id,
                dataset_version_id=dataset_version_id,
                metrics=dict(metrics),
            )
        )
        add_event(
            session,
            model_name=name,
            model_version=str(version.version),
            kind="registered",
            actor=actor,
            detail={"run_id": run_id, "source": source},
        )
    record_audit(
        store,
        actor=actor,
        action="registry.register",
        target=f"model:{name}@{version.version}",
        detail={"run_id": run_id, "dataset_version_id": dataset_version_id},
    )
    return ModelVersionInfo(name, str(version.version), run_id, source, ())


def set_alias(
    client: MlflowClient,
    name: str,
    alias: str,
    version: str,
    *,
    store: Store | None = None,
    actor: str = "iml4e",
) -> ModelVersionInfo:
    """Point ``alias`` (e.g. ``champion``) of model ``name`` at ``version``.

    With ``store``, the move is recorded as an ``alias_set`` event (with the previous version),
    taking its turn with promotions and rollbacks of the model (:func:`model_lock`).
    """
    check_model_name(name)
    with model_lock(store, name) if store is not None else nullcontext():
        previous = current_alias_version(client, name, alias) if store is not None else None
        client.set_registered_model_alias(name, alias, version)
        if store is not None:
            record_event(
                store,
                model_name=name,
                model_version=str(version),
                kind="alias_set",
                alias=alias,
                previous_version=previous,
                actor=actor,
            )
            record_audit(
                store,
                actor=actor,
                action="registry.alias_set",
                target=f"model:{name}@{version}",
                detail={"alias": alias, "previous_version": previous},
            )
    found = client.get_model_version(name, version)
    return ModelVersionInfo(
        name, str(found.version), found.run_id, found.source, tuple(found.aliases)
    )


def remove_alias(
    client: MlflowClient, name: str, alias: str, *, store: Store, actor: str
) -> str | None:
    """Remove ``alias`` of model ``name``, recorded as an ``alias_removed`` event; returns the
    version it pointed at (None, and nothing recorded, when it was not set)."""
    check_model_name(name)
    with model_lock(store, name):
        previous = current_alias_version(client, name, alias)
        if previous is None:
            return None
        client.delete_registered_model_alias(name, alias)
        record_event(
            store,
            model_name=name,
            model_version=None,
            kind="alias_removed",
            alias=alias,
            previous_version=previous,
            actor=actor,
        )
        record_audit(
            store,
            actor=actor,
            action="registry.alias_removed",
            target=f"model:{name}@{previous}",
            detail={"alias": alias},
        )
    return previous


def current_alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version ``alias`` of model ``name`` points at, or None when it is unset."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def alias_versions(
    client: MlflowClient, name: str, aliases: Sequence[str]
) -> dict[str, str | None]:
    """Where each of ``aliases`` of model ``name`` points now: alias → version, None if unset.

    One registry call (the registered model carries every alias), so a model server can poll
    it to follow promotions and rollbacks cheaply. Raises :class:`ModelNotFound` when the model
    is not registered (or was deleted).
    """
    from mlflow.exceptions import MlflowException

    check_model_name(name)
    try:
        current = client.get_registered_model(name).aliases
    except MlflowException:
        raise ModelNotFound("no such registered model", where=f"model {name!r}") from None
    return {
        alias: str(current[alias]) if current.get(alias) is not None else None for alias in aliases
    }
