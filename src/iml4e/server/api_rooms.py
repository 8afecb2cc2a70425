"""More routes of the REST API: data, pipelines, lineage, monitoring, incidents, documents.

Declared with :func:`iml4e.server.api.route` on the same router, so each names its action in
the permission table like every other route. Importing this module registers them.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from iml4e.server.api import caller, client_of, route
from iml4e.store.errors import NotFound


class Note(BaseModel):
    """An optional note with an action."""

    note: str = Field(default="", max_length=2_000)


# --- data and pipelines ---------------------------------------------------------------------


@route("GET", "/datasets", "read")
def datasets(request: Request) -> list[dict[str, Any]]:
    """Every dataset version: name, version, content hash, rows, columns, source."""
    from iml4e.data.catalog import list_dataset_versions

    return [
        jsonable_encoder({**asdict(info), "profile": None, "contract": None})
        for info in list_dataset_versions(request.app.state.store)
    ]


@route("GET", "/datasets/{name}/versions/{version}", "read")
def dataset_version(name: str, version: int, request: Request) -> dict[str, Any]:
    """One dataset version with its profile and contract."""
    from iml4e.data.catalog import get_dataset_version

    return jsonable_encoder(asdict(get_dataset_version(request.app.state.store, name, version)))


@route("GET", "/pipelines/runs", "read")
def pipeline_runs(request: Request, limit: int = 50) -> list[dict[str, Any]]:
    """The newest pipeline runs with their steps (status, cache hits, timings)."""
    from iml4e.pipelines.records import list_runs

    runs = list_runs(request.app.state.store, limit=max(1, min(limit, 500)))
    return [jsonable_encoder(asdict(run)) for run in runs]


@route("GET", "/pipelines/runs/{run_id}", "read")
def pipeline_run(run_id: str, request: Request) -> dict[str, Any]:
    """One pipeline run (a unique id prefix is enough) with its steps and their logs."""
    from iml4e.pipelines.records import get_run

    return jsonable_encoder(asdict(get_run(request.app.state.store, run_id)))


@route("GET", "/lineage", "read")
def lineage(
    request: Request,
    target: str,
    direction: Literal["upstream", "downstream", "both"] = "both",
) -> dict[str, Any]:
    """The lineage graph of ``model:NAME@VERSION``, ``dataset:NAME@VERSION`` or an artifact."""
    from iml4e.pipelines.lineage import trace_lineage

    return trace_lineage(request.app.state.store, target, direction=direction).as_dict()


# --- models and monitoring ------------------------------------------------------------------


@route("POST", "/models/{name}/rollback", "model.rollback")
def rollback_model(name: str, request: Request) -> dict[str, Any]:
    """Undo the last promotion to ``champion``."""
    from iml4e.registry import rollback

    result = rollback(client_of(request), request.app.state.store, name, actor=caller(request).name)
    return asdict(result)


@route("GET", "/monitoring/{deployment}/reports", "read")
def monitor_reports(deployment: str, request: Request, limit: int = 20) -> list[dict[str, Any]]:
    """The newest monitor reports of a deployment."""
    from iml4e.monitoring.reports import reports_of

    reports = reports_of(request.app.state.store, deployment, limit=max(1, min(limit, 500)))
    return [report.as_dict() for report in reports]


@route("GET", "/monitoring/{deployment}/alerts", "read")
def alerts(deployment: str, request: Request) -> list[dict[str, Any]]:
    """The state of every alert rule of a deployment."""
    from iml4e.monitoring.alerts import alert_states

    return [
        jsonable_encoder(asdict(state))
        for state in alert_states(request.app.state.store, deployment)
    ]


@route("POST", "/monitoring/{deployment}/alerts/{rule}/acknowledge", "monitor.acknowledge")
def acknowledge(deployment: str, rule: str, body: Note, request: Request) -> dict[str, Any]:
    """Acknowledge a pending or firing alert."""
    from iml4e.monitoring.alerts import acknowledge_alert

    event = acknowledge_alert(
        request.app.state.store, deployment, rule, actor=caller(request).name, note=body.note
    )
    return jsonable_encoder(asdict(event))


# --- compliance incidents and documents -----------------------------------------------------


@route("GET", "/compliance/incidents", "read")
def incidents(request: Request, system: str | None = None) -> list[dict[str, Any]]:
    """Serious incidents (Art. 73) with their deadlines and state."""
    from iml4e.compliance.incidents import list_incidents

    return [i.as_dict() for i in list_incidents(request.app.state.store, system=system)]


@route("POST", "/compliance/incidents/{incident_id}/report", "compliance.incident")
def report_incident_sent(incident_id: int, request: Request) -> dict[str, Any]:
    """Record that the incident was reported to the market surveillance authority."""
    from iml4e.compliance.incidents import report_incident

    return report_incident(
        request.app.state.store, incident_id, actor=caller(request).name
    ).as_dict()


@route("GET", "/compliance/documents/{document_id}", "read")
def document_file(document_id: int, request: Request) -> FileResponse:
    """Download a generated compliance document.

    Only files under ``<home>/compliance`` are served: a record pointing elsewhere (an edited
    row, a path with ``..``) is refused, so the route cannot read other files.
    """
    from iml4e.compliance.records import document_by_id

    record = document_by_id(request.app.state.store, document_id)
    folder = (request.app.state.settings.home / "compliance").resolve()
    path = Path(record.path).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise NotFound("the document's file is not in the compliance folder", where=record.path)
    return FileResponse(path, filename=path.name)
