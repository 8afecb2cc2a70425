"""Refuse request bodies larger than ``server_max_body_bytes`` with a 413, before a route acts.

An ASGI middleware: a ``Content-Length`` above the limit is answered at once, without calling
the app; a body sent in chunks (no or a false length) is counted as the app reads it, and
when the count passes the limit the read fails, the app's own answer is dropped and the 413 is
sent instead. The message names the limit, as JSON for the API and as a short HTML page for
the web UI. The MLflow proxy (``/mlflow``) streams bodies through without holding them, so it
is not limited here.
"""

from __future__ import annotations

import json
from html import escape

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iml4e.server.mlflow_proxy import MLFLOW_PREFIX

SETTING = "server_max_body_bytes"


class BodyTooLarge(Exception):
    """The body being read has passed the limit (raised into the app's read)."""


def limit_text(max_bytes: int) -> str:
    """``1048576 bytes (1 MiB)``: the limit as people read it."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if max_bytes >= size:
            return f"{max_bytes} bytes ({max_bytes / size:g} {unit})"
    return f"{max_bytes} bytes"


class BodyLimit:
    """Answer 413 to a request whose body is longer than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _path(scope).startswith(MLFLOW_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # the app's answer to a body it could not read: the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = f"the request body is larger than the limit of {limit_text(self.max_bytes)}"
        if _wants_html(scope):
            body = (
                '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
                "<title>Request too large · iml4e</title></head><body>"
                f"<h1>Request too large</h1><p>{escape(message)} (setting "
                f"<code>{SETTING}</code>). Nothing was changed.</p></body></html>\n"
            ).encode()
            content_type = b"text/html; charset=utf-8"
        else:
            body = json.dumps({"error": message, "where": SETTING}).encode()
            content_type = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _path(scope: Scope) -> str:
    return str(scope.get("path", ""))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _wants_html(scope: Scope) -> bool:
    from iml4e.server.ui import PREFIX

    path = _path(scope)
    return path == PREFIX or path.startswith(PREFIX + "/")
