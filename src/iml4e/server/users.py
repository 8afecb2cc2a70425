"""People who use the platform: one role each, an argon2id password hash, and a lockout.

Passwords are hashed with argon2id (``argon2.PasswordHasher`` with the library's defaults) and
never stored or logged. :func:`authenticate` locks a user for :data:`LOCKOUT` after
:data:`MAX_FAILED_LOGINS` failures in a row, and answers an unknown name exactly like a wrong
password (same message, and a hash verified against a dummy so it takes as long). Every change
and every refused login is an audit event. Who may call these functions is the edge's concern
(``user.manage`` in :mod:`iml4e.server.permissions`); the CLI is the local operator's.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from iml4e.audit import record_audit
from iml4e.server.errors import (
    InvalidCredentials,
    InvalidUserInput,
    LastAdmin,
    UnknownUser,
    UserDisabled,
    UserExists,
    UserLocked,
)
from iml4e.server.permissions import ROLES
from iml4e.store import Store
from iml4e.store.models import ApiToken, LoginSession, User, naive_utc

NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing costs the same for any length; this only bounds input
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=5)

_HASHER = PasswordHasher()  # argon2id with the library's (OWASP-level) defaults


@dataclass(frozen=True)
class UserInfo:
    """A user as the rest of the platform sees it (never the password hash)."""

    id: int
    name: str
    display_name: str
    role: str
    disabled: bool
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "display_name": self.display_name,
            "role": self.role,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
        }


def check_user_name(name: str) -> str:
    """``name`` if it is 1 to 64 letters, digits, ``.``, ``_``, ``-`` or ``@``."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidUserInput(
            "a user name is 1 to 64 letters, digits, '.', '_', '-' or '@'", where=f"user {name!r}"
        )
    return name


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`~iml4e.server.permissions.ROLES`."""
    if role not in ROLES:
        raise InvalidUserInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}", where="role")
    return role


def check_password(password: str) -> str:
    """``password`` if it has 12 to 1024 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidUserInput(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            where="password",
        )
    return password


def add_user(
    store: Store,
    name: str,
    *,
    role: str,
    password: str,
    actor: str,
    display_name: str = "",
    hasher: PasswordHasher | None = None,
) -> UserInfo:
    """Create a user; every rule is checked before anything is written.

    ``hasher`` exists for tests that want a cheaper argon2 cost; production uses the default.
    """
    check_user_name(name)
    check_role(role)
    check_password(password)
    if len(display_name) > 300:
        raise InvalidUserInput("a display name has at most 300 characters", where="display name")
    password_hash = (hasher or _HASHER).hash(password)
    try:
        with store.session() as session:
            if session.scalars(select(User.id).where(User.name == name)).first() is not None:
                raise UserExists("a user with this name exists already", where=f"user {name}")
            row = User(name=name, display_name=display_name, role=role, password_hash=password_hash)
            session.add(row)
            session.flush()
            info = _info(row)
    except IntegrityError:  # added by someone else between the check and the insert
        raise UserExists("a user with this name exists already", where=f"user {name}") from None
    record_audit(store, actor=actor, action="user.add", target=_target(name), detail={"role": role})
    return info


def list_users(store: Store) -> list[UserInfo]:
    """Every user, by name."""
    with store.session() as session:
        return [_info(row) for row in session.scalars(select(User).order_by(User.name))]


def get_user(store: Store, name: str) -> UserInfo:
    """The user called ``name`` (:class:`UnknownUser` if there is none)."""
    with store.session() as session:
        return _info(_row(session, name))


def disable_user(store: Store, name: str, *, actor: str, now: datetime | None = None) -> UserInfo:
    """Disable a user and revoke its API tokens and login sessions at once."""
    moment = naive_utc(now)
    with store.session() as session:
        row = _row(session, name)
        if row.disabled:
            return _info(row)
        _refuse_removing_last_admin(session, row)
        row.disabled = True
        tokens = _revoke_tokens(session, row.id, moment)
        sessions = revoke_user_sessions(session, row.id, moment)
        info = _info(row)
    record_audit(
        store,
        actor=actor,
        action="user.disable",
        target=_target(name),
        detail={"tokens_revoked": tokens, "sessions_ended": sessions},
    )
    return info


def enable_user(store: Store, name: str, *, actor: str) -> UserInfo:
    """Enable a disabled user again (its failed logins and lock are cleared; old tokens stay
    revoked)."""
    with store.session() as session:
        row = _row(session, name)
        if not row.disabled:
            return _info(row)
        row.disabled = False
        row.failed_logins = 0
        row.locked_until = None
        info = _info(row)
    record_audit(store, actor=actor, action="user.enable", target=_target(name))
    return info


def set_role(store: Store, name: str, role: str, *, actor: str) -> UserInfo:
    """Give ``name`` another role (refused if it would leave no enabled admin)."""
    check_role(role)
    with store.session() as session:
        row = _row(session, name)
        previous = row.role
        if previous == role:
            return _info(row)
        _refuse_removing_last_admin(session, row)
        row.role = role
        info = _info(row)
    record_audit(
        store,
        actor=actor,
        action="user.role",
        target=_target(name),
        detail={"from": previous, "to": role},
    )
    return info


