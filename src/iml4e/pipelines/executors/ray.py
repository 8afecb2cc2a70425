"""The ``ray`` executor: each step attempt is one Ray task, on a cluster or on a Ray started here.

Where it runs. ``ray`` joins ``settings.ray_address``; when that is empty (or ``local``) a
Ray instance is started in this process with ``ray.init`` and shut down by :meth:`close`.
``ray:auto`` joins the cluster this machine belongs to, ``ray:HOST:PORT`` a cluster's GCS
address, ``ray://HOST:PORT`` a cluster's Ray client server. An address that does not answer
fails at once with :class:`ExecutorUnavailable` (Ray itself would keep retrying for minutes).

How step code reaches the workers. A worker runs :func:`execute_step` on the pickled
:class:`StepTask`, so iml4e (same version) and the libraries the steps import must be
installed where the workers run; for a local Ray they are, the workers use this interpreter.
The steps' own code usually is *not* importable there: a test module, a script in the user's
folder, a project that is not installed on the cluster. So before a task is submitted, the
top-level package of its step function's module is registered with Ray's cloudpickle to be
pickled *by value* (``ray.cloudpickle.register_pickle_by_value``) unless it is iml4e or is
installed (under site-packages or the standard library). The function, its helpers and the
classes it uses then travel inside the task; nothing needs uploading, and it works the same
through the Ray client. We chose this over a ``runtime_env`` ``working_dir``/``py_modules``,
which uploads whole folders on every connect and needs to know which folder to ship.
Limits: module-level objects the steps use (a client, a lock) must be picklable, and an
artifact serialized with plain pickle that refers to a class of such a module can only be
loaded by a worker that can import that module.

Where artifacts go. Workers read a step's inputs from and write its outputs to
``settings.artifact_root`` themselves. For a local Ray that is the same folder; on a real
cluster ``artifact_root`` must be a filesystem every node mounts at the same path, or an
object store URI (``s3://…``), and the database must be a server (not a SQLite file) if steps
use the store or MLflow.

Output. Ray's own logs are kept at warning level and workers' output is not copied to this
process (``log_to_driver=False``): what a step prints, logs and raises comes back in its
:class:`StepOutcome` (and the run's records), the worker logs of the Ray session keep the rest.
"""

from __future__ import annotations

import logging
import socket
import sys
import sysconfig
import threading
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from iml4e.config import Settings
from iml4e.errors import BadInput
from iml4e.pipelines.errors import UnknownExecutor
from iml4e.pipelines.execute import StepOutcome, StepTask, execute_step

CONNECT_TIMEOUT_S = 5.0
"""How long the address of a cluster may take to accept a connection before we give up."""

START_HERE = ("", "local")
"""``ray_address`` values that mean: start a Ray instance in this process."""


class ExecutorUnavailable(BadInput):
    """The executor's engine could not be reached or started (``where`` names the address)."""


