"""The control catalogue: what the platform checks for the EU AI Act, shipped as versioned data.

Each control names the articles it serves, whether a machine or a person decides it, the
evidence it reads and the policy limits it compares against. The catalogue holds no numbers:
limits are policy, set per system in a file a person signs off (see :mod:`.policy`).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from iml4e.compliance.data_files import error_where, parse_yaml
from iml4e.compliance.errors import CatalogueInvalid

ControlType = Literal["automatic", "semi-automatic", "attestation"]
Tier = Literal["high-risk", "limited", "minimal", "gpai"]
LimitUnit = Literal["ratio", "days", "count"]

CONTROL_TYPES: tuple[str, ...] = ("automatic", "semi-automatic", "attestation")

#: What the platform records that a control can read, by evidence key.
EVIDENCE_KEYS: dict[str, str] = {
    "dataset_versions": "dataset snapshots with their content hashes",
    "lineage": "which datasets and runs produced a model version",
    "data_profile": "per-dataset profile: missing and duplicate rates, group counts, label rates",
    "datasheet": "datasheet fields recorded for a dataset",
    "evaluation_metrics": "metrics logged by the evaluation run, with its start time",
    "fairness_report": "fairlearn metrics per sensitive feature",
    "robustness_report": "metrics under noise and perturbation",
    "model_artifacts": "stored model files and their recorded hashes",
    "serving_config": "the deployment's serving configuration",
    "inference_log_stats": "inference log counts by request id, retention and hash chain",
    "monitor_reports": "drift, performance and fairness monitor reports",
    "approvals": "approvals recorded against a model version",
    "registry_events": "registrations, approvals and promotions in the model registry",
    "deployment_events": "deploy, pause, resume and override events of a deployment",
    "risk_register": "the risk register entries linked to a version",
    "technical_documentation": "generated Annex IV files and their hashes",
    "instructions_for_use": "the instructions for use given to deployers",
    "incidents": "serious incidents with their clocks and reports",
    "attestations": "statements signed by a named person",
    "policy": "the signed-off per-system compliance policy",
}

ARTICLE_PATTERN = re.compile(
    r"^(Art\. \d+[a-z]?(\(\d+\)(\([a-z]\)(\([ivx]+\))?)?)?|Annex [IVX]+(\(\d+\)(\([a-z]\))?)?)$"
)

SHIPPED_CATALOGUE = "controls.yaml"


class Control(BaseModel):
    """One check: what it serves in the law, who decides it, and what it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    articles: tuple[str, ...]
    type: ControlType
    applies_to: tuple[Tier, ...]
    evidence: tuple[str, ...]
    evaluation: str
    limits: dict[str, LimitUnit]
    required_for_promotion: bool

    @field_validator("id")
    @classmethod
    def _id_is_upper_kebab(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", value):
            raise ValueError(f"id {value!r} must look like ART10-DATA-HASH")
        return value

    @field_validator("articles")
    @classmethod
    def _articles_are_cited_as_the_law_numbers_them(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one article is required")
        for article in value:
            if not ARTICLE_PATTERN.match(article):
                raise ValueError(
                    f"{article!r} is not an article reference like 'Art. 10(2)(b)' or 'Annex IV(2)'"
                )
        return value

    @field_validator("evidence")
    @classmethod
    def _evidence_keys_are_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - EVIDENCE_KEYS.keys())
        if unknown:
            raise ValueError(f"unknown evidence keys {unknown}; known: {sorted(EVIDENCE_KEYS)}")
        return value

    @field_validator("applies_to")
    @classmethod
    def _applies_to_some_tier(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one tier is required")
        return value

    def article_numbers(self) -> set[str]:
        """The article or annex each reference points at, e.g. ``"Art. 10"``, ``"Annex IV"``."""
        return {article.split("(", 1)[0] for article in self.articles}


class ControlCatalogue(BaseModel):
    """A versioned set of controls with unique ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    controls: tuple[Control, ...]

    @model_validator(mode="after")
    def _ids_are_unique(self) -> ControlCatalogue:
        counts = Counter(control.id for control in self.controls)
        duplicates = sorted(key for key, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate control ids {duplicates}")
        units: dict[str, str] = {}
        for control in self.controls:
            for name, unit in control.limits.items():
                if units.setdefault(name, unit) != unit:
                    raise ValueError(
                        f"limit {name!r} has unit {unit!r} in {control.id}, {units[name]!r} before"
                    )
        return self

    def get(self, control_id: str) -> Control:
        """The control with this id; :class:`KeyError` if the catalogue has none."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    def for_tier(self, tier: str) -> tuple[Control, ...]:
        """The controls that apply to a system of this risk tier, in catalogue order."""
        return tuple(control for control in self.controls if tier in control.applies_to)

    def coverage(self) -> dict[str, int]:
        """How many controls each type has: automatic, semi-automatic, attestation."""
        counts = Counter(control.type for control in self.controls)
        return {control_type: counts.get(control_type, 0) for control_type in CONTROL_TYPES}

    def limit_units(self) -> dict[str, str]:
        """Every policy limit some control reads, with its unit."""
        return {name: unit for control in self.controls for name, unit in control.limits.items()}


def load_catalogue(path: Path | None = None) -> ControlCatalogue:
    """Load and validate a control catalogue; the shipped one when ``path`` is ``None``.

    Raises :class:`CatalogueInvalid` naming the file and the key that is wrong. The shipped
    catalogue is read once per process (it is frozen, like every control in it).
    """
    if path is None:
        return _shipped_catalogue()
    try:
        source, text = str(path), path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueInvalid(f"cannot read: {error}", where=str(path)) from error
    return _parse_catalogue(text, source)


@cache
def _shipped_catalogue() -> ControlCatalogue:
    resource = resources.files("iml4e.compliance").joinpath("data", SHIPPED_CATALOGUE)
    source = f"iml4e/compliance/data/{SHIPPED_CATALOGUE}"
    return _parse_catalogue(resource.read_text("utf-8"), source)


def _parse_catalogue(text: str, source: str) -> ControlCatalogue:
    raw = parse_yaml(text, source)
    _check_unique_ids(raw, source)
    try:
        return ControlCatalogue.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise CatalogueInvalid(first["msg"], where=error_where(source, dict(first), raw)) from error


def _check_unique_ids(raw: Any, source: str) -> None:
    """Name the first repeated control id with its place in the file."""
    controls = raw.get("controls") if isinstance(raw, dict) else None
    seen: set[str] = set()
    for control in controls if isinstance(controls, list) else []:
        control_id = control.get("id") if isinstance(control, dict) else None
        if isinstance(control_id, str) and control_id in seen:
            raise CatalogueInvalid(
                f"duplicate control id {control_id!r}", where=f"{source}: controls[{control_id}].id"
            )
        if isinstance(control_id, str):
            seen.add(control_id)
