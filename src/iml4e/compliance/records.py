"""Generated compliance documents, kept with the hash of their bytes (Art. 18(1)).

Every document the platform writes is recorded with the version it describes and what it
declared (e.g. the accuracy the instructions for use state), so controls can check the
documentation still exists unchanged and matches what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iml4e.store import NotFound, Store
from iml4e.store.models import ComplianceDocument


@dataclass(frozen=True)
class DocumentRecord:
    """One generated document file."""

    id: int
    system: str
    kind: str
    model_name: str | None
    model_version: str | None
    format: str
    path: str
    sha256: str
    facts: dict[str, Any]
    actor: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the stored facts)."""
        return {
            "id": self.id,
            "system": self.system,
            "kind": self.kind,
            "model": self.model_name,
            "version": self.model_version,
            "format": self.format,
            "path": self.path,
            "sha256": self.sha256,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(timespec="seconds"),
        }


def record_document(
    store: Store,
    *,
    system: str,
    kind: str,
    model_name: str | None,
    model_version: str | None,
    fmt: str,
    path: str,
    sha256: str,
    facts: dict[str, Any],
    actor: str,
) -> DocumentRecord:
    """Record a document file that has been written."""
    with store.session() as session:
        row = ComplianceDocument(
            system=system,
            kind=kind,
            model_name=model_name,
            model_version=model_version,
            format=fmt,
            path=path,
            sha256=sha256,
            facts=facts,
            actor=actor,
        )
        session.add(row)
        session.flush()
        return _record(row)


def document_by_id(store: Store, document_id: int) -> DocumentRecord:
    """The document recorded as ``document_id``; :class:`NotFound` if there is none."""
    with store.session() as session:
        row = session.get(ComplianceDocument, document_id)
        if row is None:
            raise NotFound("no such compliance document", where=f"document {document_id}")
        return _record(row)


def document_records(store: Store, system: str) -> list[DocumentRecord]:
    """The documents generated for ``system``, oldest first."""
    with store.session() as session:
        rows = session.scalars(
            select(ComplianceDocument)
            .where(ComplianceDocument.system == system)
            .order_by(ComplianceDocument.id)
        ).all()
        return [_record(row) for row in rows]


def _record(row: ComplianceDocument) -> DocumentRecord:
    return DocumentRecord(
        id=row.id,
        system=row.system,
        kind=row.kind,
        model_name=row.model_name,
        model_version=row.model_version,
        format=row.format,
        path=row.path,
        sha256=row.sha256,
        facts=dict(row.facts or {}),
        actor=row.actor,
        created_at=row.created_at,
    )


def system_documents(store: Store, system: str) -> list[DocumentRecord]:
    """The documents of the registered ``system``, newest first.

    Unlike :func:`document_records`, an unknown name raises
    :class:`~iml4e.compliance.errors.UnknownSystem` instead of answering with an empty list.
    """
    from iml4e.compliance.systems import get_system

    get_system(store, system)
    return list(reversed(document_records(store, system)))