class RayExecutor:
    """Runs step attempts as Ray tasks with ``num_cpus`` CPUs each (see the module docstring).

    ``address`` is ``""``/``"local"`` (start Ray here), ``"auto"``, ``"HOST:PORT"`` or
    ``"ray://HOST:PORT"``. When Ray is already initialised in this process (the caller called
    ``ray.init``), that connection is used as it is and left open by :meth:`close`.
    """

    name = "ray"

    def __init__(
        self,
        address: str = "",
        *,
        spec: str | None = None,
        num_cpus: float = 1.0,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.spec = spec or (f"ray:{address}" if address else "ray")
        self.address = address
        self.num_cpus = num_cpus
        self._ray = import_ray(self.spec)
        self._tasks: dict[Future[StepOutcome], Any] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.owns_connection = not self._ray.is_initialized()
        if self.owns_connection:
            connect(self._ray, address, where=self.spec, timeout_s=connect_timeout_s)
        self._remote = self._ray.remote(num_cpus=num_cpus, max_retries=0)(run_attempt)

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        """Start one attempt as a Ray task; the future resolves to its :class:`StepOutcome`."""
        ship_by_value(self._ray, task.step.func)
        ref = self._remote.options(name=f"iml4e step {task.name}").remote(task)
        future: Future[StepOutcome] = ref.future()
        with self._lock:
            self._tasks[future] = ref
        future.add_done_callback(self._forget)
        return future

    def abandon(self, future: Future[StepOutcome]) -> None:
        """Kill the attempt's worker (``ray.cancel(force=True)``); a new worker takes its place."""
        with self._lock:
            ref = self._tasks.pop(future, None)
        if ref is not None:
            with suppress(Exception):  # it finished meanwhile, or the cluster is gone
                self._ray.cancel(ref, force=True)

    def close(self) -> None:
        """Cancel what still runs and disconnect (stopping Ray if it was started here)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            refs, self._tasks = list(self._tasks.values()), {}
        for ref in refs:
            with suppress(Exception):
                self._ray.cancel(ref, force=True)
        if self.owns_connection:
            self._ray.shutdown()

    def _forget(self, future: Future[StepOutcome]) -> None:
        with self._lock:
            self._tasks.pop(future, None)


def run_attempt(task: StepTask) -> StepOutcome:
    """What a Ray worker runs: one attempt, inputs loaded from the artifact root."""
    return execute_step(task)


def open_ray_executor(spec: str, settings: Settings) -> RayExecutor:
    """``ray`` (``settings.ray_address``), ``ray:auto``, ``ray:HOST:PORT`` or ``ray://HOST:PORT``."""
    return RayExecutor(ray_address(spec, settings), spec=spec)


def ray_address(spec: str, settings: Settings) -> str:
    """The address ``spec`` means, checked: ``""`` (start here), ``auto`` or ``[ray://]HOST:PORT``."""
    if spec.lower().startswith("ray://"):
        address = spec
    else:
        _, colon, rest = spec.partition(":")
        address = rest.strip() if colon else settings.ray_address.strip()
        if colon and not address:
            raise UnknownExecutor("ray: needs an address: ray:auto or ray:HOST:PORT", where=spec)
    if address.lower() in (*START_HERE, "auto"):
        return address.lower()
    if _host_and_port(address) is None:
        raise UnknownExecutor(
            f"{address!r} is not a Ray address (expected auto, HOST:PORT or ray://HOST:PORT)",
            where=spec,
        )
    return address


def import_ray(where: str) -> ModuleType:
    """Ray, imported now (importing iml4e never imports it)."""
    try:
        import ray
    except ImportError as exc:
        raise UnknownExecutor(
            f"the ray executor needs Ray: pip install 'iml4e[ray]' ({exc})", where=where
        ) from None
    return ray


def connect(ray: Any, address: str, *, where: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """``ray.init`` quietly: start Ray here for ``""``/``local``, else join ``address``.

    A cluster address is first checked with a plain TCP connection, because ``ray.init``
    retries an unreachable address for minutes.
    """
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if address in START_HERE:
        options.update(address="local", include_dashboard=False)
        target = "a Ray instance on this machine"
    else:
        endpoint = _resolve_auto() if address == "auto" else _host_and_port(address)
        if endpoint is not None:
            _check_reachable(*endpoint, address=address, timeout_s=timeout_s)
        options["address"] = address
        target = f"the Ray cluster at {address}"
    try:
        ray.init(**options)
    except Exception as exc:
        raise ExecutorUnavailable(
            f"could not start or join {target}: {type(exc).__name__}: {exc}".strip(),
            where=where,
        ) from None


def ship_by_value(ray: Any, func: Any) -> None:
    """Make Ray pickle ``func``'s top-level package by value unless workers can import it."""
    module_name = getattr(func, "__module__", None) or "__main__"
    top = module_name.partition(".")[0]
    if top in ("__main__", "iml4e"):  # __main__ is pickled by value already
        return
    module = sys.modules.get(top)
    if module is None or _is_installed(module):
        return
    if top not in ray.cloudpickle.list_registry_pickle_by_value():
        ray.cloudpickle.register_pickle_by_value(module)


def _is_installed(module: ModuleType) -> bool:
    """Whether ``module`` comes from site-packages or the standard library (or is built in)."""
    locations = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    files = [Path(location).resolve() for location in locations if location]
    if not files:
        return True
    paths = sysconfig.get_paths()
    roots = {Path(paths[key]).resolve() for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    return any(file.is_relative_to(root) for file in files for root in roots) or any(
        part in ("site-packages", "dist-packages") for part in files[0].parts
    )


def _host_and_port(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (optionally after ``ray://``) split, or None if it is not one."""
    bare = address[len("ray://") :] if address.lower().startswith("ray://") else address
    host, colon, port = bare.rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _resolve_auto() -> tuple[str, int] | None:
    """The address ``auto`` finds (``RAY_ADDRESS`` or this machine's latest cluster), if any."""
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # a Ray without the helper: ray.init will find it (or fail) itself
        return None
    try:
        found = canonicalize_bootstrap_address("auto")
    except Exception:
        return None  # none found: ray.init says so quickly, in its own words
    return _host_and_port(found) if isinstance(found, str) else None


def _check_reachable(host: str, port: int, *, address: str, timeout_s: float) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ExecutorUnavailable(
            f"no Ray cluster answers at {address} ({reason}); start one with `ray start "
            "--head`, or leave ray_address empty to start Ray on this machine",
            where=address,
        ) from None


__all__ = [
    "ExecutorUnavailable",
    "RayExecutor",
    "open_ray_executor",
    "ray_address",
    "run_attempt",
]
