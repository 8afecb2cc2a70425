"""The pipeline DSL: ``@step`` on plain functions, ``@pipeline`` to wire them into a graph.

A pipeline function is run once, when its graph is built: each call of a step inside it does
not run the step but adds a node to the graph and returns a :class:`StepOutput` placeholder,
which later steps take as inputs. Any argument that is not a placeholder is a *parameter* of
the step (a JSON value, part of its cache key). Called outside a pipeline, a step is just its
function, so steps are unit-tested like any other function.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import hashlib
import inspect
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, ParamSpec, TypeVar, overload

import orjson

from iml4e.pipelines.errors import InvalidParameter, PipelineDefinitionError
from iml4e.pipelines.graph import PipelineGraph, StepNode
from iml4e.pipelines.typechecks import (
    annotations_compatible,
    describe,
    resolved_hints,
    value_matches,
)

P = ParamSpec("P")
R = TypeVar("R")

SINGLE_OUTPUT = "output"


@dataclass(frozen=True)
class StepOptions:
    """How a step runs; set with ``@step(...)`` or ``some_step.with_options(...)``.

    ``cache``: reuse an earlier successful result when code, parameters and inputs match.
    ``retries``/``retry_backoff_s``: attempts after a failure, waiting ``backoff * 2**n`` s.
    ``timeout_s``: an attempt running longer fails. ``version``: bump it to invalidate the
    cache when code the step calls (not its own body) changed. ``serializer``: store the
    output with this serializer instead of the one chosen by type.
    """

    name: str
    cache: bool = True
    retries: int = 0
    retry_backoff_s: float = 1.0
    timeout_s: float | None = None
    version: str = ""
    serializer: str | None = None


@dataclass(frozen=True)
class StepOutput:
    """A step's output inside a pipeline function: a promise of a value, known at run time."""

    step: str
    name: str
    annotation: Any = field(compare=False)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise PipelineDefinitionError(
            f"the output of step {self.step!r} has no value while the pipeline is built "
            f"(asked for .{attribute}); pass it to another step and use it there",
            where=self.step,
        )

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            f"the output of step {self.step!r} cannot decide an `if` while the pipeline is "
            "built; branch inside a step instead",
            where=self.step,
        )

    def __iter__(self) -> Iterator[Any]:
        raise PipelineDefinitionError(
            f"step {self.step!r} has one output; declare `-> tuple[...]` or a NamedTuple to "
            "return several",
            where=self.step,
        )


class StepDefinition(Generic[P, R]):
    """A function made a pipeline step; see :func:`step`."""

    def __init__(self, func: Callable[P, R], options: StepOptions) -> None:
        self.func = func
        self.options = options
        self.signature = inspect.signature(func)
        self.hints = resolved_hints(func)
        self.outputs = _output_names(self.hints.get("return", inspect.Parameter.empty))
        for parameter in self.signature.parameters.values():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise PipelineDefinitionError(
                    "steps take named arguments only (no *args or **kwargs)",
                    where=f"{options.name}({parameter.name})",
                )
        self.__doc__ = func.__doc__
        self.__name__ = getattr(func, "__name__", options.name)
        self.__wrapped__ = func

    @property
    def name(self) -> str:
        """The step's name in its pipeline (unique per pipeline; repeats get ``_2``, ``_3``)."""
        return self.options.name

    @property
    def ref(self) -> str:
        """``module:qualname`` of the function, for workers that import it."""
        return f"{self.func.__module__}:{self.func.__qualname__}"

    @property
    def code_hash(self) -> str:
        """Hash of the function's code as Python parses it, plus ``options.version``.

        Comments, the docstring, formatting and the decorator's options do not count; any
        other change to the body or the signature does.
        """
        return _code_hash(self.func, self.options.version)

    def output_annotation(self, name: str) -> Any:
        """The declared type of output ``name``."""
        return self.outputs[name]

    def with_options(self, **changes: Any) -> StepDefinition[P, R]:
        """A copy with other options, e.g. ``train.with_options(name="train_lr", cache=False)``."""
        try:
            options = replace(self.options, **changes)
        except TypeError as exc:
            raise PipelineDefinitionError(str(exc), where=self.name) from None
        _check_options(options)
        return StepDefinition(self.func, options)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = _BUILDER.get()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.add(self, args, kwargs)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<step {self.name} ({self.ref})>"


@overload
def step(func: Callable[P, R], /) -> StepDefinition[P, R]: ...


@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_backoff_s: float = 1.0,
    timeout_s: float | None = None,
    version: str = "",
    serializer: str | None = None,
) -> Callable[[Callable[P, R]], StepDefinition[P, R]]: ...


