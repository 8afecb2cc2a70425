"""The compliance gate on promotions (Art. 16, Art. 43): a high-risk system's model becomes
``champion`` only while every control required for promotion passes.

The registry runs :func:`check_promotion` on every promotion (see
:mod:`iml4e.registry.checks`). The gate reads the newest assessment of the version: none, a
stale one, a required control that fails or awaits an attestation, or an open serious incident
(Art. 73(6)) without a recorded override refuses the promotion, each named with its reason.
"""

from __future__ import annotations

from iml4e.registry.policy import PolicyCheck
from iml4e.store import Store

GATED_ALIAS = "champion"


def check_promotion(store: Store, name: str, version: str, to: str) -> list[PolicyCheck]:
    """The compliance checks of promoting model ``name`` ``version`` to alias ``to``."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.incidents import freezing_incidents
    from iml4e.compliance.systems import systems_using_model

    checks: list[PolicyCheck] = []
    if to != GATED_ALIAS:
        return checks
    for system in systems_using_model(store, name):
        if system.tier != "high-risk":
            continue
        label = f"compliance {system.name}"
        for incident in freezing_incidents(store, system.name):
            checks.append(
                PolicyCheck(
                    f"{label} incident #{incident.id}",
                    False,
                    f"open {incident.severity} incident freezes changes until it is reported "
                    "(Art. 73(6)); override with a reason to proceed",
                )
            )
        assessment = latest_assessment(store, system.name, name, version)
        if assessment is None:
            checks.append(
                PolicyCheck(
                    label,
                    False,
                    f"version {version} has not been assessed "
                    f"(iml4e comply assess {system.name} --version {version})",
                )
            )
            continue
        if assessment.stale:
            checks.append(
                PolicyCheck(
                    label,
                    False,
                    f"assessment #{assessment.id} is stale: " + "; ".join(assessment.stale_reasons),
                )
            )
            continue
        blocking = assessment.blocking()
        for result in blocking:
            checks.append(
                PolicyCheck(
                    f"{label} {result.control_id}",
                    False,
                    f"{result.status.replace('_', ' ')}: {result.detail}",
                )
            )
        if not blocking:
            checks.append(
                PolicyCheck(
                    label,
                    True,
                    f"assessment #{assessment.id}: every required control passes",
                )
            )
    return checks
