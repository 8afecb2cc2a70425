"""Checks of documentation (Art. 11, 18), record-keeping (Art. 12, 19), human oversight
(Art. 14), post-market monitoring (Art. 72), incidents (Art. 73) and transparency (Art. 50)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from iml4e.compliance.catalogue import Control
from iml4e.compliance.checks import (
    Check,
    CheckContext,
    Outcome,
    applies,
    failed,
    missing_limits,
    not_applicable,
    passed,
)
from iml4e.ports import is_loopback

NOT_DEPLOYED = "the model is not deployed: nothing serves it yet"


def annex_iv_complete(context: CheckContext, control: Control) -> Outcome:
    """An Annex IV file of this version exists and all nine sections are filled."""
    version = context.model.detail.version
    files = [
        document
        for document in context.documents
        if document.kind == "annex-iv" and document.model_version == version
    ]
    if not files:
        return failed(
            f"no Annex IV documentation generated for version {version} "
            "(iml4e comply report SYSTEM)"
        )
    latest = files[-1]
    sections = latest.facts.get("sections", [])
    empty = [
        f"({section['number']}) {section['title']}" for section in sections if not section["filled"]
    ]
    evidence = {"document": latest.id, "sections": sections}
    if len(sections) != 9:
        return failed(f"document #{latest.id} has {len(sections)} sections, Annex IV has 9")
    if empty:
        return failed(
            f"document #{latest.id}: sections still to write: " + "; ".join(empty), **evidence
        )
    return passed(f"document #{latest.id} has all nine Annex IV sections filled", **evidence)


def documentation_matches_deployed(context: CheckContext, control: Control) -> Outcome:
    """The latest Annex IV file names the version the deployment serves."""
    deployment = context.runtime.deployment
    if deployment is None:
        return not_applicable(NOT_DEPLOYED)
    files = [
        document
        for document in context.documents
        if document.kind == "annex-iv" and document.model_name == deployment.model_name
    ]
    if not files:
        return failed(f"no Annex IV documentation of {deployment.model_name} has been generated")
    latest = files[-1]
    evidence = {"document": latest.id, "documented": latest.model_version}
    evidence["deployed"] = deployment.model_version
    if latest.model_version != deployment.model_version:
        return failed(
            f"the documentation (#{latest.id}) describes version {latest.model_version}, "
            f"{deployment.name} serves version {deployment.model_version}",
            **evidence,
        )
    return passed(
        f"documentation #{latest.id} describes version {latest.model_version}, "
        f"the version {deployment.name} serves",
        **evidence,
    )


def documentation_retained(context: CheckContext, control: Control) -> Outcome:
    """Every generated documentation file is still stored with the hash recorded for it."""
    from iml4e.compliance.evidence_runtime import file_sha256

    if not context.documents:
        return not_applicable("no documentation has been generated yet")
    problems = []
    for document in context.documents:
        path = Path(document.path)
        if not path.exists():
            problems.append(f"#{document.id} {document.path}: deleted")
        elif file_sha256(path) != document.sha256:
            problems.append(f"#{document.id} {document.path}: changed since it was generated")
    if problems:
        return failed("; ".join(problems), documents=len(context.documents))
    return passed(
        f"{len(context.documents)} documentation files stored, each with its recorded hash",
        documents=len(context.documents),
    )


def logging_enabled(context: CheckContext, control: Control) -> Outcome:
    """The deployment writes the inference log (the iml4e model server always does)."""
    deployment = context.runtime.deployment
    if deployment is None:
        return not_applicable(NOT_DEPLOYED)
    segments = context.runtime.log.segments if context.runtime.log else 0
    return passed(
        f"{deployment.name} runs the iml4e model server, which logs every answered request "
        f"before answering; {segments} log segments so far",
        deployment=deployment.name,
        segments=segments,
    )


def logging_coverage(context: CheckContext, control: Control) -> Outcome:
    """The records the writers counted are all readable and carry a request id."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    log = context.runtime.log
    if context.runtime.deployment is None or log is None:
        return not_applicable(NOT_DEPLOYED)
    if log.records_indexed == 0:
        return not_applicable("no closed log segment yet: coverage is not measurable")
    minimum = context.limit(control, "min_logging_coverage")
    coverage = min(log.records_read, log.records_with_request_id) / log.records_indexed
    detail = (
        f"{log.records_with_request_id} of {log.records_indexed} logged requests readable "
        f"with their request id ({coverage:.2%})"
    )
    if coverage < minimum:
        return failed(f"{detail} < {minimum:.0%}", **log.as_dict())
    return passed(f"{detail} (minimum {minimum:.0%})", **log.as_dict())


