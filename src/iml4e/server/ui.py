"""The web UI under ``/ui``: server-rendered pages over the same Python APIs as ``/api``.

Pages are Jinja2 templates (autoescaped) from ``iml4e/server/templates``; the one stylesheet is
served from ``/static``. A page needs a logged-in user when the server asks who is calling
(otherwise the local user); its action is checked with the one permission table
(:func:`iml4e.server.permissions.require`), so a refusal is a 403 page and a ``denied`` audit
event. Every form that changes something carries the session's CSRF token as ``csrf_token``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Coroutine
from importlib import import_module, resources
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader

from iml4e import __version__
from iml4e.errors import Iml4eError
from iml4e.server.access import SESSION_COOKIE, auth_required, local_user
from iml4e.server.errors import (
    InvalidCredentials,
    InvalidSession,
    PermissionDenied,
    UserDisabled,
    UserLocked,
)
from iml4e.server.http_errors import status_of
from iml4e.server.mlflow_proxy import MLFLOW_PREFIX
from iml4e.server.permissions import ROLES, require, roles_allowed
from iml4e.server.users import UserInfo

PREFIX = "/ui"
STATIC_PREFIX = "/static"
MAX_FORM_BYTES = 16_384
WRONG_LOGIN = "Wrong name or password"

_TEMPLATES = Environment(
    loader=PackageLoader("iml4e.server", "templates"),
    autoescape=True,  # every value shown is escaped, whatever the template's name
    trim_blocks=True,
    lstrip_blocks=True,
)


class LoginNeeded(Exception):
    """The page needs a logged-in user and this request has none."""


class Viewer:
    """Who looks at a page, and the CSRF token their forms must carry."""

    user: UserInfo
    csrf: str

    def __init__(self, user: UserInfo, csrf: str) -> None:
        self.user = user
        self.csrf = csrf


class UiRoute(APIRoute):
    """A UI route: a missing login redirects to the login form, an error is an HTML page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginNeeded:
                return RedirectResponse(f"{PREFIX}/login", status_code=303)
            except Iml4eError as error:
                return _error_page(request, error)

        return handle


router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=UiRoute)


PAGE_MODULES: tuple[str, ...] = (
    "iml4e.server.ui_datasets",
    "iml4e.server.ui_models",
    "iml4e.server.ui_operations",
    "iml4e.server.ui_compliance",
)
"""Modules whose pages join :data:`router` when imported (one per room shown)."""


def mount_ui(app: FastAPI) -> None:
    """Add the pages and the static files to the platform app."""
    for module in PAGE_MODULES:
        import_module(module)
    static = resources.files("iml4e.server").joinpath("static")
    app.mount(STATIC_PREFIX, StaticFiles(directory=str(static)), name="static")
    app.include_router(router)


# --- who is looking -------------------------------------------------------------------------


def viewer(request: Request) -> Viewer:
    """The user of this page; :class:`LoginNeeded` without a valid session when auth is on.

    Without auth the local user's forms carry a token made once per app, so another site
    cannot post them either.
    """
    from iml4e.server.sessions import session_user

    store, settings = request.app.state.store, request.app.state.settings
    if not auth_required(settings):
        state = request.app.state
        if not getattr(state, "ui_csrf", None):
            state.ui_csrf = secrets.token_urlsafe(32)
        return Viewer(local_user(settings), state.ui_csrf)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginNeeded()
    try:
        user, csrf = session_user(store, cookie)
    except InvalidSession:
        raise LoginNeeded() from None
    return Viewer(user, csrf)


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form post (nothing for any other body)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    body = await request.body()
    if content_type != "application/x-www-form-urlencoded" or len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def checked_viewer(request: Request, fields: dict[str, str]) -> Viewer:
    """The viewer of a state-changing form whose ``csrf_token`` matches (else 403)."""
    from iml4e.server.sessions import check_csrf

    seen = viewer(request)
    check_csrf(seen.csrf, fields.get("csrf_token"))
    return seen


def form_viewer(request: Request, fields: dict[str, str], action: str) -> Viewer:
    """The viewer of a state-changing form: its CSRF token checked (else 403), then its right
    to ``action`` (else a 403 page and a ``denied`` audit event)."""
    seen = checked_viewer(request, fields)
    allow(request, seen, action)
    return seen


