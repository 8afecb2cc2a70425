"""REST routes of operations: create, stop and re-split deployments, their live numbers, and
the background scheduler of ``iml4e up`` and its pipeline schedules.

Declared with :func:`iml4e.server.api.route`, so each names its action in the permission
table. Creating a deployment starts a real model server process and answers once it serves.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from iml4e.server.api import caller, route

MODEL_REF = Field(min_length=1, max_length=500)


class NewDeployment(BaseModel):
    """What ``POST /api/deployments`` starts (model references as ``iml4e deploy create``)."""

    name: str = Field(min_length=1, max_length=63)
    model: str = MODEL_REF
    host: str = Field(default="127.0.0.1", max_length=255, pattern=r"^[A-Za-z0-9.:_-]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    challenger: str | None = Field(default=None, min_length=1, max_length=500)
    split: float | None = Field(default=None, gt=0, lt=1)
    shadow: str | None = Field(default=None, min_length=1, max_length=500)
    fallback: str | None = Field(default=None, min_length=1, max_length=500)


class Split(BaseModel):
    """The share of requests the canary challenger answers."""

    split: float = Field(gt=0, lt=1)


def _deployment(info: Any) -> dict[str, Any]:
    return jsonable_encoder(asdict(info))


# --- deployments ----------------------------------------------------------------------------


@route("POST", "/deployments", "deployment.create")
async def create(body: NewDeployment, request: Request) -> dict[str, Any]:
    """Start a model server for a registered model; answers once it serves."""
    from iml4e.serving.manager import create_deployment

    info = await run_in_threadpool(
        create_deployment,
        request.app.state.settings,
        body.name,
        model=body.model,
        host=body.host,
        port=body.port,
        workers=body.workers,
        challenger=body.challenger,
        split=body.split,
        shadow=body.shadow,
        fallback=body.fallback,
        actor=caller(request).name,
    )
    return _deployment(info)


@route("POST", "/deployments/{name}/stop", "deployment.stop")
async def stop(name: str, request: Request) -> dict[str, Any]:
    """Stop a deployment's server and record it ``stopped``."""
    from iml4e.serving.manager import stop_deployment

    info = await run_in_threadpool(
        stop_deployment, request.app.state.settings, name, actor=caller(request).name
    )
    return _deployment(info)


@route("POST", "/deployments/{name}/split", "deployment.create")
async def split(name: str, body: Split, request: Request) -> dict[str, Any]:
    """Change the canary's share of requests (the server restarts with the new split)."""
    from iml4e.serving.manager import change_split

    info = await run_in_threadpool(
        change_split,
        request.app.state.settings,
        name,
        body.split,
        actor=caller(request).name,
    )
    return _deployment(info)


@route("GET", "/deployments/{name}/stats", "read")
def stats(name: str, request: Request, window: str = "1h", buckets: int = 30) -> dict[str, Any]:
    """Requests, p50/p95 latency per bucket and monitor drift share over ``window``."""
    from iml4e.monitoring.live_stats import deployment_stats

    found = deployment_stats(request.app.state.store, name, window=window, buckets=buckets)
    return found.as_dict()


# --- the monitoring scheduler ---------------------------------------------------------------


@route("GET", "/scheduler", "read")
def scheduler(request: Request) -> dict[str, Any]:
    """Interval, window, paused, rounds run and the last outcome per deployment."""
    from iml4e.monitoring.scheduler import running_scheduler

    return running_scheduler(request.app.state.scheduler).status().as_dict()


@route("POST", "/scheduler/pause", "scheduler.pause")
def pause_scheduler(request: Request) -> dict[str, Any]:
    """Skip the scheduler's rounds until it is resumed."""
    from iml4e.monitoring.scheduler import pause_scheduler as pause

    store, running = request.app.state.store, request.app.state.scheduler
    return pause(running, store, actor=caller(request).name).as_dict()


@route("POST", "/scheduler/resume", "scheduler.pause")
def resume_scheduler(request: Request) -> dict[str, Any]:
    """Run the scheduler's rounds again."""
    from iml4e.monitoring.scheduler import pause_scheduler as pause

    store, running = request.app.state.store, request.app.state.scheduler
    return pause(running, store, actor=caller(request).name, paused=False).as_dict()


# --- pipeline schedules ---------------------------------------------------------------------


@route("GET", "/schedules", "read")
def schedules(request: Request) -> list[dict[str, Any]]:
    """Every pipeline schedule: pipeline, parameters, interval, paused, next and last run."""
    from iml4e.pipelines.schedules import list_schedules

    return [record.as_dict() for record in list_schedules(request.app.state.store)]


@route("POST", "/schedules/{name}/pause", "scheduler.pause")
def pause_pipeline_schedule(name: str, request: Request) -> dict[str, Any]:
    """Stop running one pipeline schedule until it is resumed (404 when there is none)."""
    from iml4e.pipelines.schedules import pause_schedule

    store = request.app.state.store
    return pause_schedule(store, name, actor=caller(request).name).as_dict()


@route("POST", "/schedules/{name}/resume", "scheduler.pause")
def resume_pipeline_schedule(name: str, request: Request) -> dict[str, Any]:
    """Run a paused pipeline schedule again at its next due time."""
    from iml4e.pipelines.schedules import resume_schedule

    store = request.app.state.store
    return resume_schedule(store, name, actor=caller(request).name).as_dict()
