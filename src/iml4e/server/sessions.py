"""Browser logins: a random cookie kept only as its SHA-256, and a CSRF token per session.

The web edge sets the cookie (HttpOnly, SameSite) after :func:`~iml4e.server.users.authenticate`
and :func:`start_session`, finds the user with :func:`session_user` on every request, and on
every state-changing request compares the form's or header's CSRF token with
:func:`check_csrf`. A session dies when it expires, is ended, or its user is disabled or changes
password; the user's current role is read on every request, so a role change applies at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.server.errors import CsrfRejected, InvalidSession, InvalidUserInput, UserDisabled
from iml4e.server.users import UserInfo, user_info
from iml4e.store import Store
from iml4e.store.models import LoginSession, User, naive_utc

DEFAULT_LIFETIME_S = 8 * 3600
MAX_COOKIE_LENGTH = 256


@dataclass(frozen=True)
class SessionInfo:
    """A login session (never its cookie or CSRF token)."""

    id: int
    user_name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "user": self.user_name,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


def start_session(
    store: Store,
    user: UserInfo,
    *,
    lifetime_s: int = DEFAULT_LIFETIME_S,
    now: datetime | None = None,
) -> tuple[str, str, SessionInfo]:
    """Open a session for an authenticated user: ``(cookie_value, csrf_token, info)``."""
    if lifetime_s <= 0:
        raise InvalidUserInput("a session lasts a positive number of seconds", where="lifetime")
    moment = naive_utc(now)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.session() as session:
        row_user = session.get(User, user.id)
        if row_user is None or row_user.disabled:
            raise UserDisabled(user.name)
        row = LoginSession(
            user_id=user.id,
            session_hash=_hash(cookie),
            csrf_token=csrf,
            created_at=moment,
            expires_at=moment + timedelta(seconds=lifetime_s),
        )
        session.add(row)
        session.flush()
        info = _info(row, user.name)
    record_audit(
        store,
        actor=user.name,
        action="session.start",
        target=f"user:{user.name}",
        detail={"session": info.id, "expires_at": info.expires_at.isoformat()},
    )
    return cookie, csrf, info


def session_user(
    store: Store, cookie_value: str, *, now: datetime | None = None
) -> tuple[UserInfo, str]:
    """The user of a session cookie and the session's CSRF token.

    Raises :class:`InvalidSession` (``reason``: unknown, ended, expired, user disabled) and
    records a ``denied`` ``session.use`` event.
    """
    moment = naive_utc(now)
    actor, reason, found = "anonymous", "unknown", None
    if len(cookie_value) <= MAX_COOKIE_LENGTH:
        with store.session() as session:
            row = session.execute(
                select(LoginSession, User)
                .join(User, User.id == LoginSession.user_id)
                .where(LoginSession.session_hash == _hash(cookie_value))
            ).first()
            if row is not None:
                login, user = row
                actor = user.name
                if login.revoked_at is not None:
                    reason = "session ended"
                elif login.expires_at <= moment:
                    reason = "session expired"
                elif user.disabled:
                    reason = "user disabled"
                else:
                    found = (user_info(user), login.csrf_token)
    if found is None:
        record_audit(
            store,
            actor=actor,
            action="session.use",
            target=f"user:{actor}",
            outcome="denied",
            detail={"reason": reason},
        )
        raise InvalidSession(reason)
    return found


def end_session(
    store: Store, cookie_value: str, *, actor: str, now: datetime | None = None
) -> bool:
    """Log out: end the session of ``cookie_value``; False if it was unknown or ended already."""
    if len(cookie_value) > MAX_COOKIE_LENGTH:
        return False
    with store.session() as session:
        row = session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.session_hash == _hash(cookie_value))
        ).first()
        if row is None or row[0].revoked_at is not None:
            return False
        login, user = row
        login.revoked_at = naive_utc(now)
        session_id, user_name = login.id, user.name
    record_audit(
        store,
        actor=actor,
        action="session.end",
        target=f"user:{user_name}",
        detail={"session": session_id},
    )
    return True


def check_csrf(expected: str, given: str | None) -> None:
    """Raise :class:`CsrfRejected` unless ``given`` equals ``expected`` (constant time)."""
    if not given or not expected:
        raise CsrfRejected()
    if not hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8")):
        raise CsrfRejected()


def _hash(cookie_value: str) -> str:
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


def _info(row: LoginSession, user_name: str) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        user_name=user_name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )
