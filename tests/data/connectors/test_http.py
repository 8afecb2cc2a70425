"""HTTP sources against a real HTTP server on loopback: retries, truncation, 404, checksum."""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from iml4e.data.connectors import DataSourceError, open_source, read_source

FRAME = pd.DataFrame(
    {"id": [1, 2, 3, 4], "city": ["Espoo", "Tampere", "Oulu", "Turku"], "x": [0.5, 1.5, 2.5, 3.5]}
)
CSV = FRAME.to_csv(index=False).encode()
SHA256 = hashlib.sha256(CSV).hexdigest()


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    FRAME.to_parquet(buffer)
    return buffer.getvalue()


PARQUET = _parquet_bytes()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    """Answers by path; ``self.path`` (with its query) counts the requests made for it."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(
        self, status: int, body: bytes, content_type: str = "text/csv", length: int | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
            hit = self.server.hits[self.path]
        path = urlsplit(self.path).path
        if path == "/data.csv":
            self._send(200, CSV)
        elif path == "/flaky.csv":
            self._send(503, b"busy") if hit <= 2 else self._send(200, CSV)
        elif path == "/down.csv":
            self._send(503, b"down for maintenance")
        elif path == "/truncated.csv":
            self._send(200, CSV[:25], length=len(CSV))
            self.close_connection = True
        elif path == "/missing.csv":
            self._send(404, b"no such file")
        elif path == "/export":
            self._send(200, PARQUET, content_type="application/vnd.apache.parquet")
        elif path == "/latin1":
            body = "name,city\nJosé,Zürich\n".encode("latin-1")
            self._send(200, body, content_type="text/csv; charset=ISO-8859-1")
        elif path == "/mystery":
            self._send(200, CSV, content_type="application/octet-stream")
        elif path == "/moved.csv":
            self.send_response(302)
            self.send_header("Location", "/data.csv")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(500, b"unknown route")


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.hits = Counter()
    httpd.lock = threading.Lock()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def url(server: _Server, path: str) -> str:
    """A URL for ``path`` with a unique query, so this test's requests are counted apart."""
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}{path}?test={uuid.uuid4().hex}"


def hits(server: _Server, address: str) -> int:
    split = urlsplit(address)
    return server.hits[f"{split.path}?{split.query}"]


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloads go here, so the tests can see that they are removed."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_csv_download(server: _Server, temp_folder: Path) -> None:
    address = url(server, "/data.csv")
    connector = open_source(address)
    assert connector.source == address
    pd.testing.assert_frame_equal(connector.read(), FRAME)
    assert hits(server, address) == 1
    assert list(temp_folder.iterdir()) == []


def test_a_server_that_fails_twice_then_answers(server: _Server) -> None:
    address = url(server, "/flaky.csv")
    connector = open_source(address, retries=3)
    pd.testing.assert_frame_equal(connector.read(), FRAME)
    assert hits(server, address) == 3
    assert connector.backend.attempts == 3


def test_retries_give_up_with_the_last_status(server: _Server) -> None:
    address = url(server, "/down.csv")
    with pytest.raises(DataSourceError) as caught:
        read_source(address, retries=2)
    assert caught.value.message == "HTTP 503 Service Unavailable (gave up after 3 attempts)"
    assert hits(server, address) == 3


def test_a_truncated_body_is_retried_then_an_error(server: _Server, temp_folder: Path) -> None:
    address = url(server, "/truncated.csv")
    with pytest.raises(DataSourceError) as caught:
        read_source(address, retries=1)
    assert caught.value.where == address
    assert f"truncated download: got 25 of {len(CSV)} bytes" in caught.value.message
    assert "gave up after 2 attempts" in caught.value.message
    assert hits(server, address) == 2
    assert list(temp_folder.iterdir()) == []


def test_404_is_not_retried(server: _Server, temp_folder: Path) -> None:
    address = url(server, "/missing.csv")
    with pytest.raises(DataSourceError) as caught:
        read_source(address, retries=3)
    assert caught.value.message == "HTTP 404 Not Found"
    assert hits(server, address) == 1
    assert list(temp_folder.iterdir()) == []


def test_checksum_is_verified(server: _Server) -> None:
    address = url(server, "/data.csv")
    pd.testing.assert_frame_equal(read_source(address, checksum=f"sha256:{SHA256}"), FRAME)
    wrong = "sha256:" + "ab" * 32
    with pytest.raises(DataSourceError) as caught:
        read_source(address, checksum=wrong)
    assert caught.value.message == f"checksum mismatch: expected {wrong}, got sha256:{SHA256}"
    assert hits(server, address) == 2  # one per read: a mismatch is not retried


def test_the_format_comes_from_the_content_type(server: _Server) -> None:
    pd.testing.assert_frame_equal(read_source(url(server, "/export")), FRAME)
    latin = read_source(url(server, "/latin1"))
    assert latin.to_dict("list") == {"name": ["José"], "city": ["Zürich"]}
    with pytest.raises(DataSourceError, match=r"cannot tell the format.*pass format="):
        read_source(url(server, "/mystery"))
    pd.testing.assert_frame_equal(read_source(url(server, "/mystery"), format="csv"), FRAME)


def test_redirects_are_followed(server: _Server) -> None:
    pd.testing.assert_frame_equal(read_source(url(server, "/moved.csv")), FRAME)


def test_chunks_stream_the_download_and_clean_up_when_closed_early(
    server: _Server, temp_folder: Path
) -> None:
    chunks = open_source(url(server, "/data.csv")).iter_chunks(1)
    first = next(chunks)
    assert first["city"].tolist() == ["Espoo"]
    assert len(list(temp_folder.iterdir())) == 1  # the download, while chunks are read
    chunks.close()
    assert list(temp_folder.iterdir()) == []


def test_passwords_and_tokens_are_masked(server: _Server) -> None:
    host, port = server.server_address[:2]
    address = f"http://reader:hunter2@{host!s}:{port}/data.csv?token=abc123&day=1"
    connector = open_source(address)
    assert connector.source == f"http://reader:***@{host!s}:{port}/data.csv?token=***&day=1"
    pd.testing.assert_frame_equal(connector.read(), FRAME)


def test_an_unreachable_server_is_retried_then_an_error() -> None:
    with pytest.raises(DataSourceError) as caught:
        read_source("http://127.0.0.1:9/data.csv", retries=1, timeout=2)
    assert "ConnectError" in caught.value.message
    assert "gave up after 2 attempts" in caught.value.message
