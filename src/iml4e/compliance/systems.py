"""AI systems: the use cases that own models, their system files and their classification.

A system file (YAML, see ``data/systems/credit_scoring.yaml``) says what a person knows and the
platform cannot: the provider, the people affected, the models the system uses, the answers to
the classification questionnaire, which columns are sensitive, and the human-written parts of
the documentation (risk register, datasheets, instructions for use, oversight). Registering a
system classifies it; registering it again with another intended purpose reclassifies it and
makes its earlier assessments stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.compliance.classification import Classification, classify
from iml4e.compliance.data_files import read_yaml_file, validate_as
from iml4e.compliance.errors import CatalogueInvalid, UnknownSystem
from iml4e.compliance.policy import CompliancePolicy
from iml4e.registry.errors import InvalidModelName
from iml4e.registry.names import check_model_name
from iml4e.store import Store
from iml4e.store.models import AISystem

_PACKAGE = "iml4e.compliance"


class SensitiveFeatureSpec(BaseModel):
    """A column whose groups fairness is measured over; numeric columns are cut into bands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str
    bins: tuple[float, ...] | None = None


class SystemData(BaseModel):
    """Where the platform finds the system's training and test rows, and what they mean.

    ``train_input`` and ``test_input`` name the pipeline step inputs (in the model version's
    lineage) that held the training and test rows, label column included.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str
    positive_label: str | int | bool = 1
    sensitive_features: tuple[SensitiveFeatureSpec, ...] = ()
    train_input: str = "train_rows"
    test_input: str = "test_rows"

    @field_validator("sensitive_features", mode="before")
    @classmethod
    def _columns_as_specs(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"column": item} if isinstance(item, str) else item for item in value]
        return value


class RiskEntry(BaseModel):
    """One risk of the risk register (Art. 9(2)) and the versions it was assessed for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk: str
    mitigation: str
    residual: str = ""
    versions: tuple[str, ...] = ("*",)
    """Model versions this entry was reviewed for; ``*`` means every version."""

    def covers(self, version: str) -> bool:
        """Whether this entry names ``version`` (or every version)."""
        return "*" in self.versions or str(version) in self.versions


