"""Promotion policies: a readable YAML file per model, checked before it is used.

The evaluation is a plain function over plain data (metrics, the current alias holder's
metrics, the approvers) returning a plain result, so it is tested without MLflow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from iml4e.errors import BadInput
from iml4e.registry.errors import PolicyInvalid
from iml4e.registry.gates import Threshold, parse_threshold


class MustBeat(BaseModel):
    """The candidate's ``metric`` must exceed the current alias holder's by ``margin``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(min_length=1)
    margin: float = 0.0


class PromotionPolicy(BaseModel):
    """What a version of ``model`` must meet before alias ``to`` may point at it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    to: str = Field(default="champion", min_length=1)
    thresholds: tuple[str, ...] = ()
    must_beat: MustBeat | None = None
    approvals: int = Field(default=0, ge=0)

    @field_validator("thresholds")
    @classmethod
    def _parseable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            try:
                parse_threshold(text)
            except BadInput as exc:
                raise ValueError(str(exc)) from None
        return value

    def parsed_thresholds(self) -> list[Threshold]:
        """The thresholds as :class:`Threshold` objects."""
        return [parse_threshold(text) for text in self.thresholds]


def default_policy_path(home: Path, model: str) -> Path:
    """``<home>/policies/<model>.yaml``, where a model's policy lives unless one is given."""
    return home / "policies" / f"{model}.yaml"


def parse_policy(data: Any, *, source: str) -> PromotionPolicy:
    """Validate already-loaded policy data; errors name ``source`` and the offending key."""
    if not isinstance(data, Mapping):
        raise PolicyInvalid("expected a mapping of policy keys", where=source)
    try:
        return PromotionPolicy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            problems.append(f"{key}: {message}")
        raise PolicyInvalid("; ".join(problems), where=source) from None


def load_policy(path: Path) -> PromotionPolicy:
    """Read and validate the policy file at ``path``."""
    if not path.is_file():
        raise PolicyInvalid("policy file not found", where=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyInvalid(f"not valid YAML: {exc}", where=str(path)) from None
    return parse_policy(data, source=str(path))


@dataclass(frozen=True)
class PolicyCheck:
    """One check of a promotion: its name, whether it passed, and why."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PromotionEvaluation:
    """Every check of a promotion; it may go ahead when all passed."""

    checks: list[PolicyCheck]

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[PolicyCheck]:
        """The checks that did not pass."""
        return [check for check in self.checks if not check.passed]


def evaluate_promotion(
    policy: PromotionPolicy,
    *,
    metrics: Mapping[str, float],
    holder_version: str | None,
    holder_metrics: Mapping[str, float] | None,
    approvers: Collection[str],
) -> PromotionEvaluation:
    """Check a candidate's ``metrics`` and ``approvers`` against ``policy``.

    ``holder_version``/``holder_metrics`` describe the version the alias points at now (None
    when nothing holds it, in which case ``must_beat`` passes: there is nothing to beat).
    """
    checks: list[PolicyCheck] = []
    for threshold in policy.parsed_thresholds():
        actual = metrics.get(threshold.metric)
        shown = "missing" if actual is None else f"{actual:.4f}"
        checks.append(
            PolicyCheck(f"threshold {threshold}", threshold.holds(metrics), f"got {shown}")
        )
    if policy.must_beat is not None:
        checks.append(_must_beat(policy.must_beat, metrics, holder_version, holder_metrics))
    if policy.approvals:
        distinct = sorted(set(approvers))
        checks.append(
            PolicyCheck(
                f"approvals >= {policy.approvals}",
                len(distinct) >= policy.approvals,
                f"{len(distinct)} ({', '.join(distinct) or 'none'})",
            )
        )
    return PromotionEvaluation(checks)


def _must_beat(
    rule: MustBeat,
    metrics: Mapping[str, float],
    holder_version: str | None,
    holder_metrics: Mapping[str, float] | None,
) -> PolicyCheck:
    name = f"must beat current {rule.metric} by {rule.margin:g}"
    candidate = metrics.get(rule.metric)
    if holder_version is None:
        return PolicyCheck(name, True, "no current holder")
    if candidate is None:
        return PolicyCheck(name, False, f"candidate has no {rule.metric}")
    held = (holder_metrics or {}).get(rule.metric)
    if held is None:
        return PolicyCheck(name, True, f"version {holder_version} has no {rule.metric}")
    passed = candidate >= held + rule.margin
    return PolicyCheck(name, passed, f"{candidate:.4f} vs {held:.4f} (version {holder_version})")