def log_retention(context: CheckContext, control: Control) -> Outcome:
    """Logs are kept at least as long as the policy says: no indexed segment is gone."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    log = context.runtime.log
    if context.runtime.deployment is None or log is None:
        return not_applicable(NOT_DEPLOYED)
    days = context.limit(control, "log_retention_days")
    if log.missing_files:
        return failed(
            f"{len(log.missing_files)} indexed log segments are gone: {log.missing_files[0]}",
            **log.as_dict(),
        )
    since = f"since {log.oldest_at:%Y-%m-%d}" if log.oldest_at else "(nothing logged yet)"
    return passed(
        f"every log segment kept {since}; iml4e deletes no segment, retention >= {days} days",
        **log.as_dict(),
    )


def tamper_evidence(context: CheckContext, control: Control) -> Outcome:
    """The hash chain over sealed log segments verifies."""
    seal = context.runtime.seal
    if context.runtime.deployment is None or seal is None:
        return not_applicable(NOT_DEPLOYED)
    evidence = {"sealed": list(seal.sealed), "head": seal.head}
    if seal.broken:
        return failed("the log's hash chain is broken: " + "; ".join(seal.broken), **evidence)
    return passed(
        f"hash chain over {len(seal.sealed)} sealed segments verifies "
        f"({seal.newly_sealed} sealed now)",
        **evidence,
    )


def override_present(context: CheckContext, control: Control) -> Outcome:
    """The deployment can be paused and its answers overridden.

    Pause and resume work for every managed deployment (its servers follow the state in the
    store); the ``/operator`` routes are mounted on servers bound to loopback.
    """
    deployment = context.runtime.deployment
    if deployment is None:
        return not_applicable(NOT_DEPLOYED)
    host = deployment.host or "127.0.0.1"
    if context.runtime.operator_tokens:
        return passed(
            f"{deployment.name} (on {host}) serves /operator/pause, /resume and /overrides "
            "behind API tokens and roles",
            host=host,
        )
    if is_loopback(host):
        return passed(
            f"{deployment.name} (on {host}) serves /operator/pause, /resume and /overrides; "
            "iml4e deploy pause and override record the same actions",
            host=host,
        )
    return failed(
        f"{deployment.name} binds {host} with server_auth off: the /operator routes are only "
        "mounted on loopback or behind API tokens, so answers cannot be overridden there",
        host=host,
    )


def override_exercised(context: CheckContext, control: Control) -> Outcome:
    """A pause and an override were recorded within the policy's maximum age."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    if context.runtime.deployment is None:
        return not_applicable(NOT_DEPLOYED)
    days = context.limit(control, "max_override_drill_age_days")
    since = context.now - timedelta(days=days)
    latest = {}
    for event in context.runtime.events:
        if event["kind"] in ("paused", "override") and event["at"] >= since:
            latest[event["kind"]] = event["at"].isoformat(timespec="seconds")
    absent = [kind for kind in ("paused", "override") if kind not in latest]
    if absent:
        return failed(f"no {' or '.join(absent)} event in the last {days} days", **latest)
    return passed(
        f"paused at {latest['paused']}, overridden at {latest['override']} (within {days} days)",
        **latest,
    )


def active_monitors(context: CheckContext, control: Control) -> Outcome:
    """The deployment's latest monitor report is recent and measured drift and performance."""
    problem = missing_limits(context, control)
    if problem:
        return problem
    if context.runtime.deployment is None:
        return not_applicable(NOT_DEPLOYED)
    if not context.runtime.reports:
        return failed("no monitor report for the deployment (iml4e monitor run)")
    days = context.limit(control, "max_monitor_report_age_days")
    latest = context.runtime.reports[0]
    age = context.now - latest.created_at
    measured = sorted({name.split(".", 1)[0] for name in latest.metrics})
    evidence = {"report": latest.report_id, "measured": measured, "age_days": age.days}
    gaps = []
    if age > timedelta(days=days):
        gaps.append(f"latest report #{latest.report_id} is {age.days} days old (limit {days})")
    if latest.drift_share is None:
        gaps.append("no drift measured")
    if "performance" not in measured and not any(
        entry.get("what", "").startswith("performance") for entry in latest.skipped
    ):
        gaps.append("no performance measured")
    if gaps:
        return failed("; ".join(gaps), **evidence)
    return passed(
        f"report #{latest.report_id} from {latest.created_at:%Y-%m-%d %H:%M} measured "
        f"{', '.join(measured)}; fairness is re-measured at each assessment",
        **evidence,
    )


