"""Open Inference Protocol (KServe V2) REST routes: thin wrappers over :mod:`protocol_v2`."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e import __version__
from iml4e.serving._http import FastJSONResponse, caller_of, read_json, request_id_of
from iml4e.serving.errors import DeploymentPaused, PayloadError
from iml4e.serving.protocol_v2 import (
    infer_request_id,
    infer_response,
    model_metadata,
    parse_infer_request,
    server_metadata,
    signature_datatype,
)
from iml4e.serving.router import Answering, Router
from iml4e.serving.served_model import ServedModel

MODEL = "/v2/models/{name}"
VERSION = "/v2/models/{name}/versions/{version}"


def v2_routes(router: Router) -> list[Route]:
    """The V2 routes of ``router``'s deployment (also reachable under
    ``/versions/{version}``, which pins the champion's or the challenger's version)."""

    def unknown_model(request: Request) -> Response | None:
        name = request.path_params["name"]
        version = request.path_params.get("version")
        if not router.serves(name):
            return _v2_error(f"model {name!r} is not served here", 404)
        if version is not None and not router.has_version(version):
            return _v2_error(f"model {name!r} has no version {version!r} here", 404)
        return None

    def model_of(request: Request) -> ServedModel:
        version = request.path_params.get("version")
        challenger = router.model("challenger")
        if version is not None and challenger is not None and challenger.version == version:
            return challenger
        return router.champion

    def readiness(content: dict[str, Any]) -> Response:
        return FastJSONResponse(content, status_code=200 if router.ready else 503)

    async def live(_: Request) -> Response:
        return FastJSONResponse({"live": True})

    async def ready(_: Request) -> Response:
        return readiness({"ready": router.ready})

    async def server(_: Request) -> Response:
        return FastJSONResponse(server_metadata(__version__))

    async def metadata(request: Request) -> Response:
        if (missing := unknown_model(request)) is not None:
            return missing
        model = model_of(request)
        output_type = signature_datatype(model.output_type)
        return FastJSONResponse(
            model_metadata(request.path_params["name"], model.version, model.columns, output_type)
        )

    async def model_ready(request: Request) -> Response:
        if (missing := unknown_model(request)) is not None:
            return missing
        return readiness({"name": request.path_params["name"], "ready": router.ready})

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
            request_id = infer_request_id(body) or request_id_of(request)
            routed = await router.answer(
                Answering(
                    parse=lambda model: parse_infer_request(body, model.columns).rows,
                    protocol="v2",
                    request_id=request_id,
                    started=started,
                    caller=caller_of(request),
                ),
                version=request.path_params.get("version"),
            )
        except PayloadError as exc:
            return _v2_error(str(exc), exc.status)
        except DeploymentPaused as exc:
            return _v2_error(str(exc), 503)
        return FastJSONResponse(
            infer_response(routed.model.name, routed.model.version, request_id, routed.outputs),
            headers={"x-request-id": request_id, "x-model-version": routed.model.version},
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
