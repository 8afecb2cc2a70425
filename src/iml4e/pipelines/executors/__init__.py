"""Executors, chosen by name or URI: ``local`` (threads here) and ``ray`` (a Ray cluster).

Listed as data and imported lazily, so Ray is only imported when it is asked for.
"""

from __future__ import annotations

from importlib import import_module

from iml4e.config import Settings
from iml4e.pipelines.errors import UnknownExecutor
from iml4e.pipelines.executors.base import Executor

EXECUTORS: dict[str, str] = {
    "local": "iml4e.pipelines.executors.local:open_local_executor",
    "ray": "iml4e.pipelines.executors.ray:open_ray_executor",
}


def executor_scheme(spec: str) -> str:
    """``local``, ``local:4`` → ``local``; ``ray``, ``ray://host:10001`` → ``ray``."""
    return spec.split(":", 1)[0].strip().lower()


def open_executor(spec: str | None, settings: Settings) -> Executor:
    """The executor ``spec`` names (default ``settings.pipeline_executor``).

    ``local`` or ``local:N`` (N threads; default ``settings.pipeline_workers``), ``ray``
    (joins ``settings.ray_address`` or starts Ray here), ``ray://host:port`` or ``ray:ADDRESS``.
    """
    spec = (spec or settings.pipeline_executor).strip()
    scheme = executor_scheme(spec)
    target = EXECUTORS.get(scheme)
    if target is None:
        raise UnknownExecutor(f"no such executor (known: {', '.join(EXECUTORS)})", where=spec)
    module_name, _, attribute = target.partition(":")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise UnknownExecutor(
            f"the {scheme} executor needs an extra: pip install 'iml4e[{scheme}]' ({exc})",
            where=spec,
        ) from None
    return getattr(module, attribute)(spec, settings)


__all__ = ["EXECUTORS", "Executor", "executor_scheme", "open_executor"]
