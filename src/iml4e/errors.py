"""The root of iml4e's exception hierarchy.

Every room raises subclasses of :class:`Iml4eError`. The edges (CLI, HTTP) turn them into one
readable line and an exit or status code; nothing below the edges formats errors for people.
"""

from __future__ import annotations


class Iml4eError(Exception):
    """Base class of every error iml4e raises on purpose.

    ``where`` names the place the problem is (a setting, a file, a column, a URL) so the message
    a person sees says what was wrong and where.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class BadInput(Iml4eError):
    """The user gave something the platform cannot use (CLI exit 2, HTTP 4xx)."""


class CheckFailed(Iml4eError):
    """A check ran and its answer was 'no' (CLI exit 1): a gate, a validation, a doctor check."""
