"""The model server's ASGI app: MLflow, KServe V1 and Open Inference (V2) over one model.

Routes parse, call :class:`~iml4e.serving.scoring.Scorer` (which predicts and appends to the
inference log), and answer. Bad input is a 4xx JSON body, never a 500: ``{"error_code",
"message", "field"}`` for MLflow and V1, ``{"error": "<field>: <message>"}`` for V2. Every
route is counted in the app's own Prometheus registry, served at ``/metrics``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e import __version__
from iml4e.serving._http import (
    MAX_BODY_BYTES,
    MAX_REQUEST_ID_LENGTH,
    FastJSONResponse,
    caller_of,
    read_json,
    request_id_of,
)
from iml4e.serving.errors import PayloadError
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.metrics import CONTENT_TYPE, ServingMetrics
from iml4e.serving.payloads import ParsedRows, parse_invocations, parse_kserve_v1
from iml4e.serving.routes_v2 import v2_routes
from iml4e.serving.scoring import Scorer
from iml4e.serving.served_model import ServedModel

__all__ = ["MAX_BODY_BYTES", "MAX_REQUEST_ID_LENGTH", "FastJSONResponse", "create_model_app"]

Endpoint = Callable[[Request], Awaitable[Response]]

MODEL_VERSION_HEADER = "x-model-version"
"""The answer header naming the model version that answered (absent when none did)."""


def create_model_app(model: ServedModel, deployment: str, log: InferenceLogWriter) -> Starlette:
    """The ASGI app serving ``model`` as ``deployment``, logging every answer to ``log``."""
    metrics = ServingMetrics()
    metrics.set_served([(model.name, model.version, "champion")])
    scorer = Scorer(model, deployment, log, metrics)

    async def predict_and_answer(
        request: Request, protocol: str, parse: Callable[[Any], ParsedRows]
    ) -> Response:
        started = time.perf_counter()
        request_id = request_id_of(request)
        try:
            frame = parse(await read_json(request))
            outputs = await scorer.predict_and_log(
                frame,
                protocol=protocol,
                request_id=request_id,
                started=started,
                caller=caller_of(request),
            )
        except PayloadError as exc:
            return _error(exc, request_id)
        return FastJSONResponse(
            {"predictions": outputs},
            headers={"x-request-id": request_id, MODEL_VERSION_HEADER: model.version},
        )

    async def invocations(request: Request) -> Response:
        def parse(body: Any) -> ParsedRows:
            return parse_invocations(body, model.column_names)[0]

        return await predict_and_answer(request, "mlflow", parse)

    async def kserve_v1_predict(request: Request) -> Response:
        if not scorer.serves(request.path_params["name"]):
            return _not_found(request.path_params["name"])
        return await predict_and_answer(
            request, "kserve-v1", lambda body: parse_kserve_v1(body, model.column_names)
        )

    async def kserve_v1_model(request: Request) -> Response:
        if not scorer.serves(request.path_params["name"]):
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

    async def metrics(_: Request) -> Response:
        return Response(scorer.metrics.exposition(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Everything loaded so far (MLflow, the model) lives as long as the server: keep it
        # out of the garbage collector's scans, whose pauses would otherwise show in the tail.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            scorer.batcher.close()
            log.close()

    routes = [
        Route("/ping", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/v1/models/{name}", kserve_v1_model, methods=["GET"]),
        Route("/v1/models/{name}:predict", kserve_v1_predict, methods=["POST"]),
        *v2_routes(scorer),
    ]
    measured = [
        Route(
            r.path,
            _measured(scorer.metrics, r.path, r.endpoint, lambda: scorer.model.version),
            methods=r.methods,
        )
        for r in routes
    ]
    return Starlette(
        routes=[*measured, Route("/metrics", metrics, methods=["GET"])], lifespan=lifespan
    )


def _measured(
    metrics: ServingMetrics, route: str, endpoint: Endpoint, champion: Callable[[], str]
) -> Endpoint:
    """``endpoint`` counted by route, status and the model version that answered (the
    champion's when the request was refused before a model was chosen)."""

    async def measured_endpoint(request: Request) -> Response:
        started = time.perf_counter()
        try:
            response = await endpoint(request)
        except Exception:
            metrics.observe_request(route, 500, time.perf_counter() - started, champion())
            raise
        metrics.observe_request(
            route,
            response.status_code,
            time.perf_counter() - started,
            response.headers.get(MODEL_VERSION_HEADER) or champion(),
        )
        return response

    return measured_endpoint


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
