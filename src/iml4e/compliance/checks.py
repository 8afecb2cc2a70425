"""How each control is evaluated: one plain function per control over the gathered evidence.

A check returns an :class:`Outcome`: ``pass``, ``fail`` or ``not_applicable``, a sentence that
says why with the numbers, and the evidence it read (JSON-ready, stored with the result). For a
semi-automatic control the check is the automatic part; a person's attestation completes it.
An attestation control's check only says whether it applies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iml4e.compliance.attestations import AttestationInfo
    from iml4e.compliance.catalogue import Control
    from iml4e.compliance.evidence_model import ModelEvidence
    from iml4e.compliance.evidence_runtime import RuntimeEvidence
    from iml4e.compliance.incidents import IncidentInfo
    from iml4e.compliance.policy import CompliancePolicy
    from iml4e.compliance.records import DocumentRecord
    from iml4e.compliance.systems import SystemRecord

PASS = "pass"
FAIL = "fail"
NEEDS_ATTESTATION = "needs_attestation"
NOT_APPLICABLE = "not_applicable"
STATUSES = (PASS, FAIL, NEEDS_ATTESTATION, NOT_APPLICABLE)


@dataclass(frozen=True)
class Outcome:
    """A control's result: status, why, and the evidence read."""

    status: str
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may read: the system, its policy and the gathered evidence."""

    system: SystemRecord
    policy: CompliancePolicy | None
    model: ModelEvidence
    runtime: RuntimeEvidence
    documents: list[DocumentRecord]
    incidents: list[IncidentInfo]
    attestations: dict[str, AttestationInfo]
    now: datetime

    def limit(self, control: Control, name: str) -> float | int | None:
        """The policy's value of one of ``control``'s limits (None without a policy)."""
        if self.policy is None or name not in self.policy.limits:
            return None
        return self.policy.limit(name)


Check = Callable[[CheckContext, "Control"], Outcome]


def passed(detail: str, **evidence: Any) -> Outcome:
    """A passing outcome."""
    return Outcome(PASS, detail, evidence)


def failed(detail: str, **evidence: Any) -> Outcome:
    """A failing outcome."""
    return Outcome(FAIL, detail, evidence)


def not_applicable(detail: str, **evidence: Any) -> Outcome:
    """The control does not apply to this system or version."""
    return Outcome(NOT_APPLICABLE, detail, evidence)


def applies(detail: str = "applies", **evidence: Any) -> Outcome:
    """An attestation control applies (its status comes from the attestation)."""
    return Outcome(PASS, detail, evidence)


def missing_limits(context: CheckContext, control: Control) -> Outcome | None:
    """A failing outcome naming the policy limits the control needs and lacks."""
    if context.policy is None:
        return failed("no signed-off compliance policy is recorded for the system")
    absent = [name for name in control.limits if name not in context.policy.limits]
    if absent:
        return failed(f"the policy does not set {', '.join(absent)}")
    return None


def all_checks() -> dict[str, Check]:
    """Every control id the platform can evaluate, with its check."""
    from iml4e.compliance import checks_data, checks_model, checks_runtime

    return {**checks_data.CHECKS, **checks_model.CHECKS, **checks_runtime.CHECKS}
