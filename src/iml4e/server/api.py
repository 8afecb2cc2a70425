"""The platform's REST API under ``/api``: thin routes over the rooms' Python APIs.

Every route names the action it needs from the one permission table
(:data:`iml4e.server.permissions.PERMISSIONS`) when it is declared; :data:`ROUTE_ACTIONS`
keeps the pairs, so a test walks every route and every role and checks the answer, and a route
declared without an action cannot exist. The caller is found by :mod:`iml4e.server.access`;
a refusal is a 403 recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from iml4e.server.access import CSRF_HEADER, SESSION_COOKIE, identify
from iml4e.server.permissions import require
from iml4e.server.users import UserInfo

PREFIX = "/api"
PUBLIC = "public"
"""The action of the routes anyone may call (logging in)."""

ROUTE_ACTIONS: dict[tuple[str, str], str] = {}
"""``(method, path)`` → the action the route needs (or :data:`PUBLIC`)."""

router = APIRouter(prefix=PREFIX)


def caller(request: Request) -> UserInfo:
    """The user of this request (set by the route's permission check)."""
    user: UserInfo = request.state.user
    return user


def _permit(action: str) -> Callable[[Request], None]:
    def check(request: Request) -> None:
        store, settings = request.app.state.store, request.app.state.settings
        user = identify(
            store,
            settings,
            method=request.method,
            authorization=request.headers.get("Authorization"),
            session_cookie=request.cookies.get(SESSION_COOKIE),
            csrf_token=request.headers.get(CSRF_HEADER),
        )
        require(user, action, store=store, target=request.url.path)
        request.state.user = user

    return check


def route(method: str, path: str, action: str, **options: Any) -> Callable[[Any], Any]:
    """Declare a route of ``router`` that needs ``action`` (checked before the body runs)."""
    ROUTE_ACTIONS[(method, PREFIX + path)] = action
    dependencies = [] if action == PUBLIC else [Depends(_permit(action))]
    return router.api_route(path, methods=[method], dependencies=dependencies, **options)


class Login(BaseModel):
    """Credentials of a browser login."""

    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Attestation(BaseModel):
    """An attestation posted by a person."""

    control: str = Field(max_length=80)
    statement: str = Field(min_length=1, max_length=10_000)
    version: str | None = Field(default=None, max_length=32)
    model: str | None = Field(default=None, max_length=200)


class Reason(BaseModel):
    """Why an operator acts."""

    reason: str = Field(min_length=1, max_length=2_000)


# --- people ---------------------------------------------------------------------------------


@route("POST", "/login", PUBLIC)
def login(body: Login, request: Request, response: Response) -> dict[str, Any]:
    """Log in with name and password: sets the session cookie; returns the CSRF token."""
    from iml4e.server.sessions import start_session
    from iml4e.server.users import authenticate

    store = request.app.state.store
    user = authenticate(store, body.name, body.password)
    cookie, csrf, info = start_session(store, user)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int((info.expires_at - info.created_at).total_seconds()),
    )
    return {"user": user.as_dict(), "csrf_token": csrf}


@route("POST", "/logout", "read")
def logout(request: Request, response: Response) -> dict[str, bool]:
    """End this browser session."""
    from iml4e.server.sessions import end_session

    cookie = request.cookies.get(SESSION_COOKIE)
    ended = bool(cookie) and end_session(
        request.app.state.store, cookie or "", actor=caller(request).name
    )
    response.delete_cookie(SESSION_COOKIE)
    return {"ended": ended}


@route("GET", "/me", "read")
def me(request: Request) -> dict[str, Any]:
    """Who the server thinks is calling."""
    return caller(request).as_dict()


# --- models ---------------------------------------------------------------------------------


def client_of(request: Request) -> Any:
    """An MLflow client on the platform's store."""
    from iml4e.tracking import connect_tracking

    return connect_tracking(request.app.state.settings, request.app.state.store)


@route("GET", "/models", "read")
def models(request: Request) -> list[dict[str, Any]]:
    """Every registered model with its aliases."""
    from dataclasses import asdict

    from iml4e.registry import list_models

    return [asdict(model) for model in list_models(client_of(request))]


@route("GET", "/models/{name}/versions", "read")
def model_versions(name: str, request: Request) -> list[dict[str, Any]]:
    """The versions of a model with metrics and lineage ids."""
    from dataclasses import asdict

    from iml4e.registry.promotion import model_versions as versions

    return [
        asdict(detail) for detail in versions(client_of(request), request.app.state.store, name)
    ]


