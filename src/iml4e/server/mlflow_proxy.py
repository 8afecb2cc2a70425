"""A small streaming reverse proxy: ``/mlflow/…`` on the platform reaches the MLflow UI.

A proxy rather than a redirect keeps one address for people (the platform's) and works when
the MLflow port is not reachable from the browser. The MLflow UI uses relative URLs only
(``static-files/…``, ``ajax-api/…``, ``graphql``), so it runs unchanged under ``/mlflow/``;
the MLflow port still serves the REST API at its root for MLflow clients.

Requests and responses stream in both directions (artifact up- and downloads are not held in
memory); bodies pass through byte for byte, compressed or not. WebSockets are not proxied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

MLFLOW_PREFIX = "/mlflow"
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Headers that describe one hop, not the message (RFC 9110 §7.6.1), plus Host, which httpx
# sets for the upstream so MLflow's host check sees its own address.
HOP_BY_HOP_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
PROXY_TIMEOUT = httpx.Timeout(300.0, connect=5.0, pool=10.0)


def add_mlflow_proxy(
    app: FastAPI, mlflow_url: str, client: Callable[[], httpx.AsyncClient]
) -> None:
    """Route ``/mlflow`` and ``/mlflow/{path}`` on ``app`` to the MLflow server at ``mlflow_url``.

    ``client`` returns the shared HTTP client, which exists only while the app runs.
    """

    @app.get(MLFLOW_PREFIX, include_in_schema=False)
    async def mlflow_root(request: Request) -> Response:
        # The UI's relative URLs need the trailing slash to resolve under /mlflow/.
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{MLFLOW_PREFIX}/{query}", status_code=307)

    @app.api_route(MLFLOW_PREFIX + "/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def mlflow_proxy(request: Request) -> Response:
        return await forward(request, client(), mlflow_url)


async def forward(request: Request, client: httpx.AsyncClient, mlflow_url: str) -> Response:
    """Send ``request`` (path below ``/mlflow``) to MLflow and stream its answer back."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    target = raw_path[len(MLFLOW_PREFIX) :] or b"/"
    if request.url.query:
        target += b"?" + request.url.query.encode("latin-1")
    headers = [(k, v) for k, v in request.headers.raw if k.lower() not in HOP_BY_HOP_HEADERS]
    if "accept-encoding" not in request.headers:
        # Bodies are relayed as they come: never let httpx ask for a compression the client
        # did not.
        headers.append((b"accept-encoding", b"identity"))
    upstream = client.build_request(
        request.method,
        httpx.URL(mlflow_url).copy_with(raw_path=target),
        headers=headers,
        content=request.stream() if _has_body(request) else None,
        timeout=PROXY_TIMEOUT,
    )
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.TimeoutException:
        return _unreachable(504, f"the MLflow UI at {mlflow_url} did not answer in time")
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        return _unreachable(
            502, f"the MLflow UI at {mlflow_url} is not reachable (starting up?): {reason}"
        )
    response = StreamingResponse(
        _relay(answer), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
    )
    response.raw_headers = [
        (key, _rewrite_location(value, mlflow_url) if key.lower() == b"location" else value)
        for key, value in answer.headers.raw
        if key.lower() not in HOP_BY_HOP_HEADERS
    ]
    return response


def _has_body(request: Request) -> bool:
    return "content-length" in request.headers or "transfer-encoding" in request.headers


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    finally:
        await answer.aclose()


def _rewrite_location(location: bytes, mlflow_url: str) -> bytes:
    """Keep redirects issued by MLflow inside ``/mlflow``."""
    upstream = mlflow_url.encode()
    if location.startswith(upstream):
        location = location[len(upstream) :] or b"/"
    if location.startswith(b"/") and not location.startswith(b"//"):
        return MLFLOW_PREFIX.encode() + location
    return location


def _unreachable(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)
