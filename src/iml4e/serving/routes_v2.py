"""Open Inference Protocol (KServe V2) REST routes: thin wrappers over :mod:`protocol_v2`."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e import __version__
from iml4e.serving._http import FastJSONResponse, caller_of, read_json, request_id_of
from iml4e.serving.errors import PayloadError
from iml4e.serving.protocol_v2 import (
    infer_response,
    model_metadata,
    parse_infer_request,
    server_metadata,
    signature_datatype,
)
from iml4e.serving.scoring import Scorer

MODEL = "/v2/models/{name}"
VERSION = "/v2/models/{name}/versions/{version}"


def v2_routes(scorer: Scorer) -> list[Route]:
    """The V2 routes of ``scorer``'s model (also reachable under ``/versions/{version}``)."""
    model = scorer.model

    def unknown_model(request: Request) -> Response | None:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        if not scorer.serves(name):
            return _v2_error(f"model {name!r} is not served here", 404)
        if version is not None and version != model.version:
            return _v2_error(f"model {name!r} has no version {version!r} here", 404)
        return None

    async def live(_: Request) -> Response:
        return FastJSONResponse({"live": True})

    async def ready(_: Request) -> Response:
        return FastJSONResponse({"ready": True})

    async def server(_: Request) -> Response:
        return FastJSONResponse(server_metadata(__version__))

    async def metadata(request: Request) -> Response:
        if (missing := unknown_model(request)) is not None:
            return missing
        output_type = signature_datatype(model.output_type)
        return FastJSONResponse(
            model_metadata(request.path_params["name"], model.version, model.columns, output_type)
        )

    async def model_ready(request: Request) -> Response:
        if (missing := unknown_model(request)) is not None:
            return missing
        return FastJSONResponse({"name": request.path_params["name"], "ready": True})

    async def infer(request: Request) -> Response:
        started = time.perf_counter()
        if (missing := unknown_model(request)) is not None:
            return missing
        try:
            if "inference-header-content-length" in request.headers:
                raise PayloadError(
                    "the binary tensor extension is not supported; send JSON tensors",
                    where="inference-header-content-length",
                )
            body = await read_json(request, allow_nan=True, allow_no_content_type=True)
            parsed = parse_infer_request(body, model.columns)
            request_id = parsed.id or request_id_of(request)
            outputs = await scorer.predict_and_log(
                parsed.rows,
                protocol="v2",
                request_id=request_id,
                started=started,
                caller=caller_of(request),
            )
        except PayloadError as exc:
            return _v2_error(str(exc), exc.status)
        return FastJSONResponse(
            infer_response(model.name, model.version, request_id, outputs),
            headers={"x-request-id": request_id, "x-model-version": model.version},
        )

    return [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server, methods=["GET"]),
        Route(MODEL, metadata, methods=["GET"]),
        Route(f"{MODEL}/ready", model_ready, methods=["GET"]),
        Route(f"{MODEL}/infer", infer, methods=["POST"]),
        Route(VERSION, metadata, methods=["GET"]),
        Route(f"{VERSION}/ready", model_ready, methods=["GET"]),
        Route(f"{VERSION}/infer", infer, methods=["POST"]),
    ]


def _v2_error(message: str, status: int) -> Response:
    return FastJSONResponse({"error": message}, status_code=status)
