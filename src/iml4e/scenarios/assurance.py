"""The main job's compliance stage: the credit-scoring system assessed and documented.

The demo's credit case is a high-risk AI system (Annex III point 5(b), creditworthiness). Its
system file ships with the package; its policy (the numeric limits, signed off by the user who
runs the demo) is written to ``<home>/compliance/credit-scoring.policy.yaml`` before training
starts, so the thresholds are fixed before the evaluation (Art. 9(8)). After the release, the
served model version is assessed against every control, its Annex IV technical documentation
and instructions for use are generated, and it is assessed once more so the documentation
controls see them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from iml4e.config import Settings
from iml4e.store import Store

if TYPE_CHECKING:
    from iml4e.compliance.assessment import AssessmentInfo

SYSTEM_FILES = {"credit": "credit_scoring"}
"""The shipped system file of each case that is an AI system under the AI Act."""


@dataclass
class ComplianceSummary:
    """What the compliance stage found and wrote."""

    system: str
    tier: str
    model_version: str
    deployment: str | None
    assessment_id: int
    counts: dict[str, int]
    blocking: list[str]
    previous_stale: list[str] = field(default_factory=list)
    """Why the previous run's assessment had gone stale (a rerun of the demo)."""
    annex_iv: str = ""
    instructions: str = ""
    assess_seconds: float = 0.0
    report_seconds: float = 0.0


def policy_path(settings: Settings, system_file: str) -> Path:
    """Where the demo keeps the signed-off policy of a shipped system."""
    return settings.home / "compliance" / f"{system_file}.policy.yaml"


def ensure_policy(settings: Settings, case: str) -> Path | None:
    """Write the case's policy, signed off by the current user now, unless it exists."""
    from iml4e.compliance.policy import policy_template_text
    from iml4e.compliance.systems import load_system_file, system_example_path

    if case not in SYSTEM_FILES:
        return None
    path = policy_path(settings, SYSTEM_FILES[case])
    if path.is_file():
        return path
    definition = load_system_file(system_example_path(SYSTEM_FILES[case]))
    policy = yaml.safe_load(policy_template_text())
    policy.update(
        system=definition.name,
        signed_off_by=settings.user,
        signed_off_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    return path


def assess_and_document(
    settings: Settings,
    store: Store,
    case: str,
    deployment: str,
    *,
    on_step: Callable[[str, str], None],
) -> ComplianceSummary | None:
    """Register the case's AI system, assess the served version and write its documents."""
    from iml4e.compliance.assessment import assess, latest_assessment
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.compliance.policy import load_compliance_policy
    from iml4e.compliance.reports import generate_document
    from iml4e.compliance.systems import load_system_file, register_system, system_example_path

    policy_file = ensure_policy(settings, case)
    if policy_file is None:
        on_step("comply", f"case {case} has no AI system file: no assessment")
        return None
    catalogue = load_catalogue()
    definition = load_system_file(system_example_path(SYSTEM_FILES[case]))
    previous = latest_assessment(store, definition.name)
    system = register_system(
        store,
        definition,
        policy=load_compliance_policy(policy_file, catalogue),
        actor=settings.user,
    )
    on_step(
        "classify",
        f"{system.name}: {system.tier} ({', '.join(system.classification.articles[:2])})",
    )

    def assessed() -> AssessmentInfo:
        return assess(
            settings,
            store,
            system.name,
            actor=settings.user,
            deployment=deployment,
            catalogue=catalogue,
        )

    started = time.perf_counter()
    first = assessed()
    assess_seconds = time.perf_counter() - started
    started = time.perf_counter()
    annex_iv = generate_document(
        settings, store, system.name, actor=settings.user, version=first.model_version
    )
    instructions = generate_document(
        settings,
        store,
        system.name,
        actor=settings.user,
        kind="instructions",
        version=first.model_version,
    )
    report_seconds = time.perf_counter() - started
    final = assessed()
    counts = final.counts()
    blocking = [result.control_id for result in final.blocking()]
    on_step(
        "assess",
        f"v{final.model_version}: {counts['pass']} pass, {counts['fail']} fail, "
        f"{counts['needs_attestation']} await attestation, {counts['not_applicable']} n/a "
        f"({len(final.results)} controls, {assess_seconds:.2f} s)",
    )
    on_step("document", f"Annex IV: {annex_iv.path}")
    return ComplianceSummary(
        system=system.name,
        tier=system.tier,
        model_version=final.model_version,
        deployment=final.deployment,
        assessment_id=final.id,
        counts=counts,
        blocking=blocking,
        previous_stale=list(previous.stale_reasons) if previous else [],
        annex_iv=annex_iv.path,
        instructions=instructions.path,
        assess_seconds=assess_seconds,
        report_seconds=report_seconds,
    )
