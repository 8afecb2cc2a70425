"""API tokens for the CLI and scripts: ``iml4e_<prefix>_<secret>``, shown once, kept as a hash.

The prefix (8 letters and digits) names the token in lists, logs and the audit trail; the
secret (32 random bytes, URL-safe base64) is stored only as its SHA-256. A slow hash is not
needed: the secret is high-entropy, unlike a password. A token acts with its user's role and
dies with its user (disabled users' tokens are refused and revoked).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from iml4e.audit import record_audit
from iml4e.server.errors import (
    InvalidToken,
    InvalidUserInput,
    UnknownToken,
    UnknownUser,
    UserDisabled,
)
from iml4e.server.users import UserInfo, user_info
from iml4e.store import Store
from iml4e.store.models import ApiToken, User, naive_utc

TOKEN_PREFIX = "iml4e_"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
MAX_EXPIRES_IN_DAYS = 3650
_PREFIX_ALPHABET = string.ascii_letters + string.digits  # never starts with '-': CLI-safe
TOKEN_PATTERN = re.compile(r"iml4e_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it: never its secret or hash."""

    prefix: str
    user_name: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime | None = None) -> bool:
        """Neither revoked nor expired at ``now``."""
        moment = naive_utc(now)
        expired = self.expires_at is not None and self.expires_at <= moment
        return self.revoked_at is None and not expired

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "prefix": self.prefix,
            "user": self.user_name,
            "name": self.name,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass(frozen=True)
class CreatedToken:
    """A new token: ``token`` is the only time the secret is ever available."""

    token: str
    info: TokenInfo


def create_token(
    store: Store,
    user_name: str,
    *,
    name: str,
    actor: str,
    expires_in_days: int | None = None,
    now: datetime | None = None,
) -> CreatedToken:
    """Create a token for ``user_name``; show ``.token`` once, it cannot be recovered."""
    if not name.strip() or len(name) > 200:
        raise InvalidUserInput("a token name has 1 to 200 characters", where="token name")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS:
        raise InvalidUserInput(
            f"a token expires in 1 to {MAX_EXPIRES_IN_DAYS} days", where="token lifetime"
        )
    moment = naive_utc(now)
    expires_at = None if expires_in_days is None else moment + timedelta(days=expires_in_days)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    for _ in range(5):  # a prefix collision is a 1 in 10^14 event; retry rather than fail
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        try:
            with store.session() as session:
                user = session.scalars(select(User).where(User.name == user_name)).first()
                if user is None:
                    raise UnknownUser("no user has this name", where=f"user {user_name}")
                if user.disabled:
                    raise UserDisabled(user_name)
                if session.scalars(select(ApiToken.id).where(ApiToken.prefix == prefix)).first():
                    continue
                row = ApiToken(
                    user_id=user.id,
                    name=name,
                    prefix=prefix,
                    token_hash=_hash(secret),
                    created_at=moment,
                    expires_at=expires_at,
                )
                session.add(row)
                session.flush()
                info = _info(row, user.name)
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - needs five collisions in a row
        raise RuntimeError("could not find an unused token prefix")
    record_audit(
        store,
        actor=actor,
        action="token.create",
        target=_target(prefix),
        detail={"user": user_name, "name": name, "expires_at": _iso(expires_at)},
    )
    return CreatedToken(token=f"{TOKEN_PREFIX}{prefix}_{secret}", info=info)


def authenticate_token(store: Store, token: str, *, now: datetime | None = None) -> UserInfo:
    """The user a token belongs to; records when it was last used.

    Raises :class:`InvalidToken` (``reason``: malformed, unknown, revoked, expired, user
    disabled) and records a ``denied`` ``token.use`` event naming only the prefix.
    """
    moment = naive_utc(now)
    match = TOKEN_PATTERN.fullmatch(token) if len(token) < 100 else None
    if match is None:
        _deny(store, "anonymous", "token:(malformed)", "malformed")
    prefix, secret = match.group(1), match.group(2)
    actor, reason, info = "anonymous", "unknown", None
    with store.session() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.prefix == prefix)
        ).first()
        digest = _hash(secret)  # computed for unknown prefixes too: the same work either way
        if found is not None:
            row, user = found
            if hmac.compare_digest(row.token_hash, digest):
                actor, reason = user.name, _refusal(row, user, moment)
                if reason is None:
                    row.last_used_at = moment
                    info = user_info(user)
    if info is None:
        _deny(store, actor, _target(prefix), reason or "unknown")
    return info


def _refusal(row: ApiToken, user: User, moment: datetime) -> str | None:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= moment:
        return "expired"
    if user.disabled:
        return "user disabled"
    return None


def revoke_token(
    store: Store, prefix: str, *, actor: str, now: datetime | None = None
) -> TokenInfo:
    """Revoke the token with ``prefix`` (revoking a revoked token changes nothing)."""
    with store.session() as session:
        found = session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.prefix == prefix)
        ).first()
        if found is None:
            raise UnknownToken("no API token has this prefix", where=f"token {prefix}")
        row, user = found
        changed = row.revoked_at is None
        if changed:
            row.revoked_at = naive_utc(now)
        info = _info(row, user.name)
    if changed:
        record_audit(
            store,
            actor=actor,
            action="token.revoke",
            target=_target(prefix),
            detail={"user": info.user_name, "name": info.name},
        )
    return info


def list_tokens(store: Store, user_name: str | None = None) -> list[TokenInfo]:
    """Every token (or one user's), newest first; never a secret or hash."""
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id)
    with store.session() as session:
        if user_name is not None:
            if session.scalars(select(User.id).where(User.name == user_name)).first() is None:
                raise UnknownUser("no user has this name", where=f"user {user_name}")
            query = query.where(User.name == user_name)
        rows = session.execute(query.order_by(ApiToken.id.desc())).all()
        return [_info(row, owner) for row, owner in rows]


def _deny(store: Store, actor: str, target: str, reason: str) -> NoReturn:
    record_audit(
        store,
        actor=actor,
        action="token.use",
        target=target,
        outcome="denied",
        detail={"reason": reason},
    )
    raise InvalidToken(reason)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _target(prefix: str) -> str:
    return f"token:{prefix}"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _info(row: ApiToken, user_name: str) -> TokenInfo:
    return TokenInfo(
        prefix=row.prefix,
        user_name=user_name,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
