"""Compare type annotations of step inputs and outputs, and values against annotations.

The checks are deliberately lenient where Python's typing is too rich to judge statically:
``Any``, a missing annotation, type variables and exotic constructs always pass. What they
catch are the plain mistakes — a ``DataFrame`` wired into an ``ndarray`` input, ``rows="ten"``
for an ``int`` parameter.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

_UNION_TYPES = (typing.Union, types.UnionType)


def describe(annotation: object) -> str:
    """A short readable name of an annotation: ``DataFrame``, ``dict[str, float]``."""
    if annotation is inspect.Parameter.empty:
        return "unannotated"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__
    return str(annotation).replace("typing.", "")


def _is_unchecked(annotation: object) -> bool:
    return annotation in (Any, inspect.Parameter.empty, object) or isinstance(
        annotation, typing.TypeVar
    )


def _members(annotation: object) -> tuple[object, ...]:
    if typing.get_origin(annotation) in _UNION_TYPES:
        return typing.get_args(annotation)
    return (annotation,)


def _runtime_class(annotation: object) -> type | None:
    """The class an ``isinstance`` check can use, or ``None`` when there is none."""
    if annotation is None or annotation is type(None):
        return type(None)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _runtime_class(typing.get_args(annotation)[0])
    if isinstance(origin, type):
        return origin
    if isinstance(annotation, type):
        return annotation
    return None


def annotations_compatible(produced: object, expected: object) -> bool:
    """Whether a value annotated ``produced`` may be passed where ``expected`` is declared."""
    if _is_unchecked(produced) or _is_unchecked(expected):
        return True
    for candidate in _members(produced):
        if _is_unchecked(candidate):
            return True
        for wanted in _members(expected):
            if _is_unchecked(wanted):
                return True
            have, need = _runtime_class(candidate), _runtime_class(wanted)
            if have is None or need is None:
                return True
            if issubclass(have, need) or (need is float and have is int):
                return True
    return False


def value_matches(value: object, annotation: object) -> bool:
    """Whether ``value`` is an instance of ``annotation`` (outer type only, bools not ints)."""
    if _is_unchecked(annotation):
        return True
    for member in _members(annotation):
        if _is_unchecked(member):
            return True
        cls = _runtime_class(member)
        if cls is None:
            return True
        if isinstance(value, bool) and cls in (int, float):
            continue
        if isinstance(value, cls) or (cls is float and isinstance(value, int)):
            return True
    return False


def resolved_hints(func: Any) -> dict[str, Any]:
    """``typing.get_type_hints`` that degrades to raw annotations when names do not resolve."""
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:
        return dict(getattr(func, "__annotations__", {}))
