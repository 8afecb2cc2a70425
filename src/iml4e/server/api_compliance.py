"""REST routes of the compliance room that change things: assess, incidents, documents.

Declared with :func:`iml4e.server.api.route` on the API router, so each names its action in
the permission table; importing this module registers them. Each route calls the compliance
function the CLI calls (``iml4e comply assess``, ``comply incident …``, ``comply report``).
An unknown system, deployment or incident is a 404; a bad kind, format or severity a 400 (or
422 from the body's schema), and nothing is recorded.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from pydantic import BaseModel, Field

from iml4e.server.api import caller, route

IncidentId = Annotated[int, Path(ge=1, le=2**62, description="Incident number.")]


class AssessRequest(BaseModel):
    """Which model version to assess (each defaults as ``iml4e comply assess`` picks)."""

    model: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=32)
    deployment: str | None = Field(default=None, max_length=200)


class IncidentRequest(BaseModel):
    """A serious incident to open (the fields of ``iml4e comply incident open``)."""

    system: str = Field(min_length=1, max_length=200)
    deployment: str = Field(min_length=1, max_length=200)
    severity: str = Field(max_length=40, description="serious, widespread or death")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class CloseRequest(BaseModel):
    """Why the incident is over."""

    note: str = Field(min_length=1, max_length=2_000)


class OverrideRequest(BaseModel):
    """Why a change must ship before the incident is reported."""

    reason: str = Field(min_length=1, max_length=2_000)


class DocumentRequest(BaseModel):
    """Which document to write (the options of ``iml4e comply report``)."""

    kind: str = Field(default="annex-iv", max_length=40)
    format: str = Field(default="html", max_length=10)
    model: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=32)


class ClassifyRequest(BaseModel):
    """Answers to the classification questionnaire (``GET /api/compliance/questionnaire``)."""

    answers: dict[str, Any] = Field(max_length=200)


@route("GET", "/compliance/questionnaire", "read")
def questionnaire() -> dict[str, Any]:
    """The versioned classification questionnaire: every question, its choices and when it
    is asked."""
    from iml4e.compliance.classification import load_questionnaire

    return load_questionnaire().model_dump(mode="json")


@route("POST", "/compliance/classify", "read")
def classify_answers(body: ClassifyRequest) -> dict[str, Any]:
    """Classify a system from questionnaire answers: the tier with its reasons and articles
    (records nothing; registering a system classifies and records it)."""
    from iml4e.compliance.classification import classify

    return classify(body.answers).model_dump(mode="json")


@route("POST", "/compliance/systems/{name}/assess", "compliance.assess")
def assess_system(name: str, request: Request, body: AssessRequest | None = None) -> dict[str, Any]:
    """Assess a model version of a system against every control of its tier and store it."""
    from iml4e.compliance.assessment import assess

    body = body or AssessRequest()
    state = request.app.state
    return assess(
        state.settings,
        state.store,
        name,
        actor=caller(request).name,
        model_name=body.model,
        version=body.version,
        deployment=body.deployment,
    ).as_dict()


@route("POST", "/compliance/incidents", "compliance.incident")
def open_incident(body: IncidentRequest, request: Request) -> dict[str, Any]:
    """Open a serious incident (Art. 73): its reporting clock starts and promotion freezes."""
    from iml4e.compliance.incidents import open_incident as open_it

    return open_it(
        request.app.state.store,
        system=body.system,
        deployment=body.deployment,
        severity=body.severity,
        title=body.title,
        description=body.description,
        actor=caller(request).name,
    ).as_dict()


@route("POST", "/compliance/incidents/{incident_id}/close", "compliance.incident")
def close_incident(incident_id: IncidentId, body: CloseRequest, request: Request) -> dict[str, Any]:
    """Close an incident with a note saying why it is over."""
    from iml4e.compliance.incidents import close_incident as close_it

    return close_it(
        request.app.state.store, incident_id, actor=caller(request).name, note=body.note
    ).as_dict()


@route("POST", "/compliance/incidents/{incident_id}/override", "compliance.override_freeze")
def override_freeze(
    incident_id: IncidentId, body: OverrideRequest, request: Request
) -> dict[str, Any]:
    """Lift an open incident's promotion freeze; who and why are recorded."""
    from iml4e.compliance.incidents import override_freeze as override

    return override(
        request.app.state.store, incident_id, actor=caller(request).name, reason=body.reason
    ).as_dict()


@route("POST", "/compliance/systems/{name}/documents", "compliance.assess")
def generate_document(name: str, body: DocumentRequest, request: Request) -> dict[str, Any]:
    """Write a compliance document under ``<home>/compliance/<system>/`` and record its hash."""
    from iml4e.compliance.reports import generate_document as generate

    state = request.app.state
    return generate(
        state.settings,
        state.store,
        name,
        actor=caller(request).name,
        kind=body.kind,
        fmt=body.format,
        model_name=body.model,
        version=body.version,
    ).as_dict()


@route("GET", "/compliance/systems/{name}/documents", "read")
def documents(name: str, request: Request) -> list[dict[str, Any]]:
    """The documents generated for a system, newest first (download: ``/documents/{id}``)."""
    from iml4e.compliance.records import system_documents

    return [record.as_dict() for record in system_documents(request.app.state.store, name)]
