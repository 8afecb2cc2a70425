"""Registry events: every change made through iml4e's registry API, in the order it happened.

MLflow keeps only where an alias points now; these rows keep who moved it, when and from where,
so alias history and rollback need nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iml4e.store import Store
from iml4e.store.models import RegistryEvent

EVENT_KINDS = (
    "registered",
    "alias_set",
    "alias_removed",
    "approved",
    "promoted",
    "rejected",
    "rolled_back",
)


@dataclass(frozen=True)
class RegistryChange:
    """One registry event as plain data."""

    id: int
    model_name: str
    model_version: str | None
    kind: str
    alias: str | None
    previous_version: str | None
    actor: str
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as ISO text)."""
        return {
            "id": self.id,
            "model": self.model_name,
            "version": self.model_version,
            "kind": self.kind,
            "alias": self.alias,
            "previous_version": self.previous_version,
            "actor": self.actor,
            "detail": self.detail,
            "created_at": self.created_at.isoformat(timespec="seconds")
            if self.created_at
            else None,
        }


def add_event(
    session: Session,
    *,
    model_name: str,
    kind: str,
    actor: str,
    model_version: str | None = None,
    alias: str | None = None,
    previous_version: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add one event to ``session`` (committed with the caller's other writes)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown registry event kind {kind!r}")  # a programming error
    session.add(
        RegistryEvent(
            model_name=model_name,
            model_version=model_version,
            kind=kind,
            alias=alias,
            previous_version=previous_version,
            actor=actor,
            detail=dict(detail or {}),
        )
    )


def record_event(store: Store, **fields: Any) -> None:
    """Write one event in its own transaction (see :func:`add_event` for the fields)."""
    with store.session() as session:
        add_event(session, **fields)


def registry_events(
    store: Store,
    name: str,
    *,
    alias: str | None = None,
    kinds: tuple[str, ...] | None = None,
    version: str | None = None,
) -> list[RegistryChange]:
    """Events of model ``name`` in the order they happened, optionally narrowed."""
    query = select(RegistryEvent).where(RegistryEvent.model_name == name)
    if alias is not None:
        query = query.where(RegistryEvent.alias == alias)
    if kinds is not None:
        query = query.where(RegistryEvent.kind.in_(kinds))
    if version is not None:
        query = query.where(RegistryEvent.model_version == version)
    with store.session() as session:
        rows = session.scalars(query.order_by(RegistryEvent.id)).all()
        return [
            RegistryChange(
                id=row.id,
                model_name=row.model_name,
                model_version=row.model_version,
                kind=row.kind,
                alias=row.alias,
                previous_version=row.previous_version,
                actor=row.actor,
                detail=dict(row.detail or {}),
                created_at=row.created_at,
            )
            for row in rows
        ]
