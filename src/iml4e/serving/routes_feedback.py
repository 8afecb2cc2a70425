"""The model server's ground-truth route, thin over :func:`iml4e.monitoring.feedback.record_labels`.

``POST /feedback`` ``{"labels": [{"request_id", "label"}], "source"?, "actor"}`` answers 200
``{"recorded", "rejected": [{"request_id", "reason"}]}``: the valid labels are recorded and the
others listed, so a client can fix and resend only those. A body that is not of that shape is a
400 naming the field (``labels[3].request_id``), a body over the limit a 413.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from iml4e.errors import BadInput
from iml4e.monitoring.feedback import record_labels
from iml4e.serving._http import FastJSONResponse, read_json
from iml4e.store import Store

DEFAULT_SOURCE = "http"


def feedback_routes(store: Store, deployment: str) -> list[Route]:
    """The ``POST /feedback`` route of ``deployment``, recording labels to ``store``."""

    async def feedback(request: Request) -> Response:
        try:
            body = await read_json(request, allow_nan=True)
            labels, source, actor = _parse_body(body)
            result = await run_in_threadpool(
                record_labels, store, deployment, labels, source=source, actor=actor
            )
        except BadInput as exc:
            return FastJSONResponse(
                {"error_code": "BAD_REQUEST", "message": exc.message, "field": exc.where},
                status_code=getattr(exc, "status", 400),
            )
        return FastJSONResponse(
            {
                "recorded": result.recorded,
                "rejected": [dataclasses.asdict(item) for item in result.rejected],
            }
        )

    return [Route("/feedback", feedback, methods=["POST"])]


def _parse_body(body: Any) -> tuple[list[tuple[str, Any]], str, str]:
    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object", where="body")
    items = body.get("labels")
    if not isinstance(items, list) or not items:
        raise BadInput("required, as a non-empty list of {request_id, label}", where="labels")
    labels = []
    for index, item in enumerate(items):
        where = f"labels[{index}]"
        if not isinstance(item, dict):
            raise BadInput("must be an object {request_id, label}", where=where)
        if not isinstance(item.get("request_id"), str):
            raise BadInput("required, as text", where=f"{where}.request_id")
        if "label" not in item:
            raise BadInput("required", where=f"{where}.label")
        labels.append((item["request_id"], item["label"]))
    source = body.get("source", DEFAULT_SOURCE)
    for name, value in (("source", source), ("actor", body.get("actor"))):
        if not isinstance(value, str) or not value.strip():
            raise BadInput("required, as non-empty text", where=name)
    return labels, source, body["actor"]
