"""The retraining loop: an alert that starts firing runs the model's retraining.

A deployment's plan is a readable file, ``<home>/monitoring/<deployment>.retrain.yaml``::

    deployment: credit-default
    on_alerts: [feature-drift]                      # rules whose firing starts a retraining
    run: iml4e.scenarios.retraining:retrain_case    # module:function doing the work
    params: {case: credit, rows: 20000, drift: 0.8} # passed to it as keyword arguments

``run`` is called as ``run(settings, deployment, reason=…, **params)`` and returns a
:class:`RetrainingOutcome`: it trains on the newest data (a pipeline run, so every step is in
the lineage), registers the result as ``challenger``, measures it and the champion on the same
fresh hold-out, and promotes it through the promotion policy when it wins — or leaves it
waiting when the policy needs an approval. The deployment's servers follow the alias.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iml4e.config import Settings
from iml4e.monitoring.errors import RetrainingPlanInvalid


class RetrainingPlan(BaseModel):
    """When and how a deployment's model is retrained."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: str = Field(min_length=1)
    on_alerts: tuple[str, ...] = Field(min_length=1)
    run: str = Field(pattern=r"^[\w.]+:\w+$")
    params: dict[str, Any] = Field(default_factory=dict)


@dataclass
class RetrainingOutcome:
    """What one retraining did: the new version, the head-to-head, the decision."""

    reason: str
    pipeline_run_id: str
    challenger_version: str
    champion_version: str | None
    compared_on: str
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)
    decision: str = ""
    promoted: bool = False


def retraining_plan_path(home: Path, deployment: str) -> Path:
    """``<home>/monitoring/<deployment>.retrain.yaml``."""
    return home / "monitoring" / f"{deployment}.retrain.yaml"


def load_retraining_plan(path: Path) -> RetrainingPlan:
    """Read and check a plan; errors name the file and the key."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RetrainingPlanInvalid(
            f"cannot read the retraining plan: {exc}", where=str(path)
        ) from None
    try:
        return RetrainingPlan.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RetrainingPlanInvalid(problems, where=str(path)) from None


def retraining_for(plan: RetrainingPlan, firing: Sequence[str]) -> str | None:
    """The reason to retrain when one of ``firing`` (rules that just started firing) is in the
    plan, else None."""
    matched = [rule for rule in firing if rule in plan.on_alerts]
    return f"alert {', '.join(matched)} firing" if matched else None


def run_retraining(settings: Settings, plan: RetrainingPlan, reason: str) -> RetrainingOutcome:
    """Call the plan's ``run`` function for its deployment."""
    module_name, function_name = plan.run.split(":")
    try:
        function: Callable[..., RetrainingOutcome] = getattr(
            importlib.import_module(module_name), function_name
        )
    except (ImportError, AttributeError) as exc:
        raise RetrainingPlanInvalid(f"cannot load {plan.run}: {exc}", where="run") from None
    return function(settings, plan.deployment, reason=reason, **plan.params)
