"""Claiming ports before anything starts, and the URLs printed for them."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from iml4e.config import Settings
from iml4e.errors import BadInput
from iml4e.ports import bind_listening_socket, ensure_port_free, http_url
from iml4e.server import PortInUse, ServerAddressError, run_platform


@pytest.fixture
def listener() -> Iterator[int]:
    """A port something listens on for the duration of the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_taken_port_is_bad_input_naming_address_and_setting(listener: int) -> None:
    with pytest.raises(PortInUse) as caught:
        ensure_port_free("127.0.0.1", listener, "mlflow_port")

    assert isinstance(caught.value, BadInput)
    message = str(caught.value)
    assert f"127.0.0.1:{listener}" in message
    assert "mlflow_port" in message
    assert "IML4E_MLFLOW_PORT" in message


def test_the_claimed_socket_listens_and_blocks_the_port() -> None:
    sock = bind_listening_socket("127.0.0.1", 0, "server_port")
    try:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        with pytest.raises(PortInUse):
            ensure_port_free("127.0.0.1", port, "server_port")
    finally:
        sock.close()


def test_an_unknown_host_is_bad_input() -> None:
    with pytest.raises(ServerAddressError, match="server_host"):
        ensure_port_free("no-such-host.invalid", 8765, "server_port")


def test_urls_name_an_address_a_browser_can_reach() -> None:
    assert http_url("0.0.0.0", 8765) == "http://127.0.0.1:8765"
    assert http_url("::", 8765) == "http://[::1]:8765"
    assert http_url("localhost", 1) == "http://localhost:1"


def test_run_platform_refuses_a_taken_port_before_starting_anything(
    make_settings: Callable[..., Settings], listener: int
) -> None:
    settings = make_settings(server_port=listener)

    with pytest.raises(PortInUse, match="server_port"):
        run_platform(settings)

    assert not settings.home.exists()  # not even initialised


def test_run_platform_refuses_one_port_for_both_servers(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(server_port=18999, mlflow_port=18999)

    with pytest.raises(ServerAddressError, match="mlflow_port"):
        run_platform(settings)
