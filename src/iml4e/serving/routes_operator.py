"""The model server's human-oversight routes (AI Act Art. 14), thin over :mod:`operator`.

``GET /operator/state``, ``POST /operator/pause`` ``{"actor", "reason"}``, ``POST
/operator/resume`` ``{"actor", "reason"?}``, ``POST /operator/overrides`` ``{"request_id",
"value", "actor", "reason"}``. Pause and resume are written to the store (so every worker and
``iml4e deploy status`` see them) and applied at once to the worker that received them.
The routes are only mounted on a server bound to loopback until the platform server's roles
guard them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e.errors import BadInput
from iml4e.serving._http import FastJSONResponse, read_json
from iml4e.serving.errors import DeploymentNotFound, UnknownRequest
from iml4e.serving.operator import pause_deployment, record_override, resume_deployment
from iml4e.serving.router import Router
from iml4e.store import Store


def operator_route_list(router: Router, store: Store) -> list[Route]:
    """The ``/operator`` routes of ``router``'s deployment, recording to ``store``."""
    deployment = router.deployment

    def state() -> dict[str, Any]:
        return {
            "deployment": deployment,
            "paused": router.paused,
            "split": router.split,
            "served": [
                {"model": name, "version": version, "role": role}
                for name, version, role in router.served()
            ],
        }

    async def show(_: Request) -> Response:
        return FastJSONResponse(state())

    async def pause(request: Request) -> Response:
        try:
            body = await _object(request)
            pause_deployment(
                store, deployment, actor=_text(body, "actor"), reason=_text(body, "reason")
            )
        except BadInput as exc:
            return _refused(exc)
        router.pause()
        return FastJSONResponse(state())

    async def resume(request: Request) -> Response:
        try:
            body = await _object(request)
            reason = body.get("reason")
            resume_deployment(
                store,
                deployment,
                actor=_text(body, "actor"),
                reason=None if reason is None else _text(body, "reason"),
            )
        except BadInput as exc:
            return _refused(exc)
        router.resume()
        return FastJSONResponse(state())

    async def override(request: Request) -> Response:
        try:
            body = await _object(request)
            if "value" not in body:
                raise BadInput("required (the corrected prediction)", where="value")
            record = record_override(
                store,
                deployment,
                request_id=_text(body, "request_id"),
                value=body["value"],
                actor=_text(body, "actor"),
                reason=_text(body, "reason"),
            )
        except BadInput as exc:
            return _refused(exc)
        return FastJSONResponse(dataclasses.asdict(record), status_code=201)

    return [
        Route("/operator/state", show, methods=["GET"]),
        Route("/operator/pause", pause, methods=["POST"]),
        Route("/operator/resume", resume, methods=["POST"]),
        Route("/operator/overrides", override, methods=["POST"]),
    ]


async def _object(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object", where="body")
    return body


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise BadInput("required, as non-empty text", where=field)
    return value


def _refused(exc: BadInput) -> Response:
    status = 404 if isinstance(exc, DeploymentNotFound | UnknownRequest) else 400
    status = getattr(exc, "status", status)
    return FastJSONResponse(
        {"error_code": "BAD_REQUEST", "message": exc.message, "field": exc.where},
        status_code=status,
    )
