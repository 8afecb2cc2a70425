"""Deployment records: what is served where, which version, in which state, with history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iml4e.serving.errors import DeploymentNotFound
from iml4e.store import Store
from iml4e.store.models import Deployment, DeploymentEvent

STATES = ("starting", "serving", "paused", "stopped", "failed")


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment as the other rooms see it."""

    name: str
    model_name: str
    model_version: str
    state: str
    url: str | None
    updated_at: datetime


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
    """Create or update deployment ``name`` and append a ``deployed`` event."""
    with store.session() as session:
        deployment = session.scalars(select(Deployment).where(Deployment.name == name)).first()
        previous = None if deployment is None else deployment.model_version
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


def set_deployment_state(
    store: Store, name: str, state: str, *, actor: str, reason: str | None = None
) -> DeploymentInfo:
    """Move deployment ``name`` to ``state``, with an event (and its ``reason``)."""
    if state not in STATES:
        raise ValueError(f"unknown deployment state {state!r}")
    with store.session() as session:
        deployment = _get(session, name)
        deployment.state = state
        _add_event(session, deployment, state, actor, {} if reason is None else {"reason": reason})
        return _info(deployment)


def add_deployment_event(
    store: Store, name: str, kind: str, *, actor: str, detail: dict[str, Any]
) -> None:
    """Append an event of ``kind`` to deployment ``name``'s history."""
    with store.session() as session:
        _add_event(session, _get(session, name), kind, actor, detail)


def get_deployment(store: Store, name: str) -> DeploymentInfo:
    """The deployment called ``name``."""
    with store.session() as session:
        return _info(_get(session, name))


def deployment_events(store: Store, name: str) -> list[dict[str, Any]]:
    """The history of deployment ``name``, oldest first."""
    with store.session() as session:
        deployment = _get(session, name)
        return [
            {"kind": e.kind, "actor": e.actor, "at": e.created_at, "detail": e.detail}
            for e in deployment.events
        ]


def _get(session: Any, name: str) -> Deployment:
    deployment = session.scalars(select(Deployment).where(Deployment.name == name)).first()
    if deployment is None:
        raise DeploymentNotFound("no such deployment", where=name)
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
    )
