"""Errors of the server room."""

from __future__ import annotations

from iml4e.errors import BadInput, Iml4eError


class ServerAddressError(BadInput):
    """A configured host or port cannot be used to listen on (CLI exit 2)."""


class PortInUse(ServerAddressError):
    """Something already listens on a port ``iml4e up`` needs; nothing was started."""


class PlatformStartFailed(Iml4eError):
    """The platform server could not start although its settings looked usable."""
