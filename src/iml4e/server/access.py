"""Who is calling the platform server: a token, a login session, or the one local user.

With ``server_auth`` ``on`` (or ``auto`` on a server bound to anything but loopback) every
request names its caller: ``Authorization: Bearer iml4e_…`` (CLI, scripts) or the
``iml4e_session`` cookie of a browser login, whose unsafe requests must also carry the session's
CSRF token in ``X-CSRF-Token``. With auth off, the caller is the settings' user with the
``admin`` role: one person on a laptop.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from iml4e.config import Settings
from iml4e.server.errors import InvalidSession
from iml4e.server.users import UserInfo
from iml4e.store import Store

SESSION_COOKIE = "iml4e_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def auth_required(settings: Settings) -> bool:
    """Whether the server asks who is calling (``server_auth``; ``auto``: off on loopback)."""
    if settings.server_auth == "auto":
        return not is_loopback(settings.server_host)
    return settings.server_auth == "on"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` included)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


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
    from iml4e.server.tokens import authenticate_token

    if not auth_required(settings):
        return local_user(settings)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidSession("expected an Authorization header of the form Bearer <token>")
        return authenticate_token(store, token.strip())
    if session_cookie:
        user, expected = session_user(store, session_cookie)
        if method.upper() not in SAFE_METHODS:
            check_csrf(expected, csrf_token)
        return user
    raise InvalidSession("log in or send an API token")
