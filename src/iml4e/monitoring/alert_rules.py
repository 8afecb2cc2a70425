"""Alert rules: one readable YAML file per deployment, checked before it is used.

A rule compares one metric the monitoring job computed (``drift.share``,
``performance.accuracy``, ``quality.missing_rate.age`` …) with a threshold, and fires after
``for`` consecutive breaching evaluations (a count) or once it has breached for ``for`` (a
duration). Errors name the file and the key (``rules.1.op: …``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from iml4e.monitoring.errors import AlertRulesInvalid

Operator = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
# A metric family is dotted lowercase words; a last part naming a column may hold any
# printable characters (``drift.column.Monthly Income``).
METRIC_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*(\.[^\x00-\x20\x7f.][^\x00-\x1f\x7f]*)?$")
DURATION_PATTERN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
ROWS_PATTERN = re.compile(r"^(\d+)\s*rows?$")
DURATION_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))

COMPARISONS = {
    ">": lambda value, threshold: value > threshold,
    ">=": lambda value, threshold: value >= threshold,
    "<": lambda value, threshold: value < threshold,
    "<=": lambda value, threshold: value <= threshold,
    "==": lambda value, threshold: value == threshold,
    "!=": lambda value, threshold: value != threshold,
}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``1h30m``, ``2d`` as a :class:`timedelta`; ValueError otherwise."""
    match = DURATION_PATTERN.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h30m or 1d")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """A duration in the compact form Prometheus reads (``1h30m``, ``0s``)."""
    remaining = int(duration.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in DURATION_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class Window:
    """The window the monitoring job uses for a rule: a span of time or a number of rows."""

    duration: timedelta | None = None
    rows: int | None = None

    def __str__(self) -> str:
        if self.rows is not None:
            return f"{self.rows} rows"
        return format_duration(self.duration or timedelta())


def parse_window(text: str) -> Window:
    """``1h`` or ``10000 rows`` as a :class:`Window`; ValueError otherwise."""
    rows = ROWS_PATTERN.match(text.strip())
    if rows is not None:
        if int(rows.group(1)) < 1:
            raise ValueError("a window needs at least 1 row")
        return Window(rows=int(rows.group(1)))
    try:
        duration = parse_duration(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a window like 1h or 10000 rows") from None
    if duration <= timedelta():
        raise ValueError("a window must be longer than 0s")
    return Window(duration=duration)


class NotifyTarget(BaseModel):
    """Where notifications go: ``{webhook: URL, timeout_s: 5}`` or ``{log: true}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: str | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=300)
    log: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> NotifyTarget:
        if (self.webhook is None) == (not self.log):
            raise ValueError("give exactly one of webhook: URL or log: true")
        if self.webhook is None and self.timeout_s is not None:
            raise ValueError("timeout_s applies to webhook targets only")
        if self.webhook is not None and not re.match(r"^https?://[^\s/]+", self.webhook):
            raise ValueError(f"webhook {self.webhook!r} is not an http(s) URL")
        return self

    @property
    def kind(self) -> str:
        """``webhook`` or ``log``: the name notifiers are chosen by."""
        return "webhook" if self.webhook is not None else "log"


class AlertRule(BaseModel):
    """One rule: ``metric op threshold`` breaching for ``for`` evaluations (or a duration)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    metric: str
    op: Operator
    threshold: float
    window: str
    severity: Severity = "warning"
    for_: int | str = Field(default=1, alias="for")
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a rule name (letters, digits, _ . -)")
        return value

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not METRIC_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a metric name like drift.share")
        return value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value

    @field_validator("for_", mode="before")
    @classmethod
    def _for(cls, value: Any) -> int | str:
        if isinstance(value, bool):
            raise ValueError("for is a count of evaluations (2) or a duration (10m)")
        if isinstance(value, int):
            if value < 1:
                raise ValueError("for counts evaluations and must be at least 1")
            return value
        if isinstance(value, str):
            parse_duration(value)
            return value
        raise ValueError("for is a count of evaluations (2) or a duration (10m)")

    @property
    def parsed_window(self) -> Window:
        """The window as a :class:`Window`."""
        return parse_window(self.window)

    @property
    def for_count(self) -> int | None:
        """Consecutive breaching evaluations needed to fire, when ``for`` is a count."""
        return self.for_ if isinstance(self.for_, int) else None

    @property
    def for_duration(self) -> timedelta | None:
        """How long the rule must breach before firing, when ``for`` is a duration."""
        return parse_duration(self.for_) if isinstance(self.for_, str) else None

    def breached(self, value: float) -> bool:
        """Whether ``value`` breaches this rule (NaN never does)."""
        return not math.isnan(value) and COMPARISONS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


class AlertRules(BaseModel):
    """The alert rules and notification targets of one deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: str
    notify: tuple[NotifyTarget, ...] = ()
    rules: tuple[AlertRule, ...] = ()

    @field_validator("deployment")
    @classmethod
    def _deployment(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a deployment name (letters, digits, _ . -)")
        return value

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, value: tuple[AlertRule, ...]) -> tuple[AlertRule, ...]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(value):
            if rule.name in seen:
                raise ValueError(
                    f"rule {index} reuses the name {rule.name!r} of rule {seen[rule.name]}"
                )
            seen[rule.name] = index
        return value

    def rule(self, name: str) -> AlertRule | None:
        """The rule called ``name``, if there is one."""
        return next((rule for rule in self.rules if rule.name == name), None)


def alert_rules_path(home: Path, deployment: str) -> Path:
    """``<home>/monitoring/<deployment>.alerts.yaml``, where a deployment's rules live."""
    return home / "monitoring" / f"{deployment}.alerts.yaml"


def alert_rules_files(home: Path) -> list[Path]:
    """Every rules file in ``<home>/monitoring/``, sorted by name."""
    return sorted((home / "monitoring").glob("*.alerts.yaml"))


def parse_alert_rules(data: Any, *, source: str) -> AlertRules:
    """Validate already-loaded rules data; errors name ``source`` and the offending key."""
    if not isinstance(data, Mapping):
        raise AlertRulesInvalid(
            "expected a mapping with deployment, notify and rules", where=source
        )
    try:
        return AlertRules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join("for" if part == "for_" else str(part) for part in error["loc"])
            message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
            message = message.removeprefix("Value error, ")
            problems.append(f"{key or '(top level)'}: {message}")
        raise AlertRulesInvalid("; ".join(problems), where=source) from None


def load_alert_rules(path: Path, *, deployment: str | None = None) -> AlertRules:
    """Read and validate the rules file at ``path``.

    With ``deployment``, the file must also be that deployment's (its ``deployment`` key).
    """
    if not path.is_file():
        raise AlertRulesInvalid("alert rules file not found", where=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AlertRulesInvalid(f"not valid YAML: {exc}", where=str(path)) from None
    rules = parse_alert_rules(data, source=str(path))
    if deployment is not None and rules.deployment != deployment:
        raise AlertRulesInvalid(
            f"deployment: the file is for {rules.deployment!r}, not {deployment!r}",
            where=str(path),
        )
    return rules
