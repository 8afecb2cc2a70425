"""Deployments as managed background processes: create, check, stop, read the log.

``create_deployment`` checks every option, the registry and the port before anything starts,
then starts ``iml4e serve`` detached (it outlives the caller), records it ``starting`` with its
pid, address, log file and options, and waits until it answers ``/health``. The server itself
records ``serving`` once its model is loaded and ``stopped`` when it shuts down; the manager
records ``failed`` when a start does not come up, and never reports a dead process as running.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iml4e.audit import record_audit
from iml4e.config import Settings
from iml4e.errors import BadInput
from iml4e.ports import ServerAddressError, ensure_port_free, find_free_port, http_url
from iml4e.serving.deployments import (
    ACTIVE_STATES,
    DeploymentInfo,
    get_deployment,
    list_deployments,
    record_deployment_pid,
    record_deployment_start,
    set_deployment_state,
)
from iml4e.serving.errors import (
    DeploymentFailed,
    DeploymentNotFound,
    DeploymentNotManaged,
    DeploymentRunning,
    InvalidDeploymentSpec,
)
from iml4e.serving.model_refs import ResolvedModel, model_uri, resolve_model
from iml4e.serving.process import (
    READY_TIMEOUT_S,
    exit_code_of,
    health,
    log_tail,
    process_command_line,
    process_running,
    serve_command,
    server_environment,
    spawn_detached_server,
    terminate_server,
    wait_until_ready,
)
from iml4e.serving.run import MAX_WORKERS
from iml4e.serving.spec import ServeSpec
from iml4e.store import Store, open_store

DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
"""Deployment names: used in file names, URLs (``/v2/models/{name}``) and KServe names."""


@dataclass(frozen=True)
class DeploymentStatus:
    """A recorded deployment and what its process and ``/health`` say right now."""

    deployment: DeploymentInfo
    running: bool
    """The server process is alive (by pid; by ``/health`` for a server started by hand)."""
    healthy: bool
    """``/health`` answered for this deployment."""
    served_version: str | None
    """The model version the running server reports on ``/health``."""
    problem: str | None
    """Why the recorded state and the live facts disagree, when they do."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            **asdict(self.deployment),
            "running": self.running,
            "healthy": self.healthy,
            "served_version": self.served_version,
            "problem": self.problem,
        }


def create_deployment(
    settings: Settings,
    name: str,
    *,
    model: str,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 1,
    challenger: str | None = None,
    split: float | None = None,
    shadow: str | None = None,
    fallback: str | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
    actor: str | None = None,
) -> DeploymentInfo:
    """Start a model server for ``model`` as deployment ``name`` and wait until it answers.

    ``model``, ``challenger``, ``shadow`` and ``fallback`` are ``NAME@ALIAS``, ``NAME/VERSION``
    or ``models:/`` URIs. A canary sends the fraction ``split`` (between 0 and 1) of requests
    to ``challenger``; a ``shadow`` model answers every request too, but only into the log; the
    ``fallback`` model answers while the deployment is paused. ``port`` None picks a free one.

    Raises a :class:`~iml4e.errors.BadInput` (before anything starts or is recorded) for a bad
    name or option, a model, alias or version not in the registry, a deployment of that name
    that is still running, or a port in use; :class:`DeploymentFailed` with the server's log
    tail when it starts but does not come up (it is then killed and recorded ``failed``).
    ``actor`` (default: the settings' user) is recorded as who created it.
    """
    actor = actor or settings.user
    spec = _checked_spec(
        name,
        model=model,
        workers=workers,
        challenger=challenger,
        split=split,
        shadow=shadow,
        fallback=fallback,
    )
    with open_store(settings) as store:
        _refuse_if_running(store, name)
        port = _checked_port(host, port)
        main = _check_registry(settings, store, spec)
        url = http_url(host, port)
        log_path = deployment_log_path(settings, name)
        record_deployment_start(
            store,
            name,
            model_name=main.name,
            model_version=main.version,
            host=host,
            port=port,
            url=url,
            log_path=str(log_path),
            spec=spec.as_record(workers=workers),
            actor=actor,
        )
        command = serve_command(spec, host=host, port=port, workers=workers)
        _start_server(settings, store, name, command, url, log_path, ready_timeout)
        record_audit(
            store,
            actor=actor,
            action="deployment.create",
            target=f"deployment:{name}",
            detail={"model": f"{main.name}@{main.version}", "url": url},
        )
        return get_deployment(store, name)


def deployment_status(settings: Settings, name: str) -> DeploymentStatus:
    """Deployment ``name`` as recorded, with whether its process lives and ``/health`` answers.

    A deployment recorded as running whose process is gone is reported as such (``running``
    False and a ``problem``), never as serving.
    """
    with open_store(settings) as store:
        info = get_deployment(store, name)
    running = server_running(info)
    answer = health(info.url) if running and info.url else None
    healthy = answer is not None and answer.get("deployment", name) == name
    served = None
    if answer is not None and healthy and "version" in answer:
        served = str(answer["version"])
    return DeploymentStatus(info, running, healthy, served, _problem(info, running, healthy))


