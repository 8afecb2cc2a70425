"""The one place the platform server turns iml4e's errors into HTTP answers.

Errors that carry ``status`` (the server room's credential and permission errors) answer with
it; otherwise a missing record is 404, other bad input 400, a check that said no (a promotion
refused by its policy or the compliance gate) 409, and anything else iml4e raised on purpose
500 — always a JSON body ``{"error", "where"}``, never a traceback.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from iml4e.errors import BadInput, CheckFailed, Iml4eError
from iml4e.store.errors import NotFound


def status_of(error: Iml4eError) -> int:
    """The HTTP status for ``error``."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, BadInput):
        return 400
    if isinstance(error, CheckFailed):
        return 409
    return 500


def add_error_handlers(app: FastAPI) -> None:
    """Answer every :class:`Iml4eError` with its status and a JSON body."""

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        if not isinstance(error, Iml4eError):  # registered for this type only
            raise error
        body = {"error": error.message, "where": error.where}
        failures = getattr(error, "failures", None)
        if failures:
            body["failures"] = list(failures)
        return JSONResponse(body, status_code=status_of(error))

    app.add_exception_handler(Iml4eError, handle)
