"""Parameters given as ``key=value`` text on a command line, typed by the pipeline's signature."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

import orjson

from iml4e.pipelines.errors import InvalidParameter
from iml4e.pipelines.typechecks import describe, value_matches

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def split_assignments(items: list[str]) -> dict[str, str]:
    """``["rows=100", "case=wine"]`` → ``{"rows": "100", "case": "wine"}``."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameter("expected key=value", where=item)
        parsed[key.strip()] = value
    return parsed


def parse_value(text: str, annotation: Any, *, where: str) -> Any:
    """The value ``text`` stands for, given the parameter's annotation.

    ``int``, ``float`` and ``bool`` (true/false/yes/no/1/0) are parsed; ``str`` is taken as
    is; lists, dicts and unannotated parameters are read as JSON, falling back to the text.
    ``none``/``null`` gives ``None`` where the annotation allows it.
    """
    members = _members(annotation)
    if type(None) in members and text.strip().lower() in {"none", "null"}:
        return None
    for member in members:
        value = _parse_as(text, member)
        if value is not _NO_VALUE and value_matches(value, annotation):
            return value
    raise InvalidParameter(f"expects {describe(annotation)}, got {text!r}", where=where)


_NO_VALUE = object()


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(typing.get_args(annotation))
    return (annotation,)


def _parse_as(text: str, annotation: Any) -> Any:
    stripped = text.strip()
    origin = typing.get_origin(annotation) or annotation
    try:
        if origin is bool:
            lowered = stripped.lower()
            return True if lowered in _TRUE else False if lowered in _FALSE else _NO_VALUE
        if origin is int:
            return int(stripped)
        if origin is float:
            return float(stripped)
        if origin is str:
            return text
        if origin in (list, dict, tuple):
            return orjson.loads(stripped)
    except ValueError:
        return _NO_VALUE
    if annotation in (inspect.Parameter.empty, Any):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return text
    return _NO_VALUE
