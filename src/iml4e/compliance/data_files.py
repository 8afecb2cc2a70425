"""Reading the room's YAML files with errors that name the file, the line and the key."""

from __future__ import annotations

from typing import Any

import yaml

from iml4e.compliance.errors import CatalogueInvalid


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
