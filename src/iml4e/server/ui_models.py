"""Web UI pages of pipeline runs and models: lists, a run's DAG, a version's lineage, and the
approve, promote and roll-back forms.

The forms act through the same Python APIs as ``/api``: approving goes through
:func:`iml4e.server.permissions.approve_version` (segregation of duties), promoting through
the model's policy and the compliance gate. A refusal by those checks is shown on the model's
page (409, or 403 for segregation of duties); a refusal by the permission table is the usual
403 page. Success redirects (303) back to the model's page with a fixed message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from iml4e.errors import CheckFailed, Iml4eError
from iml4e.server.ui import (
    PREFIX,
    Viewer,
    allow,
    form_fields,
    form_viewer,
    render,
    router,
    viewer,
)

DONE_MESSAGES = {
    "approve": "Version {version} approved.",
    "promote": "Version {version} is now champion.",
    "rollback": "Champion rolled back to version {version}.",
    "rollback-removed": "Champion rolled back: the alias was removed.",
}
"""What the model page says after a form succeeded (never text taken from the request)."""


def _client(request: Request) -> Any:
    from iml4e.tracking import connect_tracking

    return connect_tracking(request.app.state.settings, request.app.state.store)


def _not_found(request: Request, seen: Viewer, error: Iml4eError) -> Response:
    """A 404 page for an unknown run, model or version (the registry calls them bad input)."""
    message = error.message if not error.where else f"{error.message} ({error.where})"
    return render(
        request, "error.html.j2", seen=seen, status_code=404, title="Not found", message=message
    )


def _model_url(name: str, **query: str) -> str:
    url = f"{PREFIX}/models/{quote(name, safe='')}"
    return f"{url}?{urlencode(query)}" if query else url


# --- pipelines ------------------------------------------------------------------------------


@router.get("/pipelines")
def pipelines(request: Request, page: str = "1") -> Response:
    """Pipeline runs, newest first, 50 a page (a page that is not a number is the first)."""
    from iml4e.server.ui_models_data import pipeline_runs_page

    seen = viewer(request)
    allow(request, seen, "read")
    number = int(page) if page.isdigit() and len(page) < 10 else 1
    data = pipeline_runs_page(request.app.state.store, number)
    return render(request, "pipelines.html.j2", seen=seen, title="Pipeline runs", **data)


@router.get("/pipelines/{run_id}")
def pipeline_run(request: Request, run_id: str) -> Response:
    """One run: its DAG, its steps with their errors and logs, links to MLflow."""
    from iml4e.pipelines.errors import UnknownRun
    from iml4e.server.ui_models_data import pipeline_run_page

    seen = viewer(request)
    allow(request, seen, "read")
    try:
        data = pipeline_run_page(request.app.state.store, _client(request), run_id)
    except UnknownRun as unknown:
        return _not_found(request, seen, unknown)
    title = f"Pipeline run {data['run'].id[:12]}"
    return render(request, "pipeline_run.html.j2", seen=seen, title=title, **data)


# --- models ---------------------------------------------------------------------------------


@router.get("/models")
def models(request: Request) -> Response:
    """Registered models with their aliases and newest version."""
    from iml4e.server.ui_models_data import models_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = models_page(_client(request))
    return render(request, "models.html.j2", seen=seen, title="Models", **data)


@router.get("/models/{name}")
def model(request: Request, name: str, done: str = "", version: str = "") -> Response:
    """A model's versions, aliases and alias history, with the approve/promote/roll-back forms."""
    seen = viewer(request)
    allow(request, seen, "read")
    template = DONE_MESSAGES.get(done)
    notice = template.format(version=version[:20]) if template else None
    return _model_page(request, seen, name, notice=notice)


def _model_page(
    request: Request,
    seen: Viewer,
    name: str,
    *,
    notice: str | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    from iml4e.registry import ModelNotFound
    from iml4e.server.ui_models_data import model_page

    try:
        data = model_page(_client(request), request.app.state.store, name)
    except ModelNotFound as unknown:
        return _not_found(request, seen, unknown)
    return render(
        request,
        "model.html.j2",
        seen=seen,
        status_code=status_code,
        title=f"Model {name}",
        notice=notice,
        refusal=refusal,
        **data,
    )


@router.get("/models/{name}/versions/{version}")
def model_version(request: Request, name: str, version: str) -> Response:
    """One version: lineage graph, metrics, approvals, compliance status."""
    from iml4e.registry import ModelNotFound
    from iml4e.server.ui_models_data import version_page

    seen = viewer(request)
    allow(request, seen, "read")
    try:
        data = version_page(
            _client(request),
            request.app.state.store,
            name,
            version,
            runs_at=f"{PREFIX}/pipelines/",
        )
    except ModelNotFound as unknown:
        return _not_found(request, seen, unknown)
    title = f"{name} version {data['detail'].version}"
    return render(request, "model_version.html.j2", seen=seen, title=title, **data)


@router.post("/models/{name}/approve")
def approve(request: Request, name: str, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Approve a version (not by whoever registered it), then show the model again."""
    from iml4e.server.errors import PermissionDenied
    from iml4e.server.permissions import approve_version

    seen = form_viewer(request, fields, "model.approve")
    version = fields.get("version", "").strip()[:20]
    note = fields.get("note", "").strip()[:2000]
    try:
        approve_version(
            _client(request),
            request.app.state.store,
            name,
            version,
            actor=seen.user.name,
            note=note,
        )
    except PermissionDenied as refused:  # segregation of duties
        return _model_page(request, seen, name, refusal=refused.message, status_code=403)
    return RedirectResponse(_model_url(name, done="approve", version=version), status_code=303)


@router.post("/models/{name}/promote")
def promote(request: Request, name: str, fields: dict[str, str] = Depends(form_fields)) -> Response:
    """Promote a version to champion through the policy and the compliance gate."""
    from iml4e.registry import promote as promote_version
    from iml4e.registry import resolve_policy

    seen = form_viewer(request, fields, "model.promote")
    version = fields.get("version", "").strip()[:20]
    settings, store = request.app.state.settings, request.app.state.store
    try:
        policy = resolve_policy(settings.home, name, "champion", None)
        promote_version(_client(request), store, name, version, policy=policy, actor=seen.user.name)
    except CheckFailed as refused:  # the policy or the compliance gate said no
        return _model_page(request, seen, name, refusal=refused.message, status_code=409)
    return RedirectResponse(_model_url(name, done="promote", version=version), status_code=303)


@router.post("/models/{name}/rollback")
def rollback(
    request: Request, name: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Undo the last promotion to champion."""
    from iml4e.registry import rollback as rollback_champion

    seen = form_viewer(request, fields, "model.rollback")
    try:
        result = rollback_champion(
            _client(request), request.app.state.store, name, actor=seen.user.name
        )
    except CheckFailed as refused:  # nothing to roll back
        return _model_page(request, seen, name, refusal=refused.message, status_code=409)
    if result.restored_version is None:
        return RedirectResponse(_model_url(name, done="rollback-removed"), status_code=303)
    done = _model_url(name, done="rollback", version=result.restored_version)
    return RedirectResponse(done, status_code=303)
