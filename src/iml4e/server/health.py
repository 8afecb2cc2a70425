"""What ``GET /health`` reports, as plain functions over the store and an HTTP client."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from iml4e.store import Store

MLFLOW_HEALTH_TIMEOUT_S = 1.0


def database_status(store: Store) -> str:
    """``"ok"`` when ``SELECT 1`` succeeds on the store, else the first line of the error."""
    try:
        with store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"error: {reason[0] if reason else type(exc).__name__}"
    return "ok"


async def mlflow_is_ready(client: httpx.AsyncClient, mlflow_url: str) -> bool:
    """Whether the MLflow server at ``mlflow_url`` answers its ``/health`` with 200 now."""
    try:
        response = await client.get(f"{mlflow_url}/health", timeout=MLFLOW_HEALTH_TIMEOUT_S)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
