"""The model server's ASGI app: MLflow and KServe V1 protocols over one served model.

Routes parse, call :class:`ServedModel`, append to the inference log, and answer. Bad input
is a 4xx JSON body ``{"error_code", "message", "field"}``, never a 500.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from iml4e import __version__
from iml4e.serving.errors import PayloadError
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord
from iml4e.serving.payloads import parse_invocations, parse_kserve_v1
from iml4e.serving.served_model import ServedModel

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REQUEST_ID_LENGTH = 128


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson (numpy values included)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def create_model_app(model: ServedModel, deployment: str, log: InferenceLogWriter) -> Starlette:
    """The ASGI app serving ``model`` as ``deployment``, logging every answer to ``log``."""

    async def predict_and_log(
        request: Request, protocol: str, parse: Callable[[Any], pd.DataFrame]
    ) -> Response:
        started = time.perf_counter()
        request_id = _request_id(request)
        try:
            frame = parse(await _read_json(request))
            outputs = model.predict(frame)
        except PayloadError as exc:
            return _error(exc, request_id)
        latency_ms = (time.perf_counter() - started) * 1000
        log.append(
            InferenceRecord(
                request_id=request_id,
                timestamp=time.time(),
                deployment=deployment,
                model_name=model.name,
                model_version=model.version,
                protocol=protocol,
                inputs=frame.to_dict(orient="records"),
                outputs=outputs,
                latency_ms=latency_ms,
                caller=request.headers.get("x-iml4e-caller")
                or (request.client.host if request.client else None),
            )
        )
        return FastJSONResponse({"predictions": outputs}, headers={"x-request-id": request_id})

    async def invocations(request: Request) -> Response:
        def parse(body: Any) -> pd.DataFrame:
            return parse_invocations(body, model.column_names)[0]

        return await predict_and_log(request, "mlflow", parse)

    async def kserve_v1_predict(request: Request) -> Response:
        if request.path_params["name"] not in (deployment, model.name):
            return _not_found(request.path_params["name"])
        return await predict_and_log(
            request, "kserve-v1", lambda body: parse_kserve_v1(body, model.column_names)
        )

    async def kserve_v1_model(request: Request) -> Response:
        if request.path_params["name"] not in (deployment, model.name):
            return _not_found(request.path_params["name"])
        return FastJSONResponse({"name": request.path_params["name"], "ready": True})

    async def health(_: Request) -> Response:
        return FastJSONResponse(
            {
                "status": "ok",
                "deployment": deployment,
                "model": model.name,
                "version": model.version,
                "server": __version__,
            }
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            log.close()

    return Starlette(
        routes=[
            Route("/ping", health, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/v1/models/{name}", kserve_v1_model, methods=["GET"]),
            Route("/v1/models/{name}:predict", kserve_v1_predict, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


async def _read_json(request: Request) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/json":
        raise PayloadError(
            f"content type must be application/json (got {content_type or 'none'})",
            where="content-type",
            status=415,
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadError(f"body larger than {MAX_BODY_BYTES} bytes", where="body", status=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadError(f"body larger than {MAX_BODY_BYTES} bytes", where="body", status=413)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON ({exc})", where="body") from None


def _request_id(request: Request) -> str:
    given = request.headers.get("x-request-id")
    if given and len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable():
        return given
    return uuid.uuid4().hex


def _error(exc: PayloadError, request_id: str) -> Response:
    return FastJSONResponse(
        {"error_code": "BAD_REQUEST", "message": exc.message, "field": exc.where},
        status_code=exc.status,
        headers={"x-request-id": request_id},
    )


def _not_found(name: str) -> Response:
    return FastJSONResponse(
        {"error_code": "NOT_FOUND", "message": f"no model named {name!r} here", "field": "name"},
        status_code=404,
    )
