"""Errors of the server room.

The errors of users, credentials and permissions carry ``status``, the HTTP status the web edge
answers with, so the edge maps them without a table of its own. All of them are
:class:`~iml4e.errors.BadInput` (CLI exit 2) except :class:`PermissionDenied`, a
:class:`~iml4e.errors.CheckFailed` (CLI exit 1, HTTP 403: the caller is known, the answer is
no), and :class:`UnknownAction`, a programming error (an action name missing from the
permission table) that no edge should turn into a polite message.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from iml4e.errors import BadInput, CheckFailed, Iml4eError
from iml4e.ports import PortInUse, ServerAddressError

__all__ = [
    "AuthError",
    "CsrfRejected",
    "InvalidCredentials",
    "InvalidSession",
    "InvalidToken",
    "InvalidUserInput",
    "LastAdmin",
    "PermissionDenied",
    "PlatformStartFailed",
    "PortInUse",
    "ServerAddressError",
    "UnknownAction",
    "UnknownToken",
    "UnknownUser",
    "UserDisabled",
    "UserExists",
    "UserLocked",
]


class PlatformStartFailed(Iml4eError):
    """The platform server could not start although its settings looked usable."""


class AuthError(BadInput):
    """A user, credential or session problem; ``status`` is the HTTP status to answer with."""

    status: ClassVar[int] = 400


class InvalidUserInput(AuthError):
    """A user name, role, password, token name or lifetime that breaks the rules."""

    status = 400


class UnknownUser(AuthError):
    """No user has that name."""

    status = 404


class UserExists(AuthError):
    """A user with that name exists already."""

    status = 409


class LastAdmin(AuthError):
    """The change would leave the platform without an enabled admin."""

    status = 409


class InvalidCredentials(AuthError):
    """Wrong user name or password; deliberately does not say which of the two."""

    status = 401

    def __init__(self) -> None:
        super().__init__("invalid user name or password")


class UserLocked(AuthError):
    """Too many failed logins: the user may not log in until ``until`` (naive UTC)."""

    status = 429

    def __init__(self, name: str, until: datetime) -> None:
        super().__init__(
            f"too many failed logins: locked until {until.isoformat(timespec='seconds')} UTC",
            where=f"user {name}",
        )
        self.until = until


class UserDisabled(AuthError):
    """The user is disabled: no logins, tokens or sessions."""

    status = 403

    def __init__(self, name: str) -> None:
        super().__init__("this user is disabled; ask an admin to enable it", where=f"user {name}")


class InvalidToken(AuthError):
    """An API token that is malformed, unknown, revoked, expired or whose user is disabled."""

    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid API token: {reason}")
        self.reason = reason


class UnknownToken(AuthError):
    """No API token has that prefix."""

    status = 404


class InvalidSession(AuthError):
    """A login session that is unknown, ended, expired or whose user is disabled."""

    status = 401

    def __init__(self, reason: str) -> None:
        super().__init__(f"not logged in: {reason}")
        self.reason = reason


class CsrfRejected(AuthError):
    """A state-changing browser request without the session's CSRF token."""

    status = 403

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token")


class PermissionDenied(CheckFailed):
    """The user is known but their role may not do this (HTTP 403, CLI exit 1)."""

    status: ClassVar[int] = 403

    def __init__(self, message: str, *, actor: str, action: str, target: str) -> None:
        super().__init__(message, where=target)
        self.actor = actor
        self.action = action
        self.target = target


class UnknownAction(LookupError):
    """An action name missing from the permission table: a bug in the caller, never a 'no'."""