def set_password(
    store: Store,
    name: str,
    password: str,
    *,
    actor: str,
    now: datetime | None = None,
    hasher: PasswordHasher | None = None,
) -> UserInfo:
    """Replace a user's password; clears its lock and ends its login sessions."""
    check_password(password)
    password_hash = (hasher or _HASHER).hash(password)
    with store.session() as session:
        row = _row(session, name)
        row.password_hash = password_hash
        row.failed_logins = 0
        row.locked_until = None
        sessions = revoke_user_sessions(session, row.id, naive_utc(now))
        info = _info(row)
    record_audit(
        store,
        actor=actor,
        action="user.password",
        target=_target(name),
        detail={"sessions_ended": sessions},
    )
    return info


def authenticate(
    store: Store,
    name: str,
    password: str,
    *,
    now: datetime | None = None,
    hasher: PasswordHasher | None = None,
) -> UserInfo:
    """The user ``name`` if ``password`` is theirs.

    Raises :class:`InvalidCredentials` for an unknown name or a wrong password alike,
    :class:`UserLocked` while a lock lasts (the password is not even checked) and
    :class:`UserDisabled` for a disabled user with the right password. Each refusal is a
    ``denied`` ``user.login`` event; the failure that sets a lock is also a ``user.locked`` event.
    """
    moment = naive_utc(now)
    use = hasher or _HASHER
    with store.session() as session:
        row = session.scalars(select(User).where(User.name == name)).first()
        state = None if row is None else (row.id, row.password_hash, row.locked_until)
    if state is None:
        _verify(use, _dummy_hash(use), password)  # as slow as a real check
        _deny(store, name, "unknown user")
        raise InvalidCredentials()
    user_id, password_hash, locked_until = state
    if locked_until is not None and locked_until > moment:
        _deny(store, name, "locked", {"locked_until": locked_until.isoformat()})
        raise UserLocked(name, locked_until)
    if not _verify(use, password_hash, password):
        _failed(store, user_id, name, moment)
        raise InvalidCredentials()
    with store.session() as session:
        row = session.get(User, user_id)
        assert row is not None  # users are disabled, never deleted
        if row.disabled:
            info = None
        else:
            row.failed_logins = 0
            row.locked_until = None
            if use.check_needs_rehash(row.password_hash):
                row.password_hash = use.hash(password)
            info = _info(row)
    if info is None:
        _deny(store, name, "disabled")
        raise UserDisabled(name)
    record_audit(store, actor=name, action="user.login", target=_target(name))
    return info


def revoke_user_sessions(session: Session, user_id: int, moment: datetime) -> int:
    """End every open login session of a user inside ``session``; how many were open."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def user_info(row: User) -> UserInfo:
    """The :class:`UserInfo` of a stored row (for the server room's other modules)."""
    return _info(row)


def _failed(store: Store, user_id: int, name: str, moment: datetime) -> None:
    with store.session() as session:
        # one UPDATE, so concurrent failures all count
        session.execute(
            update(User).where(User.id == user_id).values(failed_logins=User.failed_logins + 1)
        )
        row = session.get(User, user_id, populate_existing=True)
        assert row is not None
        failures = row.failed_logins
        locked_until = None
        if failures >= MAX_FAILED_LOGINS:
            locked_until = moment + LOCKOUT
            row.locked_until = locked_until
            row.failed_logins = 0
    _deny(store, name, "wrong password", {"failed_logins": failures})
    if locked_until is not None:
        record_audit(
            store,
            actor=name,
            action="user.locked",
            target=_target(name),
            outcome="denied",
            detail={"failed_logins": failures, "locked_until": locked_until.isoformat()},
        )


def _deny(store: Store, name: str, reason: str, detail: dict[str, Any] | None = None) -> None:
    shown = name[:64] if NAME_PATTERN.fullmatch(name) else "(invalid name)"
    record_audit(
        store,
        actor=shown,
        action="user.login",
        target=_target(shown),
        outcome="denied",
        detail={"reason": reason, **(detail or {})},
    )


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def _refuse_removing_last_admin(session: Session, row: User) -> None:
    if row.role != "admin" or row.disabled:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != row.id)
    )
    if not admins:
        raise LastAdmin(
            "this is the last enabled admin; make another user admin first",
            where=f"user {row.name}",
        )


def _revoke_tokens(session: Session, user_id: int, moment: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _row(session: Session, name: str) -> User:
    row = session.scalars(select(User).where(User.name == name)).first()
    if row is None:
        raise UnknownUser("no user has this name", where=f"user {name}")
    return row


def _target(name: str) -> str:
    return f"user:{name}"


def _info(row: User) -> UserInfo:
    return UserInfo(
        id=row.id,
        name=row.name,
        display_name=row.display_name,
        role=row.role,
        disabled=row.disabled,
        created_at=row.created_at,
    )
