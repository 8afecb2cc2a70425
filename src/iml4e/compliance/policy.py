"""The per-system compliance policy: the numeric limits a person chose and signed off.

The AI Act sets no pass/fail numbers, so every limit a control reads lives here, checked
against the catalogue: only limits some control reads, each in its unit, every limit the
system's tier needs, and a sign-off by a named person at a stated time.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt

from iml4e.compliance.catalogue import ControlCatalogue, Tier
from iml4e.compliance.data_files import read_yaml_file, validate_as
from iml4e.compliance.errors import CatalogueInvalid

POLICY_TEMPLATE = "policy_template.yaml"

#: Bounds the law itself puts on a limit, in days: (lowest allowed, highest allowed).
LEGAL_BOUNDS_DAYS: dict[str, tuple[int | None, int | None]] = {
    "log_retention_days": (183, None),  # Art. 19(1), Art. 26(6): at least six months
    "incident_report_days": (None, 15),  # Art. 73(2)
    "incident_report_days_widespread": (None, 2),  # Art. 73(3)
    "incident_report_days_death": (None, 10),  # Art. 73(4)
}


class CompliancePolicy(BaseModel):
    """A signed-off set of limits for one AI system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str
    tier: Tier
    catalogue_version: str
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    limits: dict[str, StrictInt | StrictFloat]
    require_for_promotion: tuple[str, ...] = ()
    """Controls the signer adds to those the catalogue requires before a promotion."""

    def limit(self, name: str) -> float | int:
        """The value of one limit; :class:`KeyError` if the policy does not set it."""
        return self.limits[name]


def policy_template_text() -> str:
    """The shipped policy template, to copy and fill in for a system."""
    resource = resources.files("iml4e.compliance").joinpath("data", POLICY_TEMPLATE)
    return resource.read_text("utf-8")


def load_compliance_policy(path: Path, catalogue: ControlCatalogue) -> CompliancePolicy:
    """Load a policy file and check it against the catalogue.

    Refuses a missing sign-off, a catalogue version other than ``catalogue``'s, limits no
    control reads, limits of the wrong unit, and limits the system's tier needs but lacks.
    Raises :class:`CatalogueInvalid` naming the file and the key.
    """
    source, raw = read_yaml_file(path)
    _check_limits_are_numbers(raw, source)
    policy = validate_as(CompliancePolicy, raw, source)
    _check_sign_off(policy, source)
    if policy.catalogue_version != catalogue.version:
        raise CatalogueInvalid(
            f"policy is for catalogue {policy.catalogue_version!r}, "
            f"the catalogue is {catalogue.version!r}",
            where=f"{source}: catalogue_version",
        )
    _check_limits(policy, catalogue, source)
    _check_required_controls(policy, catalogue, source)
    return policy


def _check_limits_are_numbers(raw: Any, source: str) -> None:
    """Name the limit that is not a number, before pydantic reports it per union member."""
    limits = raw.get("limits") if isinstance(raw, dict) else None
    if not isinstance(limits, dict):
        return
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CatalogueInvalid(
                f"a limit must be a number, got {value!r}", where=f"{source}: limits.{name}"
            )


def _check_sign_off(policy: CompliancePolicy, source: str) -> None:
    """A policy counts only once a named person signed it off at a stated time."""
    if not policy.system.strip():
        raise CatalogueInvalid("the system is not named", where=f"{source}: system")
    if not (policy.signed_off_by or "").strip():
        raise CatalogueInvalid("nobody signed off this policy", where=f"{source}: signed_off_by")
    if policy.signed_off_at is None:
        raise CatalogueInvalid("the sign-off has no time", where=f"{source}: signed_off_at")


def _check_limits(policy: CompliancePolicy, catalogue: ControlCatalogue, source: str) -> None:
    """Every limit is read by some control, has its unit, and the tier's limits are all set."""
    units = catalogue.limit_units()
    for name, value in policy.limits.items():
        where = f"{source}: limits.{name}"
        if name not in units:
            raise CatalogueInvalid("no control reads this limit", where=where)
        problem = _unit_problem(name, value, units[name])
        if problem:
            raise CatalogueInvalid(problem, where=where)
    needed = {name for control in catalogue.for_tier(policy.tier) for name in control.limits}
    missing = sorted(needed - policy.limits.keys())
    if missing:
        raise CatalogueInvalid(
            f"limits needed by {policy.tier} controls are not set: {missing}",
            where=f"{source}: limits.{missing[0]}",
        )


def _check_required_controls(
    policy: CompliancePolicy, catalogue: ControlCatalogue, source: str
) -> None:
    """Every control the policy adds to the gate exists and applies to the system's tier."""
    known = {control.id: control for control in catalogue.controls}
    for index, control_id in enumerate(policy.require_for_promotion):
        where = f"{source}: require_for_promotion[{index}]"
        if control_id not in known:
            raise CatalogueInvalid(f"no control {control_id!r} in the catalogue", where=where)
        if policy.tier not in known[control_id].applies_to:
            raise CatalogueInvalid(
                f"{control_id} does not apply to {policy.tier} systems", where=where
            )


def _unit_problem(name: str, value: Any, unit: str) -> str | None:
    """Why ``value`` is not a valid ``unit``, or ``None`` when it is."""
    if unit == "ratio":
        if not 0 <= value <= 1:
            return f"a ratio must be between 0 and 1, got {value}"
        return None
    if not isinstance(value, int) or value < 1:
        return f"{unit} must be a positive whole number, got {value}"
    low, high = LEGAL_BOUNDS_DAYS.get(name, (None, None)) if unit == "days" else (None, None)
    if low is not None and value < low:
        return f"the law requires at least {low} days, got {value}"
    if high is not None and value > high:
        return f"the law allows at most {high} days, got {value}"
    return None
