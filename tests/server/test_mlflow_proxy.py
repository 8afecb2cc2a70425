"""The /mlflow reverse proxy against a real HTTP server on loopback standing in for MLflow."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from iml4e.config import Settings
from iml4e.server import create_platform_app
from iml4e.store import open_store


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with what it received, so the test sees what the proxy sent."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/moved"):
            self.send_response(302)
            self.send_header("Location", "/elsewhere?a=1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "host": self.headers.get("host"),
                "origin": self.headers.get("origin"),
                "accept_encoding": self.headers.get("accept-encoding"),
                "body": body.decode("utf-8"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Set-Cookie", "a=1")
        self.send_header("Set-Cookie", "b=2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return


@pytest.fixture
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client(make_settings: Callable[..., Settings], upstream: int) -> Iterator[TestClient]:
    settings = make_settings(mlflow_port=upstream)
    open_store(settings).close()
    with TestClient(create_platform_app(settings)) as running:
        yield running


def test_get_keeps_the_raw_path_and_query(client: TestClient, upstream: int) -> None:
    response = client.get("/mlflow/ajax-api/2.0/x%20y/runs?max_results=10&q=a%26b")

    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/ajax-api/2.0/x%20y/runs?max_results=10&q=a%26b"
    assert echoed["host"] == f"127.0.0.1:{upstream}"


def test_post_streams_the_body_and_keeps_the_origin(client: TestClient) -> None:
    body = json.dumps({"name": "x" * 100_000})

    response = client.post(
        "/mlflow/ajax-api/2.0/mlflow/experiments/create",
        content=body,
        headers={"content-type": "application/json", "origin": "http://127.0.0.1:8765"},
    )

    echoed = response.json()
    assert (echoed["method"], echoed["body"]) == ("POST", body)
    assert echoed["origin"] == "http://127.0.0.1:8765"


def test_every_response_header_is_relayed(client: TestClient) -> None:
    response = client.get("/mlflow/anything")

    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]


def test_head_and_delete_are_relayed(client: TestClient) -> None:
    assert client.head("/mlflow/x").status_code == 200
    assert client.delete("/mlflow/x").json()["method"] == "DELETE"


def test_redirects_from_mlflow_stay_under_mlflow(client: TestClient) -> None:
    response = client.get("/mlflow/moved", follow_redirects=False)

    assert response.status_code == 302
    assert response.headers["location"] == "/mlflow/elsewhere?a=1"


def test_no_compression_is_asked_for_unless_the_client_asked(client: TestClient) -> None:
    plain = client.build_request("GET", "/mlflow/x")
    del plain.headers["accept-encoding"]

    assert client.send(plain).json()["accept_encoding"] == "identity"
    assert (
        client.get("/mlflow/x", headers={"accept-encoding": "gzip"}).json()["accept_encoding"]
        == "gzip"
    )
