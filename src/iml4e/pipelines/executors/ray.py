"""The ``ray`` executor: each step attempt is one Ray task, on a cluster or on a Ray started here.

Where it runs. ``ray`` joins ``settings.ray_address``, or starts Ray in this process when that
is empty (shut down again by :meth:`RayExecutor.close`); ``ray:auto`` joins this machine's
cluster, ``ray:HOST:PORT`` a cluster's GCS address, ``ray://HOST:PORT`` its Ray client server.
An address that does not answer fails at once with :class:`ExecutorUnavailable` (Ray itself
would retry for minutes).

How step code reaches the workers. Workers unpickle the :class:`StepTask` and run
:func:`execute_step`, so iml4e and the libraries steps import must be installed there (a local
Ray uses this interpreter). The steps' own package often is not: a test module, a script in
the user's folder, a project not installed on the cluster. The first time a step of a
top-level package is submitted, a tiny task asks a worker which file it would import that
package from. The very file this process imported (a local Ray started in the project folder,
a shared filesystem): pickled by reference. Otherwise the package is registered with
``ray.cloudpickle.register_pickle_by_value`` (until :meth:`RayExecutor.close`), so functions,
helpers and classes travel inside each task and workers run exactly the code whose hash is in
the cache key, never a stale copy on the cluster. Installed packages and iml4e always go by
reference, ``__main__`` by value. We chose this over a ``runtime_env`` (``working_dir``,
``py_modules``), which uploads whole folders on each connect and must be told what to ship.
Limits of shipping by value: module-level objects the steps use must be picklable, and a
dataclass output (``dataclass-json`` names its class) needs its module installed on the cluster.

Where artifacts go. Workers load inputs from and store outputs in ``settings.artifact_root``
themselves: for a local Ray the same folder; on a real cluster a filesystem every node mounts at
the same path, or an object store URI (``s3://…``), and a database server (not a SQLite file)
if steps use the store or MLflow.

Output. Ray logs at warning level and workers' output is not copied here (``log_to_driver``
off): what a step prints, logs and raises comes back in its :class:`StepOutcome`.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import socket
import sys
import sysconfig
import threading
import time
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from pathlib import Path
from types import ModuleType
from typing import Any

from iml4e.config import Settings
from iml4e.pipelines.errors import ExecutorUnavailable, UnknownExecutor
from iml4e.pipelines.execute import StepOutcome, StepTask, execute_step

CONNECT_TIMEOUT_S = 5.0
"""How long the address of a cluster may take to accept a connection before we give up."""

PROBE_TIMEOUT_S = 60.0
"""How long to wait for a worker to say where it imports a package from (else: by value)."""

START_HERE = ("", "local")
"""``ray_address`` values that mean: start a Ray instance in this process."""

_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")

_AUTH_HINT = (
    " (a cluster with token authentication also needs RAY_AUTH_MODE=token and its token"
    " in this process's environment or ~/.ray/auth_token)"
)


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
        self._packages_seen: set[str] = set()
        self._packages_by_value: set[str] = set()
        self.owns_connection = not self._ray.is_initialized()
        if self.owns_connection:
            connect(self._ray, address, where=self.spec, timeout_s=connect_timeout_s)
        self._remote = self._ray.remote(num_cpus=num_cpus, max_retries=0)(run_attempt)

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        """Start one attempt as a Ray task; the future resolves to its :class:`StepOutcome`.

        It never raises: when Ray itself fails the attempt (its worker died, the task could
        not be unpickled) the outcome carries Ray's error, without terminal colours.
        """
        self._ship(task.step.func)
        ref = self._remote.options(name=f"iml4e step {task.name}").remote(task)
        future: Future[StepOutcome] = Future()
        with self._lock:
            self._tasks[future] = ref
        submitted = time.time()
        ref.future().add_done_callback(lambda done: self._deliver(future, done, submitted))
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
        pickler = self._ray.cloudpickle
        for package in self._packages_by_value & pickler.list_registry_pickle_by_value():
            with suppress(KeyError, ValueError):
                pickler.unregister_pickle_by_value(sys.modules[package])
        if self.owns_connection:
            self._ray.shutdown()

    def _deliver(self, future: Future[StepOutcome], done: Future[Any], submitted: float) -> None:
        with self._lock:
            self._tasks.pop(future, None)
        error = done.exception()
        outcome = done.result() if error is None else failed_outcome(error, submitted)
        with suppress(InvalidStateError):
            future.set_result(outcome)

    def _ship(self, func: Any) -> None:
        """Pickle ``func``'s top-level package by value unless workers import the same file."""
        package = (getattr(func, "__module__", None) or "__main__").partition(".")[0]
        if package in self._packages_seen or package in ("__main__", "iml4e"):
            return  # __main__ is pickled by value already, iml4e is installed on the workers
        self._packages_seen.add(package)
        module = sys.modules.get(package)
        if module is None or _is_installed(module):
            return
        here = module_origin(package)
        probe = self._ray.remote(num_cpus=0, max_retries=0)(module_origin).remote(package)
        try:
            there = self._ray.get(probe, timeout=PROBE_TIMEOUT_S)
        except Exception:  # no answer: shipping the code is always correct
            with suppress(Exception):
                self._ray.cancel(probe, force=True)
            there = None
        if here is None or there != here:
            self._ray.cloudpickle.register_pickle_by_value(module)
            self._packages_by_value.add(package)


def run_attempt(task: StepTask) -> StepOutcome:
    """What a Ray worker runs: one attempt, inputs loaded from the artifact root."""
    return execute_step(task)


def failed_outcome(error: BaseException, submitted: float) -> StepOutcome:
    """A failure of Ray itself (not of the step) as a failed attempt, in plain text."""
    cause = getattr(error, "cause", None)  # a RayTaskError wraps what went wrong
    inner = cause if isinstance(cause, BaseException) else error
    lines = _ANSI_COLOUR.sub("", str(inner)).strip().splitlines() or [""]
    return StepOutcome(
        error=f"{type(inner).__name__}: {lines[0]}".strip(": "),
        traceback=_ANSI_COLOUR.sub("", str(error)),
        started_at=submitted,
        duration_s=time.time() - submitted,
    )


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
        hint = "" if address in START_HERE else _AUTH_HINT
        raise ExecutorUnavailable(
            f"could not start or join {target}: {type(exc).__name__}: {exc}{hint}".strip(),
            where=where,
        ) from None


def module_origin(name: str) -> str | None:
    """The file this process imports top-level module ``name`` from (without importing it)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    return str(Path(spec.origin).resolve())


def _is_installed(module: ModuleType) -> bool:
    """Whether ``module`` comes from site-packages or the standard library (or is built in)."""
    locations = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
    files = [Path(location).resolve() for location in locations if location]
    paths = sysconfig.get_paths()
    roots = [Path(paths[key]).resolve() for key in ("purelib", "platlib", "stdlib", "platstdlib")]
    return not files or any(
        file.is_relative_to(root) or {"site-packages", "dist-packages"} & set(file.parts)
        for file in files
        for root in roots
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
