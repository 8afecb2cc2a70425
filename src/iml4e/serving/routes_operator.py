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
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e.errors import BadInput, CheckFailed
from iml4e.serving._http import FastJSONResponse, read_json
from iml4e.serving.errors import DeploymentNotFound, UnknownRequest
from iml4e.serving.operator import pause_deployment, record_override, resume_deployment
from iml4e.serving.router import Router
from iml4e.store import Store

OperatorGuard = Callable[[str | None, str, str], str]
"""``(authorization header, action, target) → actor``; raises when the caller may not."""


def operator_route_list(
    router: Router, store: Store, *, guard: OperatorGuard | None = None
) -> list[Route]:
    """The ``/operator`` routes of ``router``'s deployment, recording to ``store``.

    With ``guard`` the actor is the caller its API token names, who must hold a role allowed
    to pause (``deployment.pause``) or override (``deployment.override``); without, the
    body's ``actor`` is taken as given (a loopback server on one person's machine).
    """
    deployment = router.deployment

    def actor(authorization: str | None, body: dict[str, Any], action: str) -> str:
        if guard is None:
            return _text(body, "actor")
        return guard(authorization, action, f"deployment:{deployment}")

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

    # The store writes (and the audit trail's lock) block: they run in the thread pool so the
    # worker's event loop keeps answering predictions meanwhile.
    async def pause(request: Request) -> Response:
        try:
            body = await _object(request)
            authorization = request.headers.get("Authorization")
            await run_in_threadpool(
                lambda: pause_deployment(
                    store,
                    deployment,
                    actor=actor(authorization, body, "deployment.pause"),
                    reason=_text(body, "reason"),
                )
            )
        except REFUSALS as exc:
            return _refused(exc)
        router.pause()
        return FastJSONResponse(state())

    async def resume(request: Request) -> Response:
        try:
            body = await _object(request)
            authorization = request.headers.get("Authorization")
            reason = body.get("reason")
            await run_in_threadpool(
                lambda: resume_deployment(
                    store,
                    deployment,
                    actor=actor(authorization, body, "deployment.pause"),
                    reason=None if reason is None else _text(body, "reason"),
                )
            )
        except REFUSALS as exc:
            return _refused(exc)
        router.resume()
        return FastJSONResponse(state())

    async def override(request: Request) -> Response:
        try:
            body = await _object(request)
            if "value" not in body:
                raise BadInput("required (the corrected prediction)", where="value")
            authorization = request.headers.get("Authorization")
            record = await run_in_threadpool(
                lambda: record_override(
                    store,
                    deployment,
                    request_id=_text(body, "request_id"),
                    value=body["value"],
                    actor=actor(authorization, body, "deployment.override"),
                    reason=_text(body, "reason"),
                )
            )
        except REFUSALS as exc:
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


REFUSALS = (BadInput, CheckFailed)
"""Bad input, an unknown caller (401) or a refused one (403, ``PermissionDenied``)."""


def _refused(exc: BadInput | CheckFailed) -> Response:
    status = 404 if isinstance(exc, DeploymentNotFound | UnknownRequest) else 400
    status = getattr(exc, "status", status)
    return FastJSONResponse(
        {"error_code": "BAD_REQUEST", "message": exc.message, "field": exc.where},
        status_code=status,
    )
