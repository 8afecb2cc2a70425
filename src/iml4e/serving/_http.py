"""HTTP plumbing shared by the model server's routes: body limits, request ids, JSON answers."""

from __future__ import annotations

import json
import os
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from iml4e.serving.errors import PayloadError

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REQUEST_ID_LENGTH = 128


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson (numpy values included)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


async def read_json(
    request: Request, *, allow_nan: bool = False, allow_no_content_type: bool = False
) -> Any:
    """The request body as JSON, or a :class:`PayloadError` (413 too big, 415 not JSON, 400).

    With ``allow_nan`` the non-standard ``NaN``/``Infinity`` literals some clients send are
    decoded to floats, so the caller can refuse them naming the field instead of the body.
    With ``allow_no_content_type`` a body without a content type is read as JSON (Triton's
    HTTP client sends none); a content type other than JSON is still a 415.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if not (content_type == "application/json" or (allow_no_content_type and not content_type)):
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
        if allow_nan:
            try:
                return json.loads(body)
            except ValueError:
                pass
        raise PayloadError(f"not valid JSON ({exc})", where="body") from None


def valid_request_id(given: Any) -> bool:
    """Whether ``given`` may be used as a request id (short printable text)."""
    return (
        isinstance(given, str) and 0 < len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable()
    )


def request_id_of(request: Request) -> str:
    """The caller's ``x-request-id`` when usable, else a new random one (32 hex digits)."""
    given = request.headers.get("x-request-id")
    return given if valid_request_id(given) else os.urandom(16).hex()


def caller_of(request: Request) -> str | None:
    """Who asked: the ``x-iml4e-caller`` header, else the client address."""
    return request.headers.get("x-iml4e-caller") or (
        request.client.host if request.client else None
    )
