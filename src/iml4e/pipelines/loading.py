"""Find a pipeline from a ``module:attribute`` or ``path/to/file.py:attribute`` reference."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from iml4e.pipelines.dsl import PipelineDefinition
from iml4e.pipelines.errors import PipelineNotFound


def load_pipeline(reference: str, *, cwd: Path | None = None) -> PipelineDefinition:
    """The :class:`PipelineDefinition` ``reference`` names.

    Like uvicorn's ``module:app``, the current folder is importable, so a pipeline in
    ``./flows.py`` is ``flows:training``; a file path works too (``flows/train.py:training``).
    """
    module_part, sep, attribute = reference.rpartition(":")
    if not sep or not module_part or not attribute:
        raise PipelineNotFound("expected module:pipeline (e.g. flows:training)", where=reference)
    folder = str((cwd or Path.cwd()).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        if module_part.endswith(".py"):
            module = _import_file(Path(module_part) if cwd is None else cwd / module_part)
        else:
            module = importlib.import_module(module_part)
    except PipelineNotFound:
        raise
    except ModuleNotFoundError as exc:
        raise PipelineNotFound(f"cannot import {exc.name!r}", where=reference) from None
    except Exception as exc:
        raise PipelineNotFound(
            f"importing the module failed ({type(exc).__name__}: {exc})", where=reference
        ) from None
    target: object = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise PipelineNotFound(f"the module has no attribute {part!r}", where=reference)
        target = getattr(target, part)
    if not isinstance(target, PipelineDefinition):
        raise PipelineNotFound(
            f"{attribute} is a {type(target).__name__}, not a @pipeline", where=reference
        )
    return target


def _import_file(path: Path) -> object:
    if not path.is_file():
        raise PipelineNotFound("no such file", where=str(path))
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PipelineNotFound("cannot import this file", where=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