class SystemDefinition(BaseModel):
    """The contents of a system file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1)
    role: Literal["provider", "deployer"]
    users_affected: str = ""
    models: tuple[str, ...] = Field(min_length=1)
    answers: dict[str, Any]
    data: SystemData | None = None
    risk_register: tuple[RiskEntry, ...] = ()
    datasheets: dict[str, dict[str, str]] = {}
    instructions_for_use: dict[str, Any] = {}
    oversight: dict[str, Any] = {}
    monitoring_plan: dict[str, Any] = {}
    standards: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    cybersecurity: str | None = None
    hardware: str | None = None
    continuous_learning: bool = False
    special_category_data: bool = False
    disclosure: str | None = None
    """The text telling people they interact with an AI system (Art. 50(1)), if any."""
    output_marking: str | None = None
    """How synthetic output is marked machine-readably (Art. 50(2)), if any."""

    @field_validator("models")
    @classmethod
    def _model_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            try:
                check_model_name(name)
            except InvalidModelName as error:  # a ValueError, so the error names file and key
                raise ValueError(str(error)) from None
        return value

    @property
    def intended_purpose(self) -> str:
        """The intended purpose stated in the questionnaire answers."""
        return str(self.answers.get("intended_purpose", ""))

    def human_parts(self) -> dict[str, Any]:
        """The human-written documentation parts, only those written."""
        parts: dict[str, Any] = {
            "risk_register": [entry.model_dump() for entry in self.risk_register],
            "instructions_for_use": self.instructions_for_use,
            "oversight": self.oversight,
            "monitoring_plan": self.monitoring_plan,
            "standards": list(self.standards),
            "changes": list(self.changes),
            "cybersecurity": self.cybersecurity,
            "hardware": self.hardware,
        }
        return {key: value for key, value in parts.items() if value}


@dataclass(frozen=True)
class SystemRecord:
    """A registered AI system: its definition, classification and signed-off policy."""

    name: str
    definition: SystemDefinition
    classification: Classification
    policy: CompliancePolicy | None
    created_at: datetime
    updated_at: datetime

    @property
    def tier(self) -> str:
        """The risk tier of the classification."""
        return self.classification.tier

    @property
    def models(self) -> tuple[str, ...]:
        """The registered models the system uses."""
        return self.definition.models

    def policy_digest(self) -> str | None:
        """A digest of the policy, so a changed policy makes assessments stale."""
        if self.policy is None:
            return None
        return _digest(self.policy.model_dump(mode="json"))


def system_example_path(name: str) -> Path:
    """The shipped system file ``name`` (``credit_scoring``), as a path to read or copy."""
    entry = resources.files(_PACKAGE).joinpath("data", "systems", f"{name}.yaml")
    return Path(str(entry))


def load_system_file(path: Path) -> SystemDefinition:
    """Read and check a system file; errors name the file and the key."""
    source, raw = read_yaml_file(path)
    if not isinstance(raw, dict):
        raise CatalogueInvalid("a system file is a mapping of keys", where=source)
    return validate_as(SystemDefinition, raw, source)


def register_system(
    store: Store,
    definition: SystemDefinition,
    *,
    policy: CompliancePolicy | None = None,
    actor: str = "iml4e",
) -> SystemRecord:
    """Classify ``definition`` and record it (a new system, or a new state of a known one).

    An incomplete questionnaire raises :class:`QuestionnaireIncomplete` before anything is
    written. A policy must name this system and its tier; registering without a policy keeps
    the policy recorded earlier.
    """
    classification = classify(definition.answers)
    if policy is not None:
        _check_policy_fits(policy, definition.name, classification.tier)
    with store.session() as session:
        row = session.scalars(select(AISystem).where(AISystem.name == definition.name)).first()
        if row is None:
            row = AISystem(name=definition.name)
            session.add(row)
        elif policy is None and row.policy is not None:
            kept = CompliancePolicy.model_validate(row.policy)
            if kept.tier != classification.tier:
                row.policy = None  # a policy for another tier no longer fits
        row.intended_purpose = definition.intended_purpose
        row.provider = definition.provider
        row.role = definition.role
        row.tier = classification.tier
        row.models = list(definition.models)
        row.classification = classification.model_dump(mode="json")
        row.definition = definition.model_dump(mode="json")
        if policy is not None:
            row.policy = policy.model_dump(mode="json")
        session.flush()
        record = _record(row)
    record_audit(
        store,
        actor=actor,
        action="compliance.register",
        target=f"system:{record.name}",
        detail={"tier": record.tier, "policy_digest": record.policy_digest()},
    )
    return record


def set_system_policy(
    store: Store, name: str, policy: CompliancePolicy, *, actor: str = "iml4e"
) -> SystemRecord:
    """Record the signed-off policy of system ``name``."""
    with store.session() as session:
        row = _row(session, name)
        _check_policy_fits(policy, name, row.tier)
        row.policy = policy.model_dump(mode="json")
        session.flush()
        record = _record(row)
    record_audit(
        store,
        actor=actor,
        action="compliance.policy",
        target=f"system:{name}",
        detail={"policy_digest": record.policy_digest(), "signed_off_by": policy.signed_off_by},
    )
    return record


def get_system(store: Store, name: str) -> SystemRecord:
    """The system called ``name``; :class:`UnknownSystem` if none is registered."""
    with store.session() as session:
        return _record(_row(session, name))


def list_systems(store: Store) -> list[SystemRecord]:
    """Every registered system, by name."""
    with store.session() as session:
        rows = session.scalars(select(AISystem).order_by(AISystem.name)).all()
        return [_record(row) for row in rows]


def systems_using_model(store: Store, model_name: str) -> list[SystemRecord]:
    """The systems whose definition lists ``model_name``."""
    return [system for system in list_systems(store) if model_name in system.models]


def _row(session: Any, name: str) -> AISystem:
    row = session.scalars(select(AISystem).where(AISystem.name == name)).first()
    if row is None:
        raise UnknownSystem(
            "no such AI system (register it with iml4e comply register)", where=name
        )
    return row


def _record(row: AISystem) -> SystemRecord:
    return SystemRecord(
        name=row.name,
        definition=SystemDefinition.model_validate(row.definition),
        classification=Classification.model_validate(row.classification),
        policy=CompliancePolicy.model_validate(row.policy) if row.policy else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _check_policy_fits(policy: CompliancePolicy, name: str, tier: str) -> None:
    if policy.system != name:
        raise CatalogueInvalid(
            f"the policy is for system {policy.system!r}, not {name!r}", where="policy: system"
        )
    if policy.tier != tier:
        raise CatalogueInvalid(
            f"the policy is for tier {policy.tier}, the system is classified {tier}",
            where="policy: tier",
        )


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
