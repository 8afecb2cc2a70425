"""Export a pipeline to Kubeflow Pipelines (KFP v2) as a pipeline-spec YAML file.

Every step becomes one container running ``iml4e pipeline run-step REF --step NAME --run-id
JOB_ID --no-retries -p key=value ...``: KFP only orders the containers, retries them and passes the
pipeline parameters; the steps still hand their outputs to each other through iml4e's
metadata database and artifact root, not through KFP artifacts, and iml4e does its own step
caching (KFP's caching is switched off).

Running the YAML therefore needs:

* a Kubeflow Pipelines cluster (KFP v2 backend) to submit it to;
* a container image with iml4e (``pip install iml4e``) *and the module that defines the
  pipeline* installed, so ``PIPELINE_REF`` imports in the pod;
* a shared database and artifact root reachable from every pod (``IML4E_DATABASE_URL`` on
  PostgreSQL, ``IML4E_ARTIFACT_ROOT`` on S3 or a shared volume): a pod's local SQLite file
  and folder are gone when the pod ends, and the next step would not find its inputs.

The SDK (``pip install 'iml4e[kfp]'``) is imported only when :func:`compile_kfp` is called.
"""

from __future__ import annotations

import inspect
import math
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from iml4e.pipelines.errors import InvalidParameter, KfpExportError
from iml4e.pipelines.params import parse_value

if TYPE_CHECKING:
    from iml4e.pipelines.dsl import PipelineDefinition
    from iml4e.pipelines.graph import StepNode

RUN_ID_INPUT = "iml4e_run_id"
"""The input of every step component that receives the KFP job id (``--run-id``)."""

_KFP_TYPES = (bool, int, float, str)
_KFP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class KfpParameter:
    """A pipeline parameter as KFP sees it: a KFP type and a default of that type.

    Parameters annotated ``int``, ``float``, ``str`` or ``bool`` keep their type; any other
    (lists, dicts, ``Optional[...]``, unannotated) becomes a ``str`` parameter holding the
    text ``-p name=TEXT`` gives iml4e — JSON for lists and dicts, ``null`` for ``None``.
    """

    name: str
    type: type
    default: Any


def compile_kfp(
    definition: PipelineDefinition,
    output: Path,
    *,
    image: str,
    params: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = ("iml4e",),
) -> Path:
    """Write ``definition`` as a KFP v2 pipeline YAML at ``output`` and return the path.

    ``image`` runs every step. ``params`` override the pipeline's parameter defaults; the
    result becomes the KFP pipeline's parameter defaults, which can still be changed when the
    run is submitted. ``env`` is set on every container, typically ``IML4E_DATABASE_URL`` and
    ``IML4E_ARTIFACT_ROOT``. It is written into the YAML in clear text: passwords and keys
    (a database URL with a password, S3 credentials) belong in Kubernetes secrets that the
    cluster exposes to the pods as environment variables (a PodDefault, the namespace's
    service account), not here. ``command`` is how the image starts iml4e.

    The graph is built and checked first: bad parameters raise :class:`InvalidParameter`
    and graph errors :class:`PipelineDefinitionError` before anything is written; problems
    specific to KFP or to writing the file raise :class:`KfpExportError`.
    """
    graph = definition.build(params)
    parameters = kfp_parameters(definition, graph.params)
    _check_arguments(definition, image=image, env=env or {}, command=command)
    try:
        from kfp import compiler, dsl
    except ImportError:
        raise KfpExportError(
            "the Kubeflow Pipelines SDK is not installed: pip install 'iml4e[kfp]'",
            where="kfp",
        ) from None

    components = {
        name: _step_component(dsl, graph.nodes[name], graph.ref, parameters, image, command)
        for name in graph.order()
    }

    def add_tasks(*values: Any) -> None:
        arguments = {
            parameter.name: value for parameter, value in zip(parameters, values, strict=True)
        }
        tasks: dict[str, Any] = {}
        for name, component in components.items():
            node = graph.nodes[name]
            task = component(**{RUN_ID_INPUT: dsl.PIPELINE_JOB_ID_PLACEHOLDER}, **arguments)
            task.set_display_name(name)
            task.set_caching_options(False)  # iml4e caches steps itself, by code and inputs
            options = node.step.options
            if options.retries:
                task.set_retry(
                    num_retries=options.retries,
                    # KFP takes whole seconds
                    backoff_duration=f"{math.ceil(options.retry_backoff_s)}s",
                    backoff_factor=2.0,  # iml4e waits backoff * 2**n too
                )
            for variable, value in (env or {}).items():
                task.set_env_variable(variable, value)
            upstream = [tasks[other] for other in sorted(node.upstream)]
            if upstream:
                task.after(*upstream)
            tasks[name] = task

    pipeline_name = kfp_pipeline_name(graph.name)
    body = _with_signature(
        add_tasks,
        name=pipeline_name.replace("-", "_"),
        doc=_first_line(definition.__doc__),
        parameters=[
            inspect.Parameter(
                p.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=p.default,
                annotation=p.type,
            )
            for p in parameters
        ],
    )
    try:
        kfp_pipeline = dsl.pipeline(name=pipeline_name)(body)
        with tempfile.TemporaryDirectory(prefix="iml4e-kfp-") as folder:
            compiled = Path(folder) / "pipeline.yaml"
            compiler.Compiler().compile(pipeline_func=kfp_pipeline, package_path=str(compiled))
            text = compiled.read_text(encoding="utf-8")
    except (TypeError, ValueError) as exc:
        raise KfpExportError(
            f"the KFP SDK rejected the pipeline: {exc}", where=graph.name
        ) from None
    return _write(Path(output), text)


