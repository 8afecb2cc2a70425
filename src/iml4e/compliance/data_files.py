"""Reading the room's YAML files with errors that name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from iml4e.compliance.errors import CatalogueInvalid

Model = TypeVar("Model", bound=BaseModel)


def read_yaml_file(path: Path) -> tuple[str, Any]:
    """The file's name as errors show it, and its parsed YAML."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueInvalid(f"cannot read: {error}", where=source) from error
    return source, parse_yaml(text, source)


def validate_as(model: type[Model], raw: Any, source: str) -> Model:
    """``raw`` as ``model``; the first validation error names the file and key."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise CatalogueInvalid(first["msg"], where=error_where(source, dict(first), raw)) from error


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; a syntax error is a :class:`CatalogueInvalid` naming the line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise CatalogueInvalid(f"not valid YAML: {problem}", where=where) from error


def error_where(source: str, error: dict[str, Any], raw: Any) -> str:
    """Name the file and key of a validation error, using the control id where there is one."""
    location = list(error["loc"])
    parts: list[str] = []
    if len(location) >= 2 and location[0] == "controls" and isinstance(location[1], int):
        controls = raw.get("controls") if isinstance(raw, dict) else None
        index = location[1]
        control = controls[index] if isinstance(controls, list) and index < len(controls) else {}
        control_id = control.get("id") if isinstance(control, dict) else None
        parts.append(f"controls[{control_id or index}]")
        location = location[2:]
    parts.extend(str(part) for part in location)
    return f"{source}: {'.'.join(parts)}" if parts else source