def step(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a plain, typed function a pipeline step: ``@step`` or ``@step(retries=2, ...)``.

    Arguments annotated with the type another step returns are inputs; the others are
    parameters with their defaults. The return annotation names the outputs: one value, a
    ``tuple[...]`` (outputs ``output_0``, ``output_1``…) or a ``NamedTuple`` (its fields).
    """

    def decorate(function: Callable[..., Any]) -> StepDefinition[Any, Any]:
        settings = StepOptions(name=options.pop("name", None) or function.__name__, **options)
        _check_options(settings)
        return StepDefinition(function, settings)

    return decorate(func) if func is not None else decorate


class PipelineDefinition:
    """A function that wires steps into a graph; see :func:`pipeline`."""

    def __init__(self, func: Callable[..., Any], *, name: str, experiment: str | None) -> None:
        self.func = func
        self.name = name
        self.experiment = experiment or name
        self.signature = inspect.signature(func)
        self.hints = resolved_hints(func)
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    @property
    def ref(self) -> str:
        """``module:qualname`` of the pipeline function (what ``iml4e pipeline run`` takes)."""
        return f"{self.func.__module__}:{self.func.__qualname__}"

    def defaults(self) -> dict[str, Any]:
        """The pipeline's parameters with their default values (required ones omitted)."""
        return {
            name: parameter.default
            for name, parameter in self.signature.parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check ``params`` against the pipeline's signature and fill in the defaults."""
        params = dict(params or {})
        known = self.signature.parameters
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise InvalidParameter(
                f"unknown parameter (this pipeline takes: {', '.join(known) or 'none'})",
                where=f"{self.name}: {unknown[0]}",
            )
        resolved: dict[str, Any] = {}
        for name, parameter in known.items():
            if name in params:
                value = params[name]
            elif parameter.default is not inspect.Parameter.empty:
                value = parameter.default
            else:
                raise InvalidParameter(
                    "required parameter is missing", where=f"{self.name}: {name}"
                )
            annotation = self.hints.get(name, inspect.Parameter.empty)
            if not value_matches(value, annotation):
                raise InvalidParameter(
                    f"expects {describe(annotation)}, got {type(value).__name__} {value!r}",
                    where=f"{self.name}: {name}",
                )
            resolved[name] = value
        return resolved

    def parse_params(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Turn ``key=value`` strings from a command line into typed parameter values."""
        from iml4e.pipelines.params import parse_value

        known = self.signature.parameters
        parsed: dict[str, Any] = {}
        for name, text in raw.items():
            if name not in known:
                raise InvalidParameter(
                    f"unknown parameter (this pipeline takes: {', '.join(known) or 'none'})",
                    where=f"{self.name}: {name}",
                )
            parsed[name] = parse_value(
                text, self.hints.get(name, inspect.Parameter.empty), where=f"{self.name}: {name}"
            )
        return parsed

    def build(self, params: Mapping[str, Any] | None = None) -> PipelineGraph:
        """Check the parameters, run the pipeline function to trace its steps, check the graph."""
        resolved = self.resolve_params(params)
        builder = _GraphBuilder()
        token = _BUILDER.set(builder)
        try:
            self.func(**resolved)
        finally:
            _BUILDER.reset(token)
        if not builder.nodes:
            raise PipelineDefinitionError("the pipeline calls no step", where=self.name)
        graph = PipelineGraph(
            name=self.name,
            ref=self.ref,
            experiment=self.experiment,
            params=resolved,
            nodes=builder.nodes,
        )
        graph.order()  # raises on a cycle
        return graph

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise PipelineDefinitionError(
            "a pipeline is not called directly: use iml4e.pipelines.run_pipeline(...) or "
            f"`iml4e pipeline run {self.ref}`",
            where=self.name,
        )

    def __repr__(self) -> str:
        return f"<pipeline {self.name} ({self.ref})>"


@overload
def pipeline(func: Callable[..., Any], /) -> PipelineDefinition: ...


@overload
def pipeline(
    *, name: str | None = None, experiment: str | None = None
) -> Callable[[Callable[..., Any]], PipelineDefinition]: ...


def pipeline(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a function that calls steps a pipeline: ``@pipeline`` or ``@pipeline(name=...)``.

    Its own arguments are the pipeline's parameters (``-p key=value`` on the command line);
    ``experiment`` names the MLflow experiment its runs are logged to (default: the name).
    """

    def decorate(function: Callable[..., Any]) -> PipelineDefinition:
        return PipelineDefinition(
            function,
            name=options.get("name") or function.__name__,
            experiment=options.get("experiment"),
        )

    return decorate(func) if func is not None else decorate


# --- building graphs ---------------------------------------------------------------------------


class _GraphBuilder:
    def __init__(self) -> None:
        self.nodes: dict[str, StepNode] = {}

    def _unique_name(self, name: str) -> str:
        if name not in self.nodes:
            return name
        counter = 2
        while f"{name}_{counter}" in self.nodes:
            counter += 1
        return f"{name}_{counter}"

    def add(self, definition: StepDefinition[Any, Any], args: tuple, kwargs: dict) -> Any:
        name = self._unique_name(definition.name)
        if name != definition.name:
            definition = definition.with_options(name=name)
        try:
            bound = definition.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"cannot call the step: {exc}", where=name) from None
        bound.apply_defaults()
        inputs: dict[str, StepOutput] = {}
        params: dict[str, Any] = {}
        for argument, value in bound.arguments.items():
            expected = definition.hints.get(argument, inspect.Parameter.empty)
            where = f"{name}({argument})"
            if isinstance(value, StepOutput):
                if value.step not in self.nodes:
                    raise PipelineDefinitionError(
                        f"input comes from step {value.step!r}, which is not in this pipeline",
                        where=where,
                    )
                if not annotations_compatible(value.annotation, expected):
                    raise PipelineDefinitionError(
                        f"expects {describe(expected)} but step {value.step!r} returns "
                        f"{describe(value.annotation)} as {value.name!r}",
                        where=where,
                    )
                inputs[argument] = value
            elif _contains_output(value):
                raise PipelineDefinitionError(
                    "step outputs must be passed on their own, not inside a list or dict",
                    where=where,
                )
            else:
                _check_parameter(value, expected, where)
                params[argument] = value
        self.nodes[name] = StepNode(name=name, step=definition, inputs=inputs, params=params)
        return _placeholders(definition, name)


def _check_parameter(value: Any, expected: Any, where: str) -> None:
    if not value_matches(value, expected):
        raise InvalidParameter(
            f"expects {describe(expected)}, got {type(value).__name__} {value!r}", where=where
        )
    try:
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        raise InvalidParameter(
            f"parameters must be JSON values (got {type(value).__name__}); produce large or "
            "complex objects in a step and pass its output instead",
            where=where,
        ) from None


def _contains_output(value: Any) -> bool:
    if isinstance(value, StepOutput):
        return True
    if isinstance(value, list | tuple | set):
        return any(_contains_output(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_output(item) for item in value.values())
    return False


def _placeholders(definition: StepDefinition[Any, Any], name: str) -> Any:
    outputs = [StepOutput(name, key, annotation) for key, annotation in definition.outputs.items()]
    returns = definition.hints.get("return", inspect.Parameter.empty)
    if _is_named_tuple(returns):
        return returns(*outputs)
    if list(definition.outputs) == [SINGLE_OUTPUT]:
        return outputs[0]
    return tuple(outputs)


def _is_named_tuple(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and issubclass(annotation, tuple)
        and hasattr(annotation, "_fields")
    )


def _output_names(returns: Any) -> dict[str, Any]:
    import typing

    if _is_named_tuple(returns):
        hints = resolved_hints(returns)
        return {field_name: hints.get(field_name, Any) for field_name in returns._fields}
    if typing.get_origin(returns) is tuple:
        members = typing.get_args(returns)
        if members and Ellipsis not in members:
            return {f"output_{index}": member for index, member in enumerate(members)}
    return {SINGLE_OUTPUT: returns}


def _check_options(options: StepOptions) -> None:
    if not options.name or not options.name.replace("_", "").replace("-", "").isalnum():
        raise PipelineDefinitionError(
            "step names use letters, digits, '_' and '-'", where=repr(options.name)
        )
    if options.retries < 0:
        raise PipelineDefinitionError("retries cannot be negative", where=options.name)
    if options.timeout_s is not None and options.timeout_s <= 0:
        raise PipelineDefinitionError("timeout_s must be positive", where=options.name)
    if options.retry_backoff_s < 0:
        raise PipelineDefinitionError("retry_backoff_s cannot be negative", where=options.name)


@functools.lru_cache(maxsize=4096)
def _code_hash(func: Callable[..., Any], version: str) -> str:
    digest = hashlib.sha256(version.encode())
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
        definition = next(
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        )
        definition.decorator_list = []
        definition.name = "step"  # the name is part of the step's reference, not its code
        if ast.get_docstring(definition, clean=False) is not None:
            definition.body = definition.body[1:] or [ast.Pass()]
        digest.update(ast.unparse(definition).encode())
    except (OSError, TypeError, SyntaxError, StopIteration):
        code = func.__code__
        digest.update(code.co_code)
        digest.update(repr(code.co_consts).encode())
    return digest.hexdigest()


_BUILDER: contextvars.ContextVar[_GraphBuilder | None] = contextvars.ContextVar(
    "iml4e_pipeline_builder", default=None
)

__all__ = [
    "PipelineDefinition",
    "StepDefinition",
    "StepOptions",
    "StepOutput",
    "pipeline",
    "step",
]
