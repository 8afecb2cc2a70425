"""What the ``json`` and ``dataclass-json`` serializers can hold, and how values come back.

Checks name the place below the value that cannot be stored (``value['a'][3] is nan…``);
the codec turns dataclasses into plain JSON data and rebuilds them from their annotations.
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import functools
import math
import sys
import types
import typing
from datetime import date, datetime
from typing import Any

MAX_DEPTH = 200
"""Deepest nesting of lists, dicts and dataclasses the JSON serializers accept."""


def type_label(value: object) -> str:
    """``module.QualName`` of the value's type (just the name for builtins), for messages."""
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


# --- the built-ins ----------------------------------------------------------------------------


# --- checks --------------------------------------------

JSON_KINDS = (str, bool, int, float, list, tuple, dict)
_SEQUENCES = (list, tuple, abc.Sequence, abc.MutableSequence)
_MAPPINGS = (dict, abc.Mapping, abc.MutableMapping)
Problem = tuple[list[str], str]
"""Where below the value (path parts, innermost first) and what is wrong there."""


def explain(problem: Problem | None) -> bool | str:
    if problem is None:
        return True
    parts, reason = problem
    return f"value{''.join(reversed(parts))} {reason}"


def numpy_item(value: object) -> int | float | bool | None:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.integer | np.floating | np.bool_):
        return None
    item = value.item()
    return item if type(item) in (int, float, bool) else None


def numpy_default(value: object) -> object:
    item = numpy_item(value)
    if item is None:
        raise TypeError(f"{type_label(value)} is not JSON")
    return item


def json_problem(value: object, depth: int) -> Problem | None:
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return None
    if kind is int:
        return None if -(2**63) <= value < 2**64 else ([], "is an integer wider than 64 bits")
    if kind is float:
        return None if math.isfinite(value) else ([], f"is {value}, which JSON cannot hold")
    if kind is list or kind is tuple or kind is dict:
        if depth >= MAX_DEPTH:
            return [], f"is nested more than {MAX_DEPTH} levels deep"
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return [], f"has a key that is not a str: {key!r}"
                if (found := json_problem(item, depth + 1)) is not None:
                    found[0].append(f"[{key!r}]")
                    return found
            return None
        for index, item in enumerate(value):
            if (found := json_problem(item, depth + 1)) is not None:
                found[0].append(f"[{index}]")
                return found
        return None
    item = numpy_item(value)
    return ([], f"is a {type_label(value)}") if item is None else json_problem(item, depth)


# --- dataclasses: checked and rebuilt along their annotations ----------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def find_class(module: object, qualname: str) -> object:
    found = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


def _item_hints(hint: Any, count: int) -> list[Any]:
    if typing.get_origin(hint) not in _SEQUENCES:
        return [Any] * count
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis:
        return list(args[:count]) + [Any] * (count - len(args))
    return [args[0] if args else Any] * count


def _value_hint(hint: Any) -> Any:
    args = typing.get_args(hint)
    return args[1] if typing.get_origin(hint) in _MAPPINGS and len(args) == 2 else Any


def fields_problem(value: Any, depth: int) -> Problem | None:
    if depth >= MAX_DEPTH:
        return [], f"is nested more than {MAX_DEPTH} levels deep"
    try:
        hints = _hints(type(value))
    except Exception as exc:
        return [], f"has annotations that cannot be resolved ({exc})"
    for field in dataclasses.fields(value):
        found = _dataclass_problem(getattr(value, field.name), hints.get(field.name, Any), depth)
        if found is not None:
            found[0].append(f".{field.name}")
            return found
    return None


def _dataclass_problem(value: object, hint: Any, depth: int) -> Problem | None:
    if value is None:
        return None
    target, kind = _unwrap_optional(hint), type(value)
    if target is datetime or target is date or _is_dataclass_type(target):
        if kind is not target:
            return [], f"is a {type_label(value)}, but annotated {_hint_label(hint)}"
        return None if kind in (datetime, date) else fields_problem(value, depth + 1)
    if isinstance(value, date) or dataclasses.is_dataclass(value):
        reason = f"is a {type_label(value)}, so its annotation ({_hint_label(hint)}) must name it"
        return [], reason
    if depth >= MAX_DEPTH and kind in (list, tuple, dict):
        return [], f"is nested more than {MAX_DEPTH} levels deep"
    if kind is list or kind is tuple:
        hints = _item_hints(target, len(value))
        for index, (item, item_hint) in enumerate(zip(value, hints, strict=True)):
            if (found := _dataclass_problem(item, item_hint, depth + 1)) is not None:
                found[0].append(f"[{index}]")
                return found
        return None
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return [], f"has a key that is not a str: {key!r}"
            if (found := _dataclass_problem(item, _value_hint(target), depth + 1)) is not None:
                found[0].append(f"[{key!r}]")
                return found
        return None
    return json_problem(value, depth)


def _hint_label(hint: Any) -> str:
    return hint.__qualname__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def plain(value: Any) -> Any:
    kind = type(value)
    if kind is datetime or kind is date:
        return value.isoformat()
    if kind is list or kind is tuple:
        return [plain(item) for item in value]
    if kind is dict:
        return {key: plain(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    item = numpy_item(value)
    return value if item is None else item


def rebuild(cls: type, fields: dict[str, Any]) -> object:
    hints, init, later = _hints(cls), {}, {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in fields:
            value = _decode(fields[field.name], hints.get(field.name, Any))
            (init if field.init else later)[field.name] = value
    instance = cls(**init)
    for name, value in later.items():
        object.__setattr__(instance, name, value)
    return instance


def _decode(data: Any, hint: Any) -> Any:
    target = _unwrap_optional(hint)
    if data is None:
        return None
    if target is datetime:
        return datetime.fromisoformat(data)
    if target is date:
        return date.fromisoformat(data)
    if _is_dataclass_type(target):
        return rebuild(target, data)
    origin = typing.get_origin(target)
    if type(data) is list and origin in _SEQUENCES:
        items = [_decode(*pair) for pair in zip(data, _item_hints(target, len(data)), strict=True)]
        return tuple(items) if origin is tuple else items
    if type(data) is dict and origin in _MAPPINGS:
        return {key: _decode(item, _value_hint(target)) for key, item in data.items()}
    return data
