"""Who is calling the platform server: a token, a login session, or the one local user.

With ``server_auth`` ``on`` (or ``auto`` on a server bound to anything but loopback) every
request names its caller: ``Authorization: Bearer iml4e_…`` (CLI, scripts) or the
``iml4e_session`` cookie of a browser login, whose unsafe requests must also carry the session's
CSRF token in ``X-CSRF-Token``. With auth off, the caller is the settings' user with the
``admin`` role: one person on a laptop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from iml4e.config import Settings
from iml4e.ports import is_loopback
from iml4e.server.errors import InvalidSession
from iml4e.server.users import UserInfo
from iml4e.store import Store

SESSION_COOKIE = "iml4e_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def auth_required(settings: Settings, host: str | None = None) -> bool:
    """Whether a server bound to ``host`` (the platform's by default) asks who is calling
    (``server_auth``; ``auto``: not on loopback)."""
    if settings.server_auth == "auto":
        return not is_loopback(host or settings.server_host)
    return settings.server_auth == "on"


def local_user(settings: Settings) -> UserInfo:
    """The single user of a server without auth: the settings' user, as admin."""
    return UserInfo(
        id=0,
        name=settings.user,
        display_name=settings.user,
        role="admin",
        disabled=False,
        created_at=datetime(1970, 1, 1),
    )


def identify(
    store: Store,
    settings: Settings,
    *,
    method: str,
    authorization: str | None,
    session_cookie: str | None,
    csrf_token: str | None,
) -> UserInfo:
    """The caller of one request; raises the server room's 401/403 errors when unknown."""
    from iml4e.server.sessions import check_csrf, session_user

    if not auth_required(settings):
        return local_user(settings)
    if authorization:
        return bearer_user(store, authorization)
    if session_cookie:
        user, expected = session_user(store, session_cookie)
        if method.upper() not in SAFE_METHODS:
            check_csrf(expected, csrf_token)
        return user
    raise InvalidSession("log in or send an API token")


def bearer_user(store: Store, authorization: str | None) -> UserInfo:
    """The user of an ``Authorization: Bearer iml4e_…`` header."""
    from iml4e.server.tokens import authenticate_token

    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidSession("send an Authorization header of the form Bearer <API token>")
    return authenticate_token(store, token.strip())


def bearer_guard(store: Store) -> Callable[[str | None, str, str], str]:
    """A check for servers outside the platform app (the model server's operator routes):
    ``guard(authorization, action, target)`` returns the caller's name when its token's role
    may do ``action``, else raises (401 unknown caller, 403 refused and audited)."""
    from iml4e.server.permissions import require

    def guard(authorization: str | None, action: str, target: str) -> str:
        user = bearer_user(store, authorization)
        require(user, action, store=store, target=target)
        return user.name

    return guard
