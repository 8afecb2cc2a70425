"""Metric gates: thresholds a model must meet before it is registered or promoted."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from iml4e.errors import BadInput
from iml4e.registry.errors import GateFailed

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Threshold:
    """``metric comparison value``, e.g. ``roc_auc >= 0.75``."""

    metric: str
    comparison: str
    value: float

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise BadInput(
                f"unknown comparison {self.comparison!r} (use {', '.join(COMPARISONS)})",
                where=f"threshold on {self.metric}",
            )

    def holds(self, metrics: Mapping[str, float]) -> bool:
        """Whether ``metrics`` meets this threshold (a missing metric does not)."""
        return self.metric in metrics and COMPARISONS[self.comparison](
            metrics[self.metric], self.value
        )

    def __str__(self) -> str:
        return f"{self.metric} {self.comparison} {self.value:g}"


@dataclass(frozen=True)
class GateResult:
    """The outcome of a gate: which thresholds held and which did not."""

    passed: list[str]
    failed: list[str]

    @property
    def ok(self) -> bool:
        """Whether every threshold held."""
        return not self.failed


def evaluate_gate(metrics: Mapping[str, float], thresholds: list[Threshold]) -> GateResult:
    """Check ``metrics`` against every threshold."""
    passed, failed = [], []
    for threshold in thresholds:
        if threshold.holds(metrics):
            passed.append(str(threshold))
        else:
            actual = metrics.get(threshold.metric)
            shown = "missing" if actual is None else f"{actual:.4f}"
            failed.append(f"{threshold} (got {shown})")
    return GateResult(passed=passed, failed=failed)


def require_gate(metrics: Mapping[str, float], thresholds: list[Threshold], *, what: str) -> None:
    """Raise :class:`GateFailed` naming every unmet threshold."""
    result = evaluate_gate(metrics, thresholds)
    if not result.ok:
        raise GateFailed(
            "gate not met: " + "; ".join(result.failed), failures=result.failed, where=what
        )


def parse_threshold(text: str) -> Threshold:
    """Parse ``"roc_auc>=0.75"`` (spaces allowed)."""
    for symbol in (">=", "<=", ">", "<"):
        if symbol in text:
            metric, _, value = text.partition(symbol)
            try:
                return Threshold(metric.strip(), symbol, float(value))
            except ValueError:
                break
    raise BadInput("expected METRIC>=VALUE (or >, <=, <)", where=f"threshold {text!r}")