def list_deployment_statuses(settings: Settings) -> list[DeploymentStatus]:
    """Every recorded deployment with whether its process lives (``/health`` is only asked of
    servers started by hand, which have no pid)."""
    with open_store(settings) as store:
        deployments = list_deployments(store)
    statuses = []
    for info in deployments:
        running = server_running(info)
        statuses.append(DeploymentStatus(info, running, False, None, _problem(info, running)))
    return statuses


def stop_deployment(settings: Settings, name: str, *, actor: str) -> DeploymentInfo:
    """Stop deployment ``name``'s server (SIGTERM, then SIGKILL) and record it ``stopped``.

    Stopping a deployment that is not running changes nothing. A server started by hand
    (``iml4e serve``, no pid recorded) that still answers is refused with
    :class:`DeploymentNotManaged`: it is stopped where it was started.
    """
    with open_store(settings) as store:
        info = get_deployment(store, name)
        pid = info.pid
        if pid is None and server_running(info):
            raise DeploymentNotManaged(
                f"its server at {info.url} was started by hand (iml4e serve), not by "
                "iml4e deploy; stop it where it runs (Ctrl-C or SIGTERM)",
                where=f"deployment {name!r}",
            )
        stopped = False
        if pid is not None and _is_server_of(pid, name):
            terminate_server(pid, exited=lambda: not process_running(pid))
            stopped = True
        info = get_deployment(store, name)  # as the server may have recorded it on SIGTERM
        if info.state in ACTIVE_STATES:
            info = set_deployment_state(store, name, "stopped", actor=actor)
            stopped = True
        if stopped:
            record_audit(
                store,
                actor=actor,
                action="deployment.stop",
                target=f"deployment:{name}",
                detail={"pid": pid},
            )
        return info


def change_split(settings: Settings, name: str, split: float, *, actor: str) -> DeploymentInfo:
    """Send the fraction ``split`` of deployment ``name``'s requests to its canary challenger.

    The server is restarted with the options it was created with and the new split, on the
    same address (requests in between are refused, so do it when a short gap is acceptable).
    Raises :class:`InvalidDeploymentSpec` when the deployment has no challenger, is not
    ``serving`` (a paused one must not be served again by the restart), or the split is not
    strictly between 0 and 1; :class:`DeploymentNotManaged` when it was started by hand.
    """
    with open_store(settings) as store:
        info = get_deployment(store, name)
    challenger = info.spec.get("challenger_uri")
    if not challenger:
        raise InvalidDeploymentSpec(
            "has no canary challenger: a traffic split needs one (iml4e deploy create "
            "--challenger)",
            where=f"deployment {name!r}",
        )
    if info.state != "serving":
        # a restart would serve again: a paused deployment stays paused, a stopped one stopped
        raise InvalidDeploymentSpec(
            f"is {info.state}: only a serving deployment's split can be changed",
            where=f"deployment {name!r}",
        )
    if info.pid is None and server_running(info):
        raise DeploymentNotManaged(
            "its server was started by hand (iml4e serve); restart it there with --split",
            where=f"deployment {name!r}",
        )
    _checked_spec(
        name,
        model=str(info.spec.get("model_uri")),
        workers=int(info.spec.get("workers") or 1),
        challenger=challenger,
        split=split,
        shadow=None,
        fallback=info.spec.get("fallback_uri"),
    )
    stop_deployment(settings, name, actor=actor)
    return create_deployment(
        settings,
        name,
        model=str(info.spec["model_uri"]),
        host=info.host or "127.0.0.1",
        port=info.port,
        workers=int(info.spec.get("workers") or 1),
        challenger=challenger,
        split=split,
        fallback=info.spec.get("fallback_uri"),
        actor=actor,
    )


def deployment_log(settings: Settings, name: str, lines: int = 50) -> str:
    """The last ``lines`` lines of deployment ``name``'s server log."""
    if lines < 1:
        raise BadInput("must be at least 1", where="--lines")
    with open_store(settings) as store:
        info = get_deployment(store, name)
    path = Path(info.log_path) if info.log_path else deployment_log_path(settings, name)
    if not path.exists():
        return ""
    return log_tail(path, lines, separator="\n")


def deployment_log_path(settings: Settings, name: str) -> Path:
    """Where deployment ``name``'s server writes its output."""
    return settings.home / "deployments" / f"{name}.log"


