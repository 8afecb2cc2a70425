"""The compliance pages of the web UI: AI systems, a system's control matrix and its forms.

Each form posts to a route here that checks the CSRF token and the action in the permission
table, calls the same compliance function as the CLI and the REST API, and redirects (303)
back to the system's page.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from iml4e.compliance.errors import IncidentInvalid
from iml4e.server.ui import PREFIX, allow, form_fields, form_viewer, render, router, viewer

MAX_STATEMENT = 10_000
MAX_TEXT = 2_000


def _back(system: str, anchor: str = "") -> RedirectResponse:
    suffix = f"#{anchor}" if anchor else ""
    return RedirectResponse(
        f"{PREFIX}/compliance/{quote(system, safe='')}{suffix}", status_code=303
    )


def _incident_id(request: Request, system: str, raw: str) -> int:
    """The id of incident ``raw`` of ``system`` (a 404 when it is another system's)."""
    from iml4e.compliance.errors import UnknownIncident
    from iml4e.compliance.incidents import get_incident

    if not raw.isdigit() or len(raw) > 12:
        raise IncidentInvalid("an incident number is a whole number", where=raw[:40])
    if get_incident(request.app.state.store, int(raw)).system != system:
        raise UnknownIncident(f"system {system!r} has no incident #{raw}", where=f"incident {raw}")
    return int(raw)


@router.get("/compliance")
def compliance_list(request: Request) -> Response:
    """Every AI system: tier, models, newest assessment counts, staleness, open incidents."""
    from iml4e.server.ui_compliance_data import systems_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = systems_page(request.app.state.store)
    return render(request, "compliance.html.j2", seen=seen, title="Compliance", **data)


@router.get("/compliance/{system}")
def compliance_system(request: Request, system: str, result: str | None = None) -> Response:
    """One system's control matrix (``?result=fail`` filters), gate, incidents, documents."""
    from iml4e.server.ui_compliance_data import system_page

    seen = viewer(request)
    allow(request, seen, "read")
    data = system_page(request.app.state.store, system, result=result or None)
    return render(
        request, "compliance_system.html.j2", seen=seen, title=f"AI system {system}", **data
    )


@router.post("/compliance/{system}/attest")
def attest_form(
    request: Request, system: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Record the viewer's attestation of a control (one version, or every version)."""
    from iml4e.compliance.attestations import attest
    from iml4e.compliance.catalogue import load_catalogue
    from iml4e.server.api import client_of

    seen = form_viewer(request, fields, "compliance.attest")
    version = fields.get("version", "").strip()[:32] or None
    attest(
        request.app.state.store,
        client_of(request),
        load_catalogue(),
        system=system,
        control_id=fields.get("control", "")[:80],
        actor=seen.user.name,
        statement=fields.get("statement", "")[:MAX_STATEMENT],
        model_name=(fields.get("model", "").strip()[:200] or None) if version else None,
        version=version,
    )
    return _back(system, "matrix")


@router.post("/compliance/{system}/assess")
def assess_form(
    request: Request, system: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Assess the system again now (the default model version, as ``iml4e comply assess``)."""
    from iml4e.compliance.assessment import assess

    seen = form_viewer(request, fields, "compliance.assess")
    state = request.app.state
    assess(state.settings, state.store, system, actor=seen.user.name)
    return _back(system)


@router.post("/compliance/{system}/incidents")
def open_incident_form(
    request: Request, system: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Open a serious incident against one of the system's deployments (Art. 73)."""
    from iml4e.compliance.incidents import open_incident

    seen = form_viewer(request, fields, "compliance.incident")
    open_incident(
        request.app.state.store,
        system=system,
        deployment=fields.get("deployment", "")[:200],
        severity=fields.get("severity", "")[:40],
        title=fields.get("title", "")[:200],
        description=fields.get("description", "")[:MAX_STATEMENT],
        actor=seen.user.name,
    )
    return _back(system, "incidents")


@router.post("/compliance/{system}/incidents/{incident}/close")
def close_incident_form(
    request: Request, system: str, incident: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Close an incident with a note saying why it is over."""
    from iml4e.compliance.incidents import close_incident

    seen = form_viewer(request, fields, "compliance.incident")
    close_incident(
        request.app.state.store,
        _incident_id(request, system, incident),
        actor=seen.user.name,
        note=fields.get("note", "")[:MAX_TEXT],
    )
    return _back(system, "incidents")


@router.post("/compliance/{system}/incidents/{incident}/override")
def override_freeze_form(
    request: Request, system: str, incident: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Lift an open incident's promotion freeze; who and why are recorded."""
    from iml4e.compliance.incidents import override_freeze

    seen = form_viewer(request, fields, "compliance.override_freeze")
    override_freeze(
        request.app.state.store,
        _incident_id(request, system, incident),
        actor=seen.user.name,
        reason=fields.get("reason", "")[:MAX_TEXT],
    )
    return _back(system, "incidents")


@router.post("/compliance/{system}/documents")
def generate_document_form(
    request: Request, system: str, fields: dict[str, str] = Depends(form_fields)
) -> Response:
    """Write a compliance document (as ``iml4e comply report``) and show it in the list."""
    from iml4e.compliance.reports import generate_document

    seen = form_viewer(request, fields, "compliance.assess")
    state = request.app.state
    generate_document(
        state.settings,
        state.store,
        system,
        actor=seen.user.name,
        kind=fields.get("kind", "")[:40],
        fmt=fields.get("format", "")[:10],
    )
    return _back(system, "documents")
