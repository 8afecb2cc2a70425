"""Deployment records: what is served where, which version, in which state, with history.

A deployment started by the manager (``iml4e deploy``) also keeps its process id, address, log
file and create options; the server records the version it loaded without touching those, so
the manager and the server can each write what they know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iml4e.serving.errors import DeploymentNotFound, UnknownDeploymentState
from iml4e.store import Store
from iml4e.store.models import Deployment, DeploymentEvent

STATES = ("starting", "serving", "paused", "stopped", "failed")
"""Every state a deployment can be in; ``starting`` until the server has loaded its model."""

ACTIVE_STATES = ("starting", "serving", "paused")
"""States in which a deployment's server is meant to be running."""


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment as the other rooms see it."""

    name: str
    model_name: str
    model_version: str
    state: str
    url: str | None
    updated_at: datetime
    pid: int | None = None
    host: str | None = None
    port: int | None = None
    log_path: str | None = None
    spec: dict[str, Any] = field(default_factory=dict)
    """The options the deployment was created with (model_uri, challenger_uri, split, …)."""


def record_deployment(
    store: Store,
    name: str,
    *,
    model_name: str,
    model_version: str,
    url: str | None,
    actor: str,
    state: str = "serving",
) -> DeploymentInfo:
    """Create or update deployment ``name`` and append a ``deployed`` event.

    The process fields (pid, host, port, log file, create options) are left as they are: the
    server calls this once its model is loaded, after the manager recorded them.
    """
    _check_state(state)
    with store.session() as session:
        deployment = _find(session, name)
        previous = None if deployment is None else deployment.model_version
        if deployment is not None and deployment.state == "starting":
            previous = _last_event(deployment, "starting").get("previous_version")
        if deployment is None:
            deployment = Deployment(
                name=name, model_name=model_name, model_version=model_version, state=state, url=url
            )
            session.add(deployment)
        deployment.model_name, deployment.model_version = model_name, model_version
        deployment.state, deployment.url = state, url
        session.flush()
        _add_event(
            session,
            deployment,
            "deployed",
            actor,
            {
                "model": model_name,
                "version": model_version,
                "previous_version": previous,
                "url": url,
            },
        )
        return _info(deployment)


def record_deployment_start(
    store: Store,
    name: str,
    *,
    model_name: str,
    model_version: str,
    host: str,
    port: int,
    url: str,
    log_path: str,
    spec: dict[str, Any],
    actor: str,
) -> DeploymentInfo:
    """Create or reset deployment ``name`` in state ``starting``, before its server starts.

    A row left by an earlier run of the same name is reused: its history is kept and its
    process fields are replaced (the pid is unknown until :func:`record_deployment_pid`).
    """
    with store.session() as session:
        deployment = _find(session, name)
        previous = None if deployment is None else deployment.model_version
        if deployment is None:
            deployment = Deployment(
                name=name, model_name=model_name, model_version=model_version, state="starting"
            )
            session.add(deployment)
        deployment.model_name, deployment.model_version = model_name, model_version
        deployment.state, deployment.url = "starting", url
        deployment.pid, deployment.host, deployment.port = None, host, port
        deployment.log_path, deployment.spec = log_path, dict(spec)
        session.flush()
        detail = {"spec": dict(spec), "url": url, "previous_version": previous}
        _add_event(session, deployment, "starting", actor, detail)
        return _info(deployment)


def record_deployment_pid(store: Store, name: str, pid: int) -> DeploymentInfo:
    """Remember the process id of deployment ``name``'s server (no event: the start has one)."""
    with store.session() as session:
        deployment = _get(session, name)
        deployment.pid = pid
        session.flush()
        return _info(deployment)


def set_deployment_state(
    store: Store, name: str, state: str, *, actor: str, reason: str | None = None
) -> DeploymentInfo:
    """Move deployment ``name`` to ``state`` (one of :data:`STATES`), with an event.

    ``reason`` says why, for the history (a failed start's log tail, an operator's note).
    """
    _check_state(state)
    with store.session() as session:
        deployment = _get(session, name)
        deployment.state = state
        _add_event(session, deployment, state, actor, {} if reason is None else {"reason": reason})
        session.flush()
        return _info(deployment)


def add_deployment_event(
    store: Store, name: str, kind: str, *, actor: str, detail: dict[str, Any]
) -> None:
    """Append an event of ``kind`` (``swapped``, ``override``…) to deployment ``name``."""
    with store.session() as session:
        _add_event(session, _get(session, name), kind, actor, dict(detail))


def get_deployment(store: Store, name: str) -> DeploymentInfo:
    """The deployment called ``name``."""
    with store.session() as session:
        return _info(_get(session, name))


def list_deployments(store: Store) -> list[DeploymentInfo]:
    """Every recorded deployment, by name."""
    with store.session() as session:
        return [_info(d) for d in session.scalars(select(Deployment).order_by(Deployment.name))]


def deployment_events(store: Store, name: str) -> list[dict[str, Any]]:
    """The history of deployment ``name``, oldest first."""
    with store.session() as session:
        deployment = _get(session, name)
        return [
            {"kind": e.kind, "actor": e.actor, "at": e.created_at, "detail": e.detail}
            for e in deployment.events
        ]


def _check_state(state: str) -> None:
    if state not in STATES:
        raise UnknownDeploymentState(
            f"unknown deployment state (expected one of {', '.join(STATES)})", where=repr(state)
        )


def _last_event(deployment: Deployment, kind: str) -> dict[str, Any]:
    for event in reversed(deployment.events):
        if event.kind == kind:
            return dict(event.detail or {})
    return {}


def _find(session: Any, name: str) -> Deployment | None:
    return session.scalars(select(Deployment).where(Deployment.name == name)).first()


def _get(session: Any, name: str) -> Deployment:
    deployment = _find(session, name)
    if deployment is None:
        raise DeploymentNotFound("no such deployment", where=f"deployment {name!r}")
    return deployment


def _add_event(
    session: Any, deployment: Deployment, kind: str, actor: str, detail: dict[str, Any]
) -> None:
    session.add(DeploymentEvent(deployment_id=deployment.id, kind=kind, actor=actor, detail=detail))


def _info(deployment: Deployment) -> DeploymentInfo:
    return DeploymentInfo(
        name=deployment.name,
        model_name=deployment.model_name,
        model_version=deployment.model_version,
        state=deployment.state,
        url=deployment.url,
        updated_at=deployment.updated_at,
        pid=deployment.pid,
        host=deployment.host,
        port=deployment.port,
        log_path=deployment.log_path,
        spec=dict(deployment.spec or {}),
    )
