"""A real model server process on loopback: slow clients, connection limit, SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from iml4e.config import load_settings
from iml4e.ports import find_free_port
from iml4e.serving.deployments import deployment_events, get_deployment
from iml4e.serving.inference_log import read_inference_log
from iml4e.serving.process import ModelServerProcess
from iml4e.serving.spec import ServeSpec
from iml4e.store import open_store
from tests.serving.conftest import MODEL_NAME, RegisteredModel

ROW = {"x1": 0.4, "x2": -1.0, "color": "red"}
MAX_CONNECTIONS = 1100


def _server(registered_model: RegisteredModel, deployment: str) -> ModelServerProcess:
    settings = load_settings(
        {
            "home": str(registered_model.settings.home),
            "serving_max_connections": MAX_CONNECTIONS,
        },
        environ={},
        cwd=registered_model.settings.home,
    ).settings
    return ModelServerProcess(
        settings,
        ServeSpec(f"models:/{MODEL_NAME}/{registered_model.version}", deployment=deployment),
        host="127.0.0.1",
        port=find_free_port(),
    )


@pytest.fixture
def server(registered_model: RegisteredModel) -> Iterator[ModelServerProcess]:
    with _server(registered_model, "slow-clients") as process:
        yield process


def _slow_clients(url: str, count: int) -> list[socket.socket]:
    """Connections that send half a request and then nothing."""
    host, port = url.removeprefix("http://").split(":")
    sockets = []
    for _ in range(count):
        conn = socket.create_connection((host, int(port)))
        conn.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
        sockets.append(conn)
    return sockets


def test_slow_clients_neither_block_others_nor_take_the_server_down(
    server: ModelServerProcess,
) -> None:
    body = {"dataframe_records": [ROW]}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        slow = _slow_clients(server.url, 1000)
        try:
            # a thousand stalled connections: other callers are still answered
            answered = [client.post("/invocations", json=body) for _ in range(20)]
            assert {r.status_code for r in answered} == {200}
            # past the connection limit new requests are refused at once, with a 503
            slow += _slow_clients(server.url, 150)
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                refused = fresh.post("/invocations", json=body)
            assert refused.status_code == 503
        finally:
            for conn in slow:
                conn.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with httpx.Client(base_url=server.url, timeout=30) as fresh:
                if fresh.post("/invocations", json=body).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not recover after the slow clients left")
        assert client.get("/health").json()["status"] == "ok"


def test_nothing_answered_is_lost_when_the_server_is_killed(
    registered_model: RegisteredModel,
) -> None:
    process = _server(registered_model, "killed")
    process.start()
    ids = [uuid.uuid4().hex for _ in range(200)]
    try:
        with httpx.Client(base_url=process.url, timeout=30) as client:
            for request_id in ids:
                response = client.post(
                    "/invocations",
                    json={"dataframe_records": [ROW]},
                    headers={"x-request-id": request_id},
                )
                assert response.status_code == 200
    finally:
        assert process.pid is not None
        os.killpg(process.pid, signal.SIGKILL)
        process.stop()
    store = open_store(registered_model.settings)
    try:
        logged = [r.request_id for r in read_inference_log(store, "killed")]
    finally:
        store.close()
    assert logged == ids


def test_a_terminated_server_records_its_deployment_stopped_once(
    registered_model: RegisteredModel,
) -> None:
    process = _server(registered_model, "terminated")
    process.start()
    process.stop()  # SIGTERM; uvicorn ends by re-raising it, so the exit code is -15
    store = open_store(registered_model.settings)
    try:
        assert get_deployment(store, "terminated").state == "stopped"
        kinds = [e["kind"] for e in deployment_events(store, "terminated")]
    finally:
        store.close()
    assert kinds.count("stopped") == 1