def server_running(info: DeploymentInfo) -> bool:
    """Whether deployment ``info``'s server is alive: by pid, or (for a server started by hand,
    with no pid) by its ``/health`` answering."""
    if info.pid is not None:
        return _is_server_of(info.pid, info.name)
    if info.url and info.state in ACTIVE_STATES:
        answer = health(info.url)
        return answer is not None and answer.get("deployment") == info.name
    return False


def _problem(info: DeploymentInfo, running: bool, healthy: bool | None = None) -> str | None:
    """How the recorded state and the live facts disagree (``healthy`` None: not asked)."""
    server = f"process {info.pid}" if info.pid else f"the server at {info.url}"
    if info.state in ACTIVE_STATES and not running:
        gone = f"process {info.pid} is gone" if info.pid else f"nothing answers at {info.url}"
        return f"recorded {info.state} but {gone}"
    if info.state not in ACTIVE_STATES and running:
        return f"recorded {info.state} but {server} still runs"
    if running and healthy is False and info.state != "starting":
        return f"{server} runs but /health does not answer at {info.url}"
    return None


def _checked_spec(
    name: str,
    *,
    model: str,
    workers: int,
    challenger: str | None,
    split: float | None,
    shadow: str | None,
    fallback: str | None,
) -> ServeSpec:
    if not DEPLOYMENT_NAME.match(name):
        raise InvalidDeploymentSpec(
            "a deployment name is 1 to 63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            where=f"deployment name {name!r}",
        )
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidDeploymentSpec(f"must be between 1 and {MAX_WORKERS}", where="--workers")

    def uri(reference: str | None, option: str) -> str | None:
        return None if reference is None else model_uri(reference, where=option)

    spec = ServeSpec(
        model_uri=model_uri(model, where="--model"),
        deployment=name,
        challenger_uri=uri(challenger, "--challenger"),
        split=split,
        shadow_uri=uri(shadow, "--shadow"),
        fallback_uri=uri(fallback, "--fallback"),
    )
    spec.check()
    return spec


def _start_server(
    settings: Settings,
    store: Store,
    name: str,
    command: list[str],
    url: str,
    log_path: Path,
    ready_timeout: float,
) -> None:
    """Spawn the recorded deployment's server and wait for it; on failure kill it, record
    ``failed`` with the reason, and raise."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log_path.write_text(f"{started} starting: {shlex.join(command)}\n")
    try:
        pid = spawn_detached_server(command, server_environment(settings), log_path)
    except OSError as exc:
        set_deployment_state(store, name, "failed", actor=settings.user, reason=str(exc))
        raise DeploymentFailed(f"cannot start the model server ({exc})", where=name) from None
    record_deployment_pid(store, name, pid)
    try:
        wait_until_ready(
            url,
            deployment=name,
            exit_code=lambda: exit_code_of(pid),
            log_path=log_path,
            timeout=ready_timeout,
        )
    except BaseException as exc:  # Ctrl-C while waiting too: no server is left half started
        terminate_server(pid, exited=lambda: not process_running(pid))
        reason = str(exc) if isinstance(exc, DeploymentFailed) else type(exc).__name__
        set_deployment_state(store, name, "failed", actor=settings.user, reason=reason)
        raise


def _refuse_if_running(store: Store, name: str) -> None:
    try:
        info = get_deployment(store, name)
    except DeploymentNotFound:
        return
    if info.state in ACTIVE_STATES and server_running(info):
        at = f" (pid {info.pid})" if info.pid else ""
        raise DeploymentRunning(
            f"already running at {info.url}{at}; stop it first (iml4e deploy stop {name})",
            where=f"deployment {name!r}",
        )


def _checked_port(host: str, port: int | None) -> int:
    if port is None:
        try:
            return find_free_port(host)
        except OSError as exc:
            raise ServerAddressError(
                f"cannot find a free port on {host!r} ({exc.strerror or exc})", where="--host"
            ) from None
    if not 1 <= port <= 65535:
        raise InvalidDeploymentSpec(f"must be between 1 and 65535 (got {port})", where="--port")
    ensure_port_free(host, port, "--port")
    return port


def _check_registry(settings: Settings, store: Store, spec: ServeSpec) -> ResolvedModel:
    from iml4e.tracking import connect_tracking

    client = connect_tracking(settings, store)
    main = resolve_model(client, spec.model_uri, where="--model")
    for option, uri in spec.follow().items():
        if option != "champion":
            # a canary or shadow alias may be set later (the server follows it); a fallback
            # is the safety net of a pause, so it must exist now
            resolve_model(client, uri, where=f"--{option}", alias_may_be_unset=option != "fallback")
    return main


def _is_server_of(pid: int, name: str) -> bool:
    """``pid`` lives and is deployment ``name``'s server (not a later process reusing the pid)."""
    if not process_running(pid):
        return False
    command = process_command_line(pid)
    return command is None or ("serve" in command and name in command)
