"""The model server's ASGI app: MLflow, KServe V1 and Open Inference (V2) over one deployment.

Routes parse, ask the deployment's :class:`~iml4e.serving.router.Router` which model answers
(champion, canary challenger, fallback while paused; a shadow sees a copy), and answer; the
chosen model's :class:`~iml4e.serving.scoring.Scorer` predicts and appends to the inference
log first. A paused deployment without a fallback answers 503 with ``retry-after``.

Bad input is a 4xx JSON body, never a 500: ``{"error_code", "message", "field"}`` for MLflow
and V1, ``{"error": "<field>: <message>"}`` for V2. Every route is counted in the app's own
Prometheus registry, served at ``/metrics``.
"""

from __future__ import annotations

import asyncio
import gc
import os
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
from iml4e.serving.errors import DeploymentPaused, PayloadError
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.metrics import CONTENT_TYPE, ServingMetrics
from iml4e.serving.payloads import parse_invocations, parse_kserve_v1
from iml4e.serving.router import Answering, Router
from iml4e.serving.routes_feedback import feedback_routes
from iml4e.serving.routes_operator import OperatorGuard, operator_route_list
from iml4e.serving.routes_v2 import v2_routes
from iml4e.serving.served_model import ServedModel
from iml4e.serving.watcher import DeploymentWatcher
from iml4e.store import Store

__all__ = ["MAX_BODY_BYTES", "MAX_REQUEST_ID_LENGTH", "FastJSONResponse", "create_model_app"]

Endpoint = Callable[[Request], Awaitable[Response]]

RETRY_AFTER_S = 30
"""What a paused deployment's 503 tells clients to wait before retrying (seconds)."""

MODEL_VERSION_HEADER = "x-model-version"
"""The answer header naming the model version that answered (absent when none did)."""


def create_model_app(
    router: Router,
    *,
    log: InferenceLogWriter,
    store: Store | None = None,
    watcher: DeploymentWatcher | None = None,
    operator_routes: bool = False,
    operator_guard: OperatorGuard | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The ASGI app serving ``router``'s deployment, logging every answer to ``log``.

    ``watcher`` (started with the app) follows alias moves and the deployment's state; with
    ``store``, ``POST /feedback`` takes ground-truth labels of answered requests;
    ``operator_routes`` adds the human-oversight routes under ``/operator`` (they need
    ``store``). ``on_shutdown`` runs last when the server shuts down.
    """

    async def predict_and_answer(
        request: Request, protocol: str, parse: Callable[[Any, ServedModel], Any]
    ) -> Response:
        started = time.perf_counter()
        request_id = request_id_of(request)
        try:
            body = await read_json(request)
            routed = await router.answer(
                Answering(
                    parse=lambda model: parse(body, model),
                    protocol=protocol,
                    request_id=request_id,
                    started=started,
                    caller=caller_of(request),
                )
            )
        except PayloadError as exc:
            return _error("BAD_REQUEST", exc.message, exc.where, exc.status, request_id)
        except DeploymentPaused as exc:
            return _error("UNAVAILABLE", exc.message, exc.where, 503, request_id, paused=True)
        return FastJSONResponse(
            {"predictions": routed.outputs},
            headers={"x-request-id": request_id, MODEL_VERSION_HEADER: routed.model.version},
        )

    async def invocations(request: Request) -> Response:
        return await predict_and_answer(
            request, "mlflow", lambda body, model: parse_invocations(body, model.column_names)[0]
        )

    async def kserve_v1_predict(request: Request) -> Response:
        if not router.serves(request.path_params["name"]):
            return _not_found(request.path_params["name"])
        return await predict_and_answer(
            request, "kserve-v1", lambda body, model: parse_kserve_v1(body, model.column_names)
        )

    async def kserve_v1_model(request: Request) -> Response:
        if not router.serves(request.path_params["name"]):
            return _not_found(request.path_params["name"])
        return FastJSONResponse({"name": request.path_params["name"], "ready": router.ready})

    async def health(_: Request) -> Response:
        champion = router.champion
        return FastJSONResponse(
            {
                "status": "paused" if router.paused else "ok",
                "deployment": router.deployment,
                "model": champion.name,
                "version": champion.version,
                "served": [
                    {"model": name, "version": version, "role": role}
                    for name, version, role in router.served()
                ],
                "split": router.split,
                "pid": os.getpid(),
                "server": __version__,
            }
        )

    async def metrics(_: Request) -> Response:
        return Response(router.metrics.exposition(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Everything loaded so far (MLflow, the model) lives as long as the server: keep it
        # out of the garbage collector's scans, whose pauses would otherwise show in the tail.
        gc.collect()
        gc.freeze()
        if watcher is not None:
            watcher.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            await router.close()
            log.close()
            if on_shutdown is not None:
                on_shutdown()

    routes = [
        Route("/ping", health, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/v1/models/{name}", kserve_v1_model, methods=["GET"]),
        Route("/v1/models/{name}:predict", kserve_v1_predict, methods=["POST"]),
        *v2_routes(router),
    ]
    if store is not None:
        routes.extend(feedback_routes(store, router.deployment))
    if operator_routes:
        if store is None:
            raise ValueError("operator routes need the store")
        routes.extend(operator_route_list(router, store, guard=operator_guard))
    measured = [
        Route(
            r.path,
            _measured(router.metrics, r.path, r.endpoint, lambda: router.champion.version),
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


def _error(
    code: str,
    message: str,
    field: str | None,
    status: int,
    request_id: str,
    *,
    paused: bool = False,
) -> Response:
    headers = {"x-request-id": request_id}
    if paused:
        headers["retry-after"] = str(RETRY_AFTER_S)
    return FastJSONResponse(
        {"error_code": code, "message": message, "field": field},
        status_code=status,
        headers=headers,
    )


def _not_found(name: str) -> Response:
    return FastJSONResponse(
        {"error_code": "NOT_FOUND", "message": f"no model named {name!r} here", "field": "name"},
        status_code=404,
    )