def incident_clocks(context: CheckContext, control: Control) -> Outcome:
    """No serious incident is past its reporting deadline."""
    overdue = [incident for incident in context.incidents if incident.overdue(context.now)]
    evidence = {"incidents": [incident.id for incident in context.incidents]}
    if overdue:
        shown = "; ".join(
            f"#{incident.id} due {incident.due_at:%Y-%m-%d %H:%M}" for incident in overdue
        )
        return failed(f"reporting deadline passed: {shown}", **evidence)
    open_ones = [incident for incident in context.incidents if incident.state == "open"]
    if open_ones:
        return passed(
            f"{len(open_ones)} open incidents, none past its deadline "
            f"(next due {min(incident.due_at for incident in open_ones):%Y-%m-%d %H:%M})",
            **evidence,
        )
    return passed(f"{len(context.incidents)} incidents recorded, none overdue", **evidence)


def change_freeze(context: CheckContext, control: Control) -> Outcome:
    """No deployment or promotion happened between an incident and its report."""
    changes = [
        (event["at"], f"deployment {event['kind']}")
        for event in context.runtime.events
        if event["kind"] in ("starting", "deployed", "swapped")
    ] + [
        (event.created_at, f"promotion of version {event.model_version}")
        for event in context.model.promotions
        if event.created_at is not None
    ]
    violations = []
    for incident in context.incidents:
        end = incident.reported_at or incident.closed_at or context.now
        for moment, what in changes:
            if incident.opened_at < moment < end and not incident.freeze_override:
                violations.append(
                    f"{what} at {moment:%Y-%m-%d %H:%M} during incident #{incident.id}"
                )
    if violations:
        return failed("; ".join(violations))
    return passed(f"no change during the {len(context.incidents)} recorded incidents")


def ai_disclosure(context: CheckContext, control: Control) -> Outcome:
    """Systems that interact with people set the disclosure text."""
    return _transparency_duty(
        context,
        "Art. 50(1)",
        context.system.definition.disclosure,
        absent="the system does not interact directly with natural persons",
        unset="the system file sets no AI-interaction disclosure text",
        done="disclosure text set",
    )


def synthetic_marking(context: CheckContext, control: Control) -> Outcome:
    """Generative systems say how output is marked machine-readably."""
    return _transparency_duty(
        context,
        "Art. 50(2)",
        context.system.definition.output_marking,
        absent="the system does not generate synthetic content",
        unset="the system file does not say how synthetic output is marked",
        done="output marking",
    )


def _transparency_duty(
    context: CheckContext, paragraph: str, value: str | None, *, absent: str, unset: str, done: str
) -> Outcome:
    """An Art. 50 duty: not applicable unless classified so, failed until the file says how."""
    if paragraph not in context.system.classification.transparency:
        return not_applicable(absent)
    if not value:
        return failed(unset)
    return passed(f"{done}: {value!r}")


def _always_applies(context: CheckContext, control: Control) -> Outcome:
    return applies()


CHECKS: dict[str, Check] = {
    "ART11-ANNEX-IV-COMPLETE": annex_iv_complete,
    "ART11-DOC-MATCHES-DEPLOYED": documentation_matches_deployed,
    "ART18-DOC-RETENTION": documentation_retained,
    "ART12-LOGGING-ENABLED": logging_enabled,
    "ART12-LOGGING-COVERAGE": logging_coverage,
    "ART19-LOG-RETENTION": log_retention,
    "ART12-TAMPER-EVIDENCE": tamper_evidence,
    "ART14-OVERRIDE-PRESENT": override_present,
    "ART14-OVERRIDE-EXERCISED": override_exercised,
    "ART14-OVERSIGHT-STAFF": _always_applies,
    "ART72-MONITORING-PLAN": _always_applies,
    "ART72-ACTIVE-MONITORS": active_monitors,
    "ART73-INCIDENT-CLOCKS": incident_clocks,
    "ART73-CHANGE-FREEZE": change_freeze,
    "ART50-AI-DISCLOSURE": ai_disclosure,
    "ART50-SYNTHETIC-MARKING": synthetic_marking,
}
