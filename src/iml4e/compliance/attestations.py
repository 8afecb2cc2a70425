"""Attestations: a named person's signed statement for a control that needs human judgement.

An attestation covers one model version of a system, or every version when it is about the
system rather than a model (e.g. "oversight staff are assigned", Art. 14(1)). Only
``attestation`` and ``semi-automatic`` controls can be attested; an automatic control's result
is what the platform measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.compliance.catalogue import ControlCatalogue
from iml4e.compliance.errors import AttestationInvalid, UnknownControl
from iml4e.compliance.systems import get_system
from iml4e.errors import BadInput
from iml4e.store import Store
from iml4e.store.models import Attestation

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class AttestationInfo:
    """One recorded attestation."""

    id: int
    system: str
    control_id: str
    model_name: str | None
    model_version: str | None
    """None: the statement covers every version of the system's models."""
    actor: str
    statement: str
    created_at: datetime

    def covers(self, model_name: str, version: str) -> bool:
        """Whether this attestation holds for ``model_name`` version ``version``."""
        if self.model_version is None:
            return True
        return self.model_name == model_name and self.model_version == str(version)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "system": self.system,
            "control": self.control_id,
            "model": self.model_name,
            "version": self.model_version or "all",
            "actor": self.actor,
            "statement": self.statement,
            "created_at": self.created_at.isoformat(timespec="seconds"),
        }


def attest(
    store: Store,
    client: MlflowClient,
    catalogue: ControlCatalogue,
    *,
    system: str,
    control_id: str,
    actor: str,
    statement: str,
    model_name: str | None = None,
    version: str | None = None,
) -> AttestationInfo:
    """Record ``actor``'s ``statement`` for ``control_id`` of ``system``.

    With ``version`` the statement covers that model version only (``model_name`` defaults to
    the system's model when it has one); without, every version. Everything is checked before
    anything is written: the system, the control and its type, the statement, the version.
    """
    from iml4e.registry.promotion import model_version

    record = get_system(store, system)
    try:
        control = catalogue.get(control_id)
    except KeyError:
        raise UnknownControl("no such control in the catalogue", where=control_id) from None
    if control.type == "automatic":
        raise AttestationInvalid(
            "an automatic control is measured by the platform, not attested", where=control_id
        )
    if not statement.strip():
        raise AttestationInvalid("the statement is empty", where="statement")
    if not actor.strip():
        raise AttestationInvalid("nobody is named", where="actor")
    if version is not None:
        if model_name is None:
            if len(record.models) != 1:
                raise AttestationInvalid(
                    f"the system uses {len(record.models)} models; name one", where="model"
                )
            model_name = record.models[0]
        if model_name not in record.models:
            raise AttestationInvalid(
                f"system {system!r} does not use model {model_name!r}", where="model"
            )
        try:
            model_version(client, store, model_name, str(version))
        except BadInput:
            raise AttestationInvalid(
                f"model {model_name!r} has no version {version}", where=f"version {version}"
            ) from None
    elif model_name is not None:
        raise AttestationInvalid("a model needs a version (or attest every version)", where="model")
    with store.session() as session:
        row = Attestation(
            system=system,
            control_id=control_id,
            model_name=model_name,
            model_version=None if version is None else str(version),
            actor=actor,
            statement=statement.strip(),
        )
        session.add(row)
        session.flush()
        info = _info(row)
    record_audit(
        store,
        actor=actor,
        action="compliance.attest",
        target=f"system:{system}",
        detail={
            "attestation": info.id,
            "control": control_id,
            "model": model_name,
            "version": info.model_version,
        },
    )
    return info


def list_attestations(
    store: Store, system: str, *, control_id: str | None = None
) -> list[AttestationInfo]:
    """The attestations of ``system``, oldest first, optionally for one control."""
    query = select(Attestation).where(Attestation.system == system)
    if control_id is not None:
        query = query.where(Attestation.control_id == control_id)
    with store.session() as session:
        return [_info(row) for row in session.scalars(query.order_by(Attestation.id))]


def attestations_covering(
    store: Store, system: str, model_name: str, version: str
) -> dict[str, AttestationInfo]:
    """The latest attestation of each control that covers the version."""
    latest: dict[str, AttestationInfo] = {}
    for info in list_attestations(store, system):
        if info.covers(model_name, version):
            latest[info.control_id] = info
    return latest


def _info(row: Attestation) -> AttestationInfo:
    return AttestationInfo(
        id=row.id,
        system=row.system,
        control_id=row.control_id,
        model_name=row.model_name,
        model_version=row.model_version,
        actor=row.actor,
        statement=row.statement,
        created_at=row.created_at,
    )
