"""Loopback ports: check one is free before starting a server, or find a free one."""

from __future__ import annotations

import socket

from iml4e.errors import BadInput


class PortInUse(BadInput):
    """A server cannot bind its address because something else holds it."""


def ensure_port_free(host: str, port: int, *, setting: str) -> None:
    """Raise :class:`PortInUse` naming ``host:port`` and ``setting`` when it cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"{host}:{port} is already in use ({exc.strerror}); choose another port",
                where=setting,
            ) from None


def find_free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