def allow(request: Request, seen: Viewer, action: str) -> None:
    """Refuse (403 page, ``denied`` audit event) unless ``seen`` may do ``action``."""
    require(seen.user, action, store=request.app.state.store, target=request.url.path)


# --- rendering ------------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    *,
    seen: Viewer | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the page chrome (nav, user, CSRF token)."""
    start = time.perf_counter()
    html = _TEMPLATES.get_template(template).render(
        version=__version__,
        prefix=PREFIX,
        static=STATIC_PREFIX,
        mlflow=f"{MLFLOW_PREFIX}/",
        path=request.url.path,
        user=None if seen is None else seen.user,
        csrf=None if seen is None else seen.csrf,
        auth=auth_required(request.app.state.settings),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Server-Timing"] = f"render;dur={(time.perf_counter() - start) * 1000:.1f}"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'"
    )
    return response


def _error_page(request: Request, error: Iml4eError) -> HTMLResponse:
    from iml4e.serving.errors import DeploymentNotFound

    status = 404 if isinstance(error, DeploymentNotFound) else status_of(error)
    message = error.message if not error.where else f"{error.message} ({error.where})"
    title = "Something went wrong"
    if isinstance(error, PermissionDenied):
        title, message = "Not allowed", _refusal(request, error)
    elif status == 403:
        title = "Refused"
    elif status == 404:
        title = "Not found"
    try:
        seen: Viewer | None = viewer(request)
    except (LoginNeeded, Iml4eError):
        seen = None
    return render(
        request, "error.html.j2", seen=seen, status_code=status, title=title, message=message
    )


def _refusal(request: Request, error: PermissionDenied) -> str:
    """``Not allowed: role viewer may not deployment.pause (allowed: …)``."""
    try:
        role = viewer(request).user.role
    except (LoginNeeded, Iml4eError):
        return f"Not allowed: {error.message}"
    permitted = [r for r in ROLES if r in roles_allowed(error.action)]
    return f"Not allowed: role {role} may not {error.action} (allowed: {', '.join(permitted)})"


# --- login ----------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login form (the overview when nobody needs to log in)."""
    if not auth_required(request.app.state.settings):
        return RedirectResponse(f"{PREFIX}/", status_code=303)
    return render(request, "login.html.j2", title="Log in", name="", error=None)


@router.post("/login")
def login(request: Request, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Check name and password; on success set the session cookie and go to the overview."""
    from iml4e.server.sessions import start_session
    from iml4e.server.users import authenticate

    store = request.app.state.store
    name, password = fields.get("name", "")[:64], fields.get("password", "")[:1024]
    try:
        user = authenticate(store, name, password)
        cookie, _csrf, info = start_session(store, user)
    except (InvalidCredentials, UserLocked, UserDisabled) as refused:
        message = WRONG_LOGIN if isinstance(refused, InvalidCredentials) else refused.message
        return render(
            request,
            "login.html.j2",
            status_code=refused.status,
            title="Log in",
            name=name,
            error=message,
        )
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int((info.expires_at - info.created_at).total_seconds()),
    )
    return response


@router.post("/logout")
def logout(request: Request, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """End this session (needs the form's CSRF token) and go back to the login form."""
    from iml4e.server.sessions import end_session

    seen = checked_viewer(request, fields)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(request.app.state.store, cookie, actor=seen.user.name)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- pages ----------------------------------------------------------------------------------


@router.get("/")
def overview_page(request: Request) -> Response:
    """AI systems and their newest assessment, deployments, firing alerts, latest reports."""
    from iml4e.server.ui_context import overview

    seen = viewer(request)
    allow(request, seen, "read")
    data = overview(request.app.state.store)
    return render(request, "overview.html.j2", seen=seen, title="Overview", **data)


@router.get("/audit")
def audit_log(
    request: Request,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
) -> Response:
    """The audit trail, newest first, filtered; the chain's verification at the top."""
    from iml4e.server.ui_context import AuditWatch, audit_page

    seen = viewer(request)
    allow(request, seen, "audit.read")
    state = request.app.state
    if getattr(state, "audit_watch", None) is None:
        state.audit_watch = AuditWatch()
    data = audit_page(
        state.store,
        actor=actor or None,
        action=action or None,
        outcome=outcome or None,
        watch=state.audit_watch,
    )
    return render(request, "audit.html.j2", seen=seen, title="Audit log", **data)