def kfp_parameters(definition: PipelineDefinition, values: Mapping[str, Any]) -> list[KfpParameter]:
    """The KFP pipeline parameters for ``definition`` with ``values`` (every one resolved)."""
    found: list[KfpParameter] = []
    for name in definition.signature.parameters:
        where = f"{definition.name}: {name}"
        if not _KFP_NAME.match(name) or name == RUN_ID_INPUT:
            raise KfpExportError(
                "KFP parameter names start with a letter and use letters, digits and '_' "
                f"({RUN_ID_INPUT!r} is taken by the run id)",
                where=where,
            )
        annotation = definition.hints.get(name, inspect.Parameter.empty)
        value = values[name]
        if annotation in _KFP_TYPES:
            default = float(value) if annotation is float else value
            found.append(KfpParameter(name, annotation, default))
        else:
            found.append(KfpParameter(name, str, _as_text(value, annotation, where)))
    return found


def kfp_pipeline_name(name: str) -> str:
    """``name`` as KFP accepts it: lowercase letters, digits and single dashes, ≤ 128 chars."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:128].rstrip("-")
    if not cleaned:
        raise KfpExportError("the pipeline name has no letters or digits", where=repr(name))
    return cleaned


def _as_text(value: Any, annotation: Any, where: str) -> str:
    """The ``-p`` text that iml4e parses back into ``value`` (see ``params.parse_value``)."""
    candidates = [value] if isinstance(value, str) else []
    candidates.append(orjson.dumps(value).decode())
    for text in candidates:
        try:
            parsed = parse_value(text, annotation, where=where)
        except InvalidParameter:
            continue
        if type(parsed) is type(value) and parsed == value:
            return text
    raise KfpExportError(
        f"{value!r} cannot be passed on a command line as `-p {where.rpartition(': ')[2]}=…` "
        "and read back unchanged; use a JSON value (list, dict, number, text)",
        where=where,
    )


def _check_arguments(
    definition: PipelineDefinition, *, image: str, env: Mapping[str, str], command: Sequence[str]
) -> None:
    if not isinstance(image, str) or not image.strip():
        raise KfpExportError("a container image is required", where="image")
    if isinstance(command, str) or not command or not all(isinstance(c, str) for c in command):
        raise KfpExportError("command is a non-empty list of strings", where="command")
    for variable, value in env.items():
        if not _ENV_NAME.match(str(variable)):
            raise KfpExportError("not a valid environment variable name", where=str(variable))
        if not isinstance(value, str):
            raise KfpExportError(
                f"environment values are strings (got {type(value).__name__})", where=variable
            )
    if ":" not in definition.ref or "<locals>" in definition.ref:
        raise KfpExportError(
            "the pipeline must be a module-level function the image can import",
            where=definition.ref,
        )


def _step_component(
    dsl: Any,
    node: StepNode,
    ref: str,
    parameters: Sequence[KfpParameter],
    image: str,
    command: Sequence[str],
) -> Any:
    """A container component running step ``node`` of pipeline ``ref`` with ``run-step``."""

    def container(*values: Any) -> Any:
        run_id, *parameter_values = values
        # KFP retries the pod (set_retry below), so the step itself runs once per pod.
        args = [
            "pipeline",
            "run-step",
            ref,
            "--step",
            node.name,
            "--run-id",
            str(run_id),
            "--no-retries",
        ]
        for parameter, value in zip(parameters, parameter_values, strict=True):
            args += ["-p", f"{parameter.name}={value}"]
        return dsl.ContainerSpec(image=image, command=list(command), args=args)

    inputs = [
        inspect.Parameter(RUN_ID_INPUT, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)
    ]
    inputs += [
        inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=p.type)
        for p in parameters
    ]
    function = _with_signature(
        container,
        name=node.name,
        doc=_first_line(node.step.__doc__) or f"Step {node.name} of {ref}.",
        parameters=inputs,
        returns=dsl.ContainerSpec,
    )
    try:
        return dsl.container_component(function)
    except (TypeError, ValueError) as exc:
        raise KfpExportError(f"the KFP SDK rejected the step: {exc}", where=node.name) from None


def _with_signature(
    function: Callable[..., Any],
    *,
    name: str,
    doc: str | None,
    parameters: Sequence[inspect.Parameter],
    returns: Any = inspect.Signature.empty,
) -> Callable[..., Any]:
    """``function`` (taking ``*values``) dressed as ``def name(p1: T1 = d1, ...)`` for kfp.

    kfp's decorators read ``inspect.signature`` for the inputs, ``__name__`` for the
    component name and the docstring for the description, then call the function with one
    value per parameter, in order.
    """
    function.__signature__ = inspect.Signature(parameters, return_annotation=returns)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in parameters}
    if returns is not inspect.Signature.empty:
        function.__annotations__["return"] = returns
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


def _first_line(doc: str | None) -> str | None:
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    return lines[0] if lines else None


def _write(output: Path, text: str) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KfpExportError(
            f"cannot write the pipeline file ({exc.strerror or exc})", where=str(output)
        ) from None
    return output


__all__ = ["RUN_ID_INPUT", "KfpExportError", "KfpParameter", "compile_kfp", "kfp_parameters"]
