"""An append-only audit trail whose rows are chained by SHA-256.

Each row's hash covers its content and the hash of the row before it, so editing a row breaks
its own hash and deleting one breaks the link of the row after it. Appends take turns through
the store's named lock, so two processes never chain to the same row. Deleting the newest rows
leaves a shorter chain that still verifies; beside a SQLite database the newest hash is also
written to ``<db>.audit-head`` on every append, and ``verify_audit`` compares the chain with it
(on PostgreSQL, pass the head you kept as ``expected_head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from iml4e.audit.errors import AuditBusy
from iml4e.store import Store
from iml4e.store.engine import sqlite_path
from iml4e.store.locks import named_lock
from iml4e.store.models import AuditEvent, utcnow

GENESIS = "0" * 64
OUTCOMES = ("ok", "denied", "failed")
AUDIT_LOCK_TIMEOUT_S = 30.0
POSTGRES_AUDIT_LOCK_NAMESPACE = 0x1A4E_A0D1


@dataclass(frozen=True)
class AuditRecord:
    """One row of the trail."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    previous_hash: str = GENESIS
    hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "detail": self.detail,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditVerification:
    """The result of walking the chain: how far it holds and where it first breaks."""

    checked: int
    head: str
    first_broken: int | None = None
    """The id of the first row whose hash or link does not hold (None: the chain holds)."""
    problem: str | None = None
    last_id: int = 0
    """The id of the newest row checked."""
    resumed_after: int | None = None
    """The row after which this walk began (None: from the first row)."""

    @property
    def ok(self) -> bool:
        """Whether every row and link holds."""
        return self.problem is None


def record_audit(
    store: Store,
    *,
    actor: str,
    action: str,
    target: str,
    outcome: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """Append one event (``action`` like ``registry.promote``, ``target`` like
    ``model:credit-default@3``); ``outcome`` is ``ok``, ``denied`` or ``failed``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")  # a programming error
    content = dict(detail or {})
    with _chain_lock(store):
        with store.session() as session:
            last = session.scalars(
                select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
            ).first()
            previous = last.hash if last is not None else GENESIS
            at = utcnow()
            row = AuditEvent(
                at=at,
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                detail=content,
                previous_hash=previous,
                hash=event_hash(previous, at, actor, action, target, outcome, content),
            )
            session.add(row)
            session.flush()
            record = _record(row)
        _write_head(store, record)  # committed; still under the lock, so heads stay in order
    return record


def event_hash(
    previous: str,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    detail: Mapping[str, Any],
) -> str:
    """SHA-256 over the previous hash and the row's content, in a canonical JSON form."""
    canonical = json.dumps(
        [previous, at.isoformat(), actor, action, target, outcome, detail],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def list_audit(
    store: Store,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """The newest events first, narrowed by the filters given (``action`` matches a prefix)."""
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action.startswith(action))
    if target is not None:
        query = query.where(AuditEvent.target == target)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    with store.session() as session:
        rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
        return [_record(row) for row in rows]


def verify_audit(
    store: Store,
    *,
    expected_head: str | None = None,
    resume: AuditVerification | None = None,
) -> AuditVerification:
    """Walk the whole chain in order; name the first row that was edited, removed or reordered.

    The newest hash is compared with ``expected_head``, else with the head file kept beside a
    SQLite database, so deleting the newest rows is found too.

    ``resume``: an earlier verification that held. Only the rows after its newest one are
    walked, from its head (the row it ended on must still be there, unchanged); rows before it
    are taken as it found them, so a full walk (``iml4e audit verify``) is still the proof.
    """
    checked, previous, after = 0, GENESIS, 0
    query = select(AuditEvent).order_by(AuditEvent.id)
    with store.session() as session:
        if resume is not None and resume.ok and resume.last_id:
            still = session.get(AuditEvent, resume.last_id)
            if still is not None and still.hash == resume.head == _recomputed_hash(still):
                checked, previous, after = resume.checked, resume.head, resume.last_id
                query = query.where(AuditEvent.id > after)
        last_id = after
        for row in session.scalars(query).yield_per(1000):
            if row.previous_hash != previous:
                return AuditVerification(
                    checked,
                    previous,
                    row.id,
                    f"row {row.id} does not link to the row before it: a row before it was "
                    "deleted or changed",
                    last_id,
                    after or None,
                )
            if _recomputed_hash(row) != row.hash:
                return AuditVerification(
                    checked,
                    previous,
                    row.id,
                    f"row {row.id} was changed after it was written",
                    last_id,
                    after or None,
                )
            previous, last_id = row.hash, row.id
            checked += 1
    anchor = expected_head or _read_head(store)
    if anchor is not None and anchor != previous:
        return AuditVerification(
            checked,
            previous,
            None,
            f"the newest row is not the one last written (expected head {anchor[:12]}…, "
            f"found {previous[:12]}…): rows at the end were deleted",
            last_id,
            after or None,
        )
    return AuditVerification(checked, previous, last_id=last_id, resumed_after=after or None)


def _recomputed_hash(row: AuditEvent) -> str:
    """The hash ``row`` should carry, from its own fields and its link."""
    return event_hash(
        row.previous_hash, row.at, row.actor, row.action, row.target, row.outcome, row.detail or {}
    )


def _chain_lock(store: Store) -> Any:
    def busy() -> AuditBusy:
        return AuditBusy(
            f"waited {AUDIT_LOCK_TIMEOUT_S:g}s for another process appending to the audit trail",
            where="audit trail",
        )

    return named_lock(
        store,
        "audit",
        "chain",
        namespace=POSTGRES_AUDIT_LOCK_NAMESPACE,
        timeout_s=AUDIT_LOCK_TIMEOUT_S,
        busy=busy,
    )


def _head_file(store: Store) -> Path | None:
    database = sqlite_path(str(store.engine.url))
    return None if database is None else database.parent / f"{database.name}.audit-head"


def _write_head(store: Store, record: AuditRecord) -> None:
    path = _head_file(store)
    if path is not None:
        partial = path.with_name(path.name + ".partial")
        partial.write_text(f"{record.id} {record.hash}\n", encoding="utf-8")
        partial.replace(path)


def _read_head(store: Store) -> str | None:
    path = _head_file(store)
    if path is None or not path.is_file():
        return None
    parts = path.read_text(encoding="utf-8").split()
    return parts[1] if len(parts) == 2 else None


def _record(row: AuditEvent) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        outcome=row.outcome,
        detail=dict(row.detail or {}),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )
