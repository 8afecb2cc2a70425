"""Serious incidents (EU AI Act Art. 73): the reporting clock, the promotion freeze, a draft report.

A provider who becomes aware of a serious incident must report it to the market surveillance
authority within a deadline that depends on its kind (Art. 73(2)-(4)). An incident is opened
against a deployment of a registered system; from then on its clock runs, and until it is
reported (or closed, or a named person lifts the freeze with a reason) it freezes promotion of
the system's models, so the system is not altered before the causes can be evaluated
(Art. 73(6)). Timestamps are naive UTC, like every timestamp in the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.compliance.errors import IncidentDeploymentUnknown, IncidentInvalid, UnknownIncident
from iml4e.compliance.systems import SystemRecord, get_system
from iml4e.monitoring.alerts import alert_history
from iml4e.registry.provenance import version_lineage
from iml4e.serving.deployments import add_deployment_event, deployment_events, get_deployment
from iml4e.serving.errors import DeploymentNotFound
from iml4e.serving.inference_log import read_inference_log
from iml4e.store import Store
from iml4e.store.models import Incident, naive_utc

#: Reporting deadlines of Art. 73, in days after the provider becomes aware.
LEGAL_DEADLINE_DAYS: dict[str, int] = {
    "serious": 15,  # Art. 73(2)
    "widespread": 2,  # Art. 73(3): widespread infringement or serious and irreversible
    # disruption of critical infrastructure
    "death": 10,  # Art. 73(4): death of a person
}

#: The policy limit that may shorten (never lengthen) each legal deadline.
POLICY_LIMITS: dict[str, str] = {
    "serious": "incident_report_days",
    "widespread": "incident_report_days_widespread",
    "death": "incident_report_days_death",
}

#: The paragraph of Art. 73 that sets each severity's deadline.
ARTICLES: dict[str, str] = {
    "serious": "Art. 73(2)",
    "widespread": "Art. 73(3)",
    "death": "Art. 73(4)",
}

LOG_WINDOW = timedelta(hours=24)
"""How far before the opening the draft report summarises the inference log."""

HISTORY_WINDOW = timedelta(days=7)
"""How far before the opening the draft report lists deployment and alert events."""


@dataclass(frozen=True)
class IncidentInfo:
    """An incident as the other rooms see it, with its reporting clock."""

    id: int
    system: str
    deployment: str
    model_version: str | None
    severity: str
    title: str
    description: str
    opened_by: str
    opened_at: datetime
    due_at: datetime
    reported_at: datetime | None
    closed_at: datetime | None
    freeze_override: dict[str, Any] | None

    @property
    def state(self) -> str:
        """``open`` until reported, then ``reported``; ``closed`` once closed."""
        if self.closed_at is not None:
            return "closed"
        return "open" if self.reported_at is None else "reported"

    @property
    def article(self) -> str:
        """The paragraph of Art. 73 that sets this incident's deadline."""
        return ARTICLES.get(self.severity, "Art. 73")

    def time_left(self, now: datetime) -> timedelta:
        """Time until the reporting deadline at ``now``; negative once it has passed."""
        return self.due_at - naive_utc(now)

    def overdue(self, now: datetime) -> bool:
        """Whether the report was (or, still unsent at ``now``, is) later than the deadline.

        A report sent after the deadline stays overdue; an incident closed without a report
        stops its clock when it was closed.
        """
        end = self.reported_at or self.closed_at or naive_utc(now)
        return end > self.due_at

    @property
    def freezes_promotion(self) -> bool:
        """Whether this incident blocks promoting the system's models: open and not overridden."""
        return self.state == "open" and not self.freeze_override

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with ISO timestamps, the state and the article."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        stamps = {k: _iso(v) for k, v in values.items() if isinstance(v, datetime)}
        extra = {"article": self.article, "state": self.state}
        return {**values, **stamps, **extra, "freezes_promotion": self.freezes_promotion}


def open_incident(
    store: Store,
    *,
    system: str,
    deployment: str,
    severity: str,
    title: str,
    actor: str,
    description: str = "",
    policy_limits: Mapping[str, int | float] | None = None,
    now: datetime | None = None,
) -> IncidentInfo:
    """Open an incident against ``deployment`` of ``system`` and start its reporting clock.

    Everything is checked before anything is written: the system (:class:`UnknownSystem`), the
    deployment and that it serves one of the system's models, the severity, the title and the
    actor (:class:`IncidentInvalid`). The deadline is the legal one, shortened by
    ``policy_limits`` (by default the system's signed-off policy) when it sets a shorter one.
    A deployment event ``incident_opened`` is appended once the incident is recorded.
    """
    record = get_system(store, system)
    title, actor = title.strip(), actor.strip()
    if not title:
        raise IncidentInvalid("an incident needs a title", where="title")
    if not actor:
        raise IncidentInvalid("an incident needs the person who opens it", where="actor")
    days = _deadline_days(severity, _limits(record, policy_limits))
    served = _served_model(store, record, deployment)
    opened_at = naive_utc(now)
    with store.session() as session:
        row = Incident(
            system=record.name,
            deployment=deployment,
            model_version=served,
            severity=severity,
            title=title,
            description=description.strip(),
            opened_by=actor,
            opened_at=opened_at,
            due_at=opened_at + timedelta(days=days),
            reported_at=None,
            closed_at=None,
            freeze_override=None,
        )
        session.add(row)
        session.flush()
        info = _info(row)
    detail = {"incident": info.id, "severity": severity, "due_at": info.due_at.isoformat()}
    add_deployment_event(store, deployment, "incident_opened", actor=actor, detail=detail)
    _audit(store, actor, "compliance.incident_open", info, {"severity": severity})
    return info


def report_incident(
    store: Store, incident_id: int, *, actor: str, now: datetime | None = None
) -> IncidentInfo:
    """Record that ``actor`` sent the report to the market surveillance authority.

    Reporting lifts the promotion freeze. A closed or already reported incident raises
    :class:`IncidentInvalid`. The deployment gets an ``incident_reported`` event naming who
    reported, since the incident row keeps only when.
    """
    moment = naive_utc(now)
    with store.session() as session:
        row = _row(session, incident_id)
        _check_not_closed(row)
        if row.reported_at is not None:
            raise IncidentInvalid(
                f"already reported at {row.reported_at.isoformat()}", where=f"incident {row.id}"
            )
        row.reported_at = moment
        info = _info(row)
    detail = {
        "incident": info.id,
        "reported_at": moment.isoformat(),
        "overdue": info.overdue(moment),
    }
    add_deployment_event(store, info.deployment, "incident_reported", actor=actor, detail=detail)
    _audit(store, actor, "compliance.incident_report", info, {"overdue": detail["overdue"]})
    return info


def close_incident(
    store: Store, incident_id: int, *, actor: str, note: str, now: datetime | None = None
) -> IncidentInfo:
    """Close the incident with ``note`` (why it is over) and record ``incident_closed``.

    The note, which the incident row has no column for, is kept in the deployment event.
    """
    if not note.strip():
        raise IncidentInvalid("closing an incident needs a note saying why", where="note")
    moment = naive_utc(now)
    with store.session() as session:
        row = _row(session, incident_id)
        _check_not_closed(row)
        row.closed_at = moment
        info = _info(row)
    detail = {"incident": info.id, "note": note.strip(), "reported": info.reported_at is not None}
    add_deployment_event(store, info.deployment, "incident_closed", actor=actor, detail=detail)
    _audit(store, actor, "compliance.incident_close", info, {"note": detail["note"]})
    return info


def override_freeze(
    store: Store, incident_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> IncidentInfo:
    """Lift the promotion freeze of an open incident; ``actor`` and ``reason`` are kept.

    For when a change must ship before the report is sent (a fix for the very incident, say);
    the override is stored as ``{"actor", "reason", "at"}``.
    """
    if not reason.strip():
        raise IncidentInvalid("lifting the freeze needs a reason", where="reason")
    if not actor.strip():
        raise IncidentInvalid("lifting the freeze needs the person who does it", where="actor")
    at = naive_utc(now).isoformat()
    with store.session() as session:
        row = _row(session, incident_id)
        _check_not_closed(row)
        row.freeze_override = {"actor": actor.strip(), "reason": reason.strip(), "at": at}
        info = _info(row)
    _audit(store, actor.strip(), "compliance.freeze_override", info, {"reason": reason.strip()})
    return info


def _audit(
    store: Store, actor: str, action: str, info: IncidentInfo, detail: dict[str, Any]
) -> None:
    record_audit(
        store,
        actor=actor,
        action=action,
        target=f"incident:{info.id}",
        detail={"system": info.system, "deployment": info.deployment, **detail},
    )


def get_incident(store: Store, incident_id: int) -> IncidentInfo:
    """The incident ``incident_id``; :class:`UnknownIncident` if there is none."""
    with store.session() as session:
        return _info(_row(session, incident_id))


def list_incidents(
    store: Store, *, system: str | None = None, open_only: bool = False
) -> list[IncidentInfo]:
    """Incidents oldest first, of one ``system`` if given; only unreported open ones if asked."""
    query = select(Incident).order_by(Incident.id)
    if system is not None:
        query = query.where(Incident.system == system)
    if open_only:
        query = query.where(Incident.reported_at.is_(None), Incident.closed_at.is_(None))
    with store.session() as session:
        return [_info(row) for row in session.scalars(query)]


def freezing_incidents(store: Store, system: str) -> list[IncidentInfo]:
    """The incidents that freeze promotion of ``system``'s models now (none for an unknown one)."""
    return [i for i in list_incidents(store, system=system, open_only=True) if i.freezes_promotion]


def draft_incident_report(store: Store, incident_id: int, *, now: datetime | None = None) -> str:
    """A Markdown draft of the report to the market surveillance authority, marked DRAFT.

    Reads only what the report needs: the inference log of the 24 hours before the opening and
    the deployment and alert events of the 7 days before it.
    """
    incident = get_incident(store, incident_id)
    record = get_system(store, incident.system)
    moment = naive_utc(now)
    sections = [
        f"# DRAFT — Serious incident report #{incident.id} ({incident.article})",
        f"_Draft generated {moment.isoformat(timespec='seconds')} UTC; "
        "review and complete before sending._",
        _section_system(record),
        _section_incident(incident, moment),
        _section_deployment(store, incident),
        _section_log(store, incident),
        _section_history(store, incident),
        _section_actions(),
        _section_contact(record),
    ]
    return "\n\n".join(sections) + "\n"


def _section_system(record: SystemRecord) -> str:
    annex = ", ".join(record.classification.annex_iii) or "none"
    return "\n".join(
        [
            "## 1. Provider and system",
            f"- System: {record.name}",
            f"- Provider: {record.definition.provider}",
            f"- Intended purpose: {record.definition.intended_purpose or 'not stated'}",
            f"- Risk tier: {record.tier}",
            f"- Annex III points: {annex}",
        ]
    )


def _section_incident(incident: IncidentInfo, now: datetime) -> str:
    days = LEGAL_DEADLINE_DAYS.get(incident.severity)
    lines = [
        "## 2. The incident",
        f"- Incident: #{incident.id}",
        f"- Severity: {incident.severity} (deadline set by {incident.article}: {days} days)",
        f"- Title: {incident.title}",
        f"- Description: {incident.description or '_none given_'}",
        f"- Opened by {incident.opened_by} at {_stamp(incident.opened_at)} UTC",
        f"- Reporting deadline: {_stamp(incident.due_at)} UTC",
        f"- {_clock(incident, now)}",
    ]
    return "\n".join(lines)


def _clock(incident: IncidentInfo, now: datetime) -> str:
    if incident.reported_at is not None:
        late = incident.reported_at - incident.due_at
        when = f"Reported at {_stamp(incident.reported_at)} UTC"
        return f"{when}, {_duration(late)} after the deadline" if late > timedelta() else when
    left = incident.time_left(now)
    if left < timedelta():
        return f"OVERDUE by {_duration(-left)}"
    return f"Time left: {_duration(left)}"


def _section_deployment(store: Store, incident: IncidentInfo) -> str:
    model = _deployment_model(store, incident.deployment)
    lines = [
        "## 3. Affected deployment and model version",
        f"- Deployment: {incident.deployment}",
        f"- Model: {model or 'unknown'} version {incident.model_version or 'unknown'}",
    ]
    lineage = None
    if model is not None and incident.model_version is not None:
        lineage = version_lineage(store, model, incident.model_version)
    if lineage is None or not (lineage.datasets or lineage.steps):
        return "\n".join([*lines, "- Lineage: no lineage recorded"])
    lines.append("- Datasets:")
    lines += [
        f"  - {d.name}@{d.version} (content sha256 {d.content_hash[:12]}…)"
        for d in lineage.datasets
    ] or ["  - none recorded"]
    lines.append("- Pipeline steps:")
    lines += [
        f"  - {s.name} (pipeline run {s.pipeline_run_id}, code {(s.code_hash or 'unknown')[:12]})"
        for s in lineage.steps
    ] or ["  - none recorded"]
    return "\n".join(lines)


def _section_log(store: Store, incident: IncidentInfo) -> str:
    since = incident.opened_at - LOG_WINDOW
    records = read_inference_log(store, incident.deployment, since=since, until=incident.opened_at)
    lines = ["## 4. Inference log around the incident", "_The 24 hours before the opening._"]
    if not records:
        return "\n".join([*lines, "- Requests: 0"])
    versions = Counter(r.model_version for r in records)
    fallback = sum(1 for r in records if r.role == "fallback") / len(records)
    first = datetime.fromtimestamp(records[0].timestamp, UTC).replace(tzinfo=None)
    last = datetime.fromtimestamp(records[-1].timestamp, UTC).replace(tzinfo=None)
    answering = ", ".join(f"{v} ({n})" for v, n in sorted(versions.items()))
    lines += [
        f"- Requests: {len(records)}",
        f"- First request: {_stamp(first)} UTC",
        f"- Last request: {_stamp(last)} UTC",
        f"- Model versions answering: {answering}",
        f"- Share answered by fallback: {fallback:.1%}",
    ]
    return "\n".join(lines)


def _section_history(store: Store, incident: IncidentInfo) -> str:
    since, until = incident.opened_at - HISTORY_WINDOW, incident.opened_at
    entries: list[tuple[datetime, str]] = []
    try:
        events = deployment_events(store, incident.deployment)
    except DeploymentNotFound:
        events = []
    for event in events:
        if since <= event["at"] <= until:
            entries.append((event["at"], f"deployment {event['kind']} by {event['actor']}"))
    for alert in alert_history(store, incident.deployment):
        if alert.created_at is not None and since <= alert.created_at <= until:
            value = "" if alert.value is None else f" (value {alert.value:g})"
            entries.append((alert.created_at, f"alert {alert.rule} {alert.state}{value}"))
    lines = ["## 5. Operational history", "_Deployment and alert events of the 7 days before._"]
    if not entries:
        return "\n".join([*lines, "- No events recorded in this window."])
    lines += [f"- {_stamp(at)} UTC: {text}" for at, text in sorted(entries, key=lambda e: e[0])]
    return "\n".join(lines)


def _section_actions() -> str:
    return "\n".join(
        [
            "## 6. Corrective actions",
            "> **PLACEHOLDER — To be written by the provider.** Describe the investigation "
            "under Art. 73(6): the risk assessment of the incident and the corrective action "
            "taken or planned.",
            "> Before informing the authorities, the system must not be altered in a way that "
            "may affect any later evaluation of the causes of the incident (Art. 73(6)).",
        ]
    )


def _section_contact(record: SystemRecord) -> str:
    return "\n".join(
        [
            "## 7. Contact",
            f"- Provider: {record.definition.provider}",
            "- Contact person for this report: _to be filled in by the provider_",
        ]
    )


def _limits(
    record: SystemRecord, policy_limits: Mapping[str, int | float] | None
) -> Mapping[str, int | float]:
    if policy_limits is not None:
        return policy_limits
    return record.policy.limits if record.policy is not None else {}


def _deadline_days(severity: str, limits: Mapping[str, int | float]) -> float:
    """The legal deadline of ``severity``, shortened by a shorter policy limit."""
    if severity not in LEGAL_DEADLINE_DAYS:
        allowed = ", ".join(LEGAL_DEADLINE_DAYS)
        raise IncidentInvalid(
            f"unknown severity {severity!r} (expected one of {allowed})", where="severity"
        )
    days: float = LEGAL_DEADLINE_DAYS[severity]
    key = POLICY_LIMITS[severity]
    if key in limits:
        if limits[key] <= 0:
            raise IncidentInvalid("a reporting limit must be a positive number of days", where=key)
        days = min(days, limits[key])
    return days


def _served_model(store: Store, record: SystemRecord, deployment: str) -> str:
    """The model version ``deployment`` serves, once it is known to serve one of the system's."""
    try:
        info = get_deployment(store, deployment)
    except DeploymentNotFound as error:
        raise IncidentDeploymentUnknown(
            "no such deployment", where=f"deployment {deployment!r}"
        ) from error
    if info.model_name not in record.models:
        raise IncidentInvalid(
            f"deployment {deployment!r} serves model {info.model_name!r}, which system "
            f"{record.name!r} does not use (its models: {', '.join(record.models)})",
            where=f"deployment {deployment!r}",
        )
    return info.model_version


def _deployment_model(store: Store, deployment: str) -> str | None:
    try:
        return get_deployment(store, deployment).model_name
    except DeploymentNotFound:
        return None


def _row(session: Any, incident_id: int) -> Incident:
    row = session.get(Incident, incident_id)
    if row is None:
        raise UnknownIncident(f"no incident #{incident_id}", where=str(incident_id))
    return row


def _check_not_closed(row: Incident) -> None:
    if row.closed_at is not None:
        raise IncidentInvalid(
            f"incident is closed (since {row.closed_at.isoformat()})", where=f"incident {row.id}"
        )


def _info(row: Incident) -> IncidentInfo:
    values = {f.name: getattr(row, f.name) for f in fields(IncidentInfo)}
    values["description"] = row.description or ""
    values["freeze_override"] = dict(row.freeze_override) if row.freeze_override else None
    return IncidentInfo(**values)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


def _duration(span: timedelta) -> str:
    """``span`` as days, hours and minutes, for people."""
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    if days or hours:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    return " ".join(parts)
