"""Operations pages of the web UI: deployments (list, one deployment with live charts, pause,
resume, canary split) and the background scheduler (status, pause, resume) with its pipeline
schedules (each paused and resumed on its own).

The charts are drawn by ``/static/live.js`` from ``GET /api/deployments/{name}/stats`` (the
session cookie is enough for a GET); the same numbers are on the page as a table, so it is
useful without JavaScript.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from iml4e.errors import BadInput
from iml4e.server.ui import PREFIX, allow, form_fields, form_viewer, render, router, viewer


def _back_to(name: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/deployments/{quote(name, safe='')}", status_code=303)


def _reason(fields: dict[str, str]) -> str:
    return fields.get("reason", "").strip()[:2000]


@router.get("/deployments")
def deployments_list(request: Request) -> Response:
    """Every deployment: state, model and version, URL, requests in the last hour, alerts."""
    from iml4e.server.ui_operations_data import deployments_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = deployments_page(request.app.state.store)
    return render(request, "deployments.html.j2", seen=seen, title="Deployments", **data)


@router.get("/deployments/{name}")
def deployment(request: Request, name: str) -> Response:
    """One deployment: state, version, live charts, alerts, history, and its forms."""
    from iml4e.server.ui_operations_data import deployment_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = deployment_page(request.app.state.store, name)
    return render(request, "deployment.html.j2", seen=seen, title=f"Deployment {name}", **data)


@router.post("/deployments/{name}/pause")
def pause(request: Request, name: str, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Pause a deployment (human oversight, Art. 14(4)(e)), then show it again."""
    from iml4e.serving.operator import pause_deployment

    seen = form_viewer(request, fields, "deployment.pause")
    pause_deployment(request.app.state.store, name, actor=seen.user.name, reason=_reason(fields))
    return _back_to(name)


@router.post("/deployments/{name}/resume")
def resume(request: Request, name: str, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Serve a paused deployment again, then show it."""
    from iml4e.serving.operator import resume_deployment

    seen = form_viewer(request, fields, "deployment.pause")
    reason = _reason(fields) or None
    resume_deployment(request.app.state.store, name, actor=seen.user.name, reason=reason)
    return _back_to(name)


@router.post("/deployments/{name}/split")
async def split(
    request: Request, name: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Change the canary's share of requests (the server restarts with it), then show it."""
    from iml4e.serving.manager import change_split

    seen = form_viewer(request, fields, "deployment.create")
    try:
        share = float(fields.get("split", "")) / 100
    except ValueError:
        raise BadInput("must be a percentage between 0 and 100", where="split") from None
    settings = request.app.state.settings
    await run_in_threadpool(change_split, settings, name, share, actor=seen.user.name)
    return _back_to(name)


@router.get("/scheduler")
def scheduler(request: Request) -> Response:
    """The scheduler: interval, window, paused, rounds, last outcome per deployment, and every
    pipeline schedule with its next and last run."""
    from iml4e.server.ui_operations_data import scheduler_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = scheduler_page(request.app.state.scheduler, request.app.state.store)
    return render(request, "scheduler.html.j2", seen=seen, title="Scheduler", **data)


@router.post("/scheduler/pause")
def pause_scheduler(request: Request, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Skip the scheduler's rounds until someone resumes it."""
    return _set_paused(request, fields, paused=True)


@router.post("/scheduler/resume")
def resume_scheduler(request: Request, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Run the scheduler's rounds again."""
    return _set_paused(request, fields, paused=False)


def _set_paused(request: Request, fields: dict[str, str], *, paused: bool) -> Response:
    from iml4e.monitoring.scheduler import pause_scheduler as set_paused

    seen = form_viewer(request, fields, "scheduler.pause")
    store, running = request.app.state.store, request.app.state.scheduler
    set_paused(running, store, actor=seen.user.name, paused=paused)
    return RedirectResponse(f"{PREFIX}/scheduler", status_code=303)


@router.post("/scheduler/schedules/{name}/pause")
def pause_pipeline_schedule(
    request: Request, name: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Stop running one pipeline schedule until someone resumes it."""
    return _set_schedule_paused(request, name, fields, paused=True)


@router.post("/scheduler/schedules/{name}/resume")
def resume_pipeline_schedule(
    request: Request, name: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Run a paused pipeline schedule again at its next due time."""
    return _set_schedule_paused(request, name, fields, paused=False)


def _set_schedule_paused(
    request: Request, name: str, fields: dict[str, str], *, paused: bool
) -> Response:
    from iml4e.pipelines.schedules import pause_schedule

    seen = form_viewer(request, fields, "scheduler.pause")
    pause_schedule(request.app.state.store, name, actor=seen.user.name, paused=paused)
    return RedirectResponse(f"{PREFIX}/scheduler#schedules", status_code=303)
