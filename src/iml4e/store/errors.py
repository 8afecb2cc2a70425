"""Errors of the store room."""

from iml4e.errors import BadInput, Iml4eError


class StoreError(Iml4eError):
    """The metadata database misbehaved."""


class StoreUnavailable(BadInput, StoreError):
    """The metadata database cannot be reached or created where the settings point."""


class NotFound(BadInput, StoreError):
    """A record that was asked for by name or id does not exist."""