@route("POST", "/models/{name}/versions/{version}/approve", "model.approve")
def approve_version(name: str, version: str, request: Request) -> dict[str, Any]:
    """Approve a version; whoever registered it cannot approve it (segregation of duties)."""
    from iml4e.server.permissions import approve_version as approve_checked

    approved = approve_checked(
        client_of(request),
        request.app.state.store,
        name,
        version,
        actor=caller(request).name,
    )
    return {"approvers": approved}


@route("POST", "/models/{name}/versions/{version}/promote", "model.promote")
def promote_version(name: str, version: str, request: Request) -> dict[str, Any]:
    """Promote a version to ``champion`` through the model's policy and the compliance gate."""
    from iml4e.registry import promote, resolve_policy

    settings, store = request.app.state.settings, request.app.state.store
    policy = resolve_policy(settings.home, name, "champion", None)
    result = promote(
        client_of(request), store, name, version, policy=policy, actor=caller(request).name
    )
    return {
        "version": result.version,
        "previous_version": result.previous_version,
        "checks": [vars(check) for check in result.evaluation.checks],
    }


# --- deployments ----------------------------------------------------------------------------


@route("GET", "/deployments", "read")
def deployments(request: Request) -> list[dict[str, Any]]:
    """Every deployment: model, version, state, URL."""
    from iml4e.serving.deployments import list_deployments

    return [
        {
            "name": d.name,
            "model": d.model_name,
            "version": d.model_version,
            "state": d.state,
            "url": d.url,
        }
        for d in list_deployments(request.app.state.store)
    ]


@route("POST", "/deployments/{name}/pause", "deployment.pause")
def pause(name: str, body: Reason, request: Request) -> dict[str, str]:
    """Pause a deployment (human oversight, Art. 14(4)(e))."""
    from iml4e.serving.operator import pause_deployment

    info = pause_deployment(
        request.app.state.store, name, actor=caller(request).name, reason=body.reason
    )
    return {"name": info.name, "state": info.state}


@route("POST", "/deployments/{name}/resume", "deployment.pause")
def resume(name: str, body: Reason, request: Request) -> dict[str, str]:
    """Serve a paused deployment again."""
    from iml4e.serving.operator import resume_deployment

    info = resume_deployment(
        request.app.state.store, name, actor=caller(request).name, reason=body.reason
    )
    return {"name": info.name, "state": info.state}


# --- compliance -----------------------------------------------------------------------------


@route("GET", "/compliance/systems", "read")
def systems(request: Request) -> list[dict[str, Any]]:
    """Every AI system with its tier and models."""
    from iml4e.compliance.systems import list_systems

    return [
        {"name": s.name, "tier": s.tier, "models": list(s.models)}
        for s in list_systems(request.app.state.store)
    ]


@route("GET", "/compliance/systems/{name}/assessment", "read")
def assessment(name: str, request: Request) -> dict[str, Any]:
    """The newest assessment of a system, with staleness and one result per control."""
    from iml4e.compliance.assessment import latest_assessment
    from iml4e.compliance.errors import ComplianceError
    from iml4e.compliance.systems import get_system

    store = request.app.state.store
    get_system(store, name)
    found = latest_assessment(store, name)
    if found is None:
        raise ComplianceError("not assessed yet", where=name)
    return found.as_dict()


@route("POST", "/compliance/systems/{name}/attestations", "compliance.attest")
def attest_control(name: str, body: Attestation, request: Request) -> dict[str, Any]:
    """Attest a control of a system (for one version, or every version)."""
    from iml4e.compliance.attestations import attest
    from iml4e.compliance.catalogue import load_catalogue

    recorded = attest(
        request.app.state.store,
        client_of(request),
        load_catalogue(),
        system=name,
        control_id=body.control,
        actor=caller(request).name,
        statement=body.statement,
        model_name=body.model,
        version=body.version,
    )
    return recorded.as_dict()


# --- audit ----------------------------------------------------------------------------------


@route("GET", "/audit", "audit.read")
def audit_events(
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest audit events, filtered."""
    from iml4e.audit import list_audit

    events = list_audit(
        request.app.state.store,
        actor=actor,
        action=action,
        outcome=outcome,
        limit=max(1, min(limit, 1000)),
    )
    return [event.as_dict() for event in events]


@route("GET", "/audit/verify", "audit.verify")
def audit_verify(request: Request) -> dict[str, Any]:
    """Walk the audit chain: rows checked, head, and the first broken row if any."""
    from iml4e.audit import verify_audit

    result = verify_audit(request.app.state.store)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "head": result.head,
        "first_broken": result.first_broken,
        "problem": result.problem,
    }
