"""The platform's ASGI app: health, metrics, the REST API under ``/api`` (with users, roles
and the audit trail), a landing page, and the MLflow UI under ``/mlflow``.

The web UI's pages live under ``/ui`` (:mod:`iml4e.server.ui`), its stylesheet under
``/static``. The app opens the store once at start-up (lifespan) and shares one HTTP client for
the MLflow checks and the proxy; it never imports MLflow, so it starts in well under a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from iml4e import __version__
from iml4e.config import Settings
from iml4e.monitoring.gauges import monitoring_exposition
from iml4e.server import (  # noqa: F401  (their routes join the API router on import)
    api_compliance,
    api_data,
    api_operations,
    api_rooms,
)
from iml4e.server.api import router as api_router
from iml4e.server.body_limit import BodyLimit
from iml4e.server.health import database_status, mlflow_is_ready
from iml4e.server.http_errors import add_error_handlers
from iml4e.server.mlflow_proxy import MLFLOW_PREFIX, PROXY_TIMEOUT, add_mlflow_proxy
from iml4e.server.mlflow_ui import mlflow_ui_url
from iml4e.server.ui import mount_ui
from iml4e.store import Store, open_store


class MlflowHealth(BaseModel):
    """Where the MLflow UI runs and whether it answers yet."""

    url: str
    ready: bool


class Health(BaseModel):
    """Answer of ``GET /health``: ``status`` is ``ok`` unless the database check failed."""

    status: str
    version: str
    database: str
    mlflow: MlflowHealth


class _Resources:
    """What the app holds while it runs; set by the lifespan, released when it ends."""

    store: Store
    http: httpx.AsyncClient


def create_platform_app(settings: Settings) -> FastAPI:
    """The platform server app for ``settings`` (no MLflow child is started here).

    The store is opened without migrating: :func:`iml4e.platform.initialize` does that before
    any server starts.
    """
    mlflow_url = mlflow_ui_url(settings)
    resources = _Resources()

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        resources.store = open_store(settings, migrate=False)
        resources.http = httpx.AsyncClient(timeout=PROXY_TIMEOUT, trust_env=False)
        running.state.store, running.state.settings = resources.store, settings
        try:
            yield
        finally:
            await resources.http.aclose()
            resources.store.close()

    app = FastAPI(
        title="iml4e platform",
        version=__version__,
        description="The iml4e platform server.",
        lifespan=lifespan,
    )
    app.state.scheduler = None  # `iml4e up` sets its MonitorScheduler here

    @app.get("/health", response_model=Health, responses={503: {"model": Health}})
    async def health() -> JSONResponse:
        """Liveness of the platform, its database (``SELECT 1``) and the MLflow UI."""
        database = await run_in_threadpool(database_status, resources.store)
        report = Health(
            status="ok" if database == "ok" else "degraded",
            version=__version__,
            database=database,
            mlflow=MlflowHealth(
                url=mlflow_url, ready=await mlflow_is_ready(resources.http, mlflow_url)
            ),
        )
        return JSONResponse(report.model_dump(), status_code=200 if database == "ok" else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus text: every deployment's newest monitoring values
        (``iml4e_monitor_value``) and alert states (``iml4e_alert_firing``)."""
        body = await run_in_threadpool(monitoring_exposition, resources.store)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(_index_page())

    app.include_router(api_router)  # with the routes of api_rooms, registered on import
    mount_ui(app)
    add_error_handlers(app)
    add_mlflow_proxy(app, mlflow_url, lambda: resources.http)
    app.add_middleware(BodyLimit, max_bytes=settings.server_max_body_bytes)
    return app


def _index_page() -> str:
    links = [
        ("/ui/", "web UI: AI systems, deployments, alerts, audit log"),
        ("/health", "health"),
        ("/docs", "API documentation (OpenAPI at /openapi.json)"),
        (f"{MLFLOW_PREFIX}/", "MLflow UI: experiments, runs, models"),
    ]
    items = "\n".join(f'    <li><a href="{href}">{escape(label)}</a></li>' for href, label in links)
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>iml4e platform</title></head>
<body>
  <h1>iml4e platform {escape(__version__)}</h1>
  <ul>
{items}
  </ul>
</body>
</html>
"""
