"""Listening addresses: claim a port before anything starts, find a free one, spell URLs."""

from __future__ import annotations

import errno
import ipaddress
import socket

from iml4e.errors import BadInput


class ServerAddressError(BadInput):
    """A configured host or port cannot be used to listen on (CLI exit 2)."""


class PortInUse(ServerAddressError):
    """Something already listens on a port a server needs; nothing was started."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost`` included)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


WILDCARD_TO_LOOPBACK = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def bind_listening_socket(host: str, port: int, setting: str) -> socket.socket:
    """A socket bound to ``host:port`` and listening, to hand to the server that will use it.

    Binding once and passing the socket on leaves no gap in which another process could take
    the port between the check and the start. Raises :class:`PortInUse` naming ``setting``
    when the port is taken, :class:`ServerAddressError` for any other reason it cannot bind.
    """
    family, address = _resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Same option uvicorn and MLflow set: a port left in TIME_WAIT by the last run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port, setting) from None
    sock.set_inheritable(False)
    return sock


def ensure_port_free(host: str, port: int, setting: str) -> None:
    """Raise :class:`PortInUse` (or :class:`ServerAddressError`) unless ``host:port`` can bind.

    For ports another process will bind itself, so the check is as close to its start as the
    caller can make it.
    """
    bind_listening_socket(host, port, setting).close()


def find_free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that was free a moment ago (for servers started on any port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def connect_host(host: str) -> str:
    """The address a local client dials to reach a server bound to ``host``."""
    return WILDCARD_TO_LOOPBACK.get(host, host)


def http_url(host: str, port: int) -> str:
    """``http://host:port`` for a local client, with IPv6 literals in brackets."""
    reachable = connect_host(host)
    if ":" in reachable:
        reachable = f"[{reachable}]"
    return f"http://{reachable}:{port}"


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, tuple]:
    try:
        found = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ServerAddressError(
            f"cannot resolve host {host!r} ({exc.strerror})", where=_where("server_host")
        ) from None
    # IPv4 first: "localhost" then listens where every client tries first.
    found.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _type, _proto, _name, address = found[0]
    return family, address


def _bind_error(exc: OSError, host: str, port: int, setting: str) -> ServerAddressError:
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        hint = "" if setting.startswith("-") else f" (IML4E_{setting.upper()})"
        return PortInUse(
            f"{shown} is already in use; stop what listens there or choose another port{hint}",
            where=_where(setting),
        )
    reason = exc.strerror or str(exc)
    return ServerAddressError(f"cannot listen on {shown} ({reason})", where=_where(setting))


def _where(setting: str) -> str:
    return setting if setting.startswith("-") else f"setting {setting}"
