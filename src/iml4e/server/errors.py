"""Errors of the server room."""

from __future__ import annotations

from iml4e.errors import Iml4eError
from iml4e.ports import PortInUse, ServerAddressError

__all__ = ["PlatformStartFailed", "PortInUse", "ServerAddressError"]


class PlatformStartFailed(Iml4eError):
    """The platform server could not start although its settings looked usable."""
