"""Human oversight of a deployment (AI Act Art. 14): pause, resume, override a prediction.

Every action is a deployment event in the store (who, when, why), so it is attributable and
shows in the deployment's history. A running server follows its deployment's state (see
:mod:`iml4e.serving.watcher`), so pausing through the store — the CLI does — takes effect on
every worker within the watch interval; the server's own operator routes also apply it at once
to the worker that received them.

An override records the value a person puts in place of one logged prediction; the original
answer is kept beside it, so monitoring and audits see both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iml4e.audit import record_audit
from iml4e.errors import BadInput
from iml4e.serving.deployments import (
    DeploymentInfo,
    add_deployment_event,
    deployment_events,
    get_deployment,
    set_deployment_state,
)
from iml4e.serving.errors import UnknownRequest
from iml4e.serving.inference_log import find_inference_records
from iml4e.store import Store

MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class OverrideRecord:
    """A person's correction of one logged prediction."""

    deployment: str
    request_id: str
    value: Any
    original: list[Any]
    model_version: str
    actor: str
    reason: str
    at: datetime | None = None


def pause_deployment(store: Store, name: str, *, actor: str, reason: str) -> DeploymentInfo:
    """Pause deployment ``name``: its servers answer 503 (or with the fallback model)."""
    _check_reason(reason)
    get_deployment(store, name)  # DeploymentNotFound before anything is written
    info = set_deployment_state(store, name, "paused", actor=actor, reason=reason)
    record_audit(
        store,
        actor=actor,
        action="deployment.pause",
        target=f"deployment:{name}",
        detail={"reason": reason},
    )
    return info


def resume_deployment(
    store: Store, name: str, *, actor: str, reason: str | None = None
) -> DeploymentInfo:
    """Serve deployment ``name`` again after a pause."""
    if reason is not None:
        _check_reason(reason)
    info = set_deployment_state(store, name, "serving", actor=actor, reason=reason)
    record_audit(
        store,
        actor=actor,
        action="deployment.resume",
        target=f"deployment:{name}",
        detail={} if reason is None else {"reason": reason},
    )
    return info


def record_override(
    store: Store, name: str, *, request_id: str, value: Any, actor: str, reason: str
) -> OverrideRecord:
    """Record that ``actor`` replaced the prediction of ``request_id`` by ``value``.

    The request must be in the deployment's inference log (the answer a client actually got,
    not a shadow's); ``value`` must be JSON (a number is finite); ``reason`` is required.
    """
    _check_reason(reason)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput("must be a finite number", where="value")
    get_deployment(store, name)
    answered = [
        record
        for record in find_inference_records(store, name, request_id)
        if record.role != "shadow"
    ]
    if not answered:
        raise UnknownRequest(
            f"no answered request with this id in deployment {name!r}", where=request_id
        )
    original = answered[-1]
    record = OverrideRecord(
        deployment=name,
        request_id=request_id,
        value=value,
        original=original.outputs,
        model_version=original.model_version,
        actor=actor,
        reason=reason,
    )
    add_deployment_event(
        store,
        name,
        "override",
        actor=actor,
        detail={
            "request_id": request_id,
            "value": value,
            "original": original.outputs,
            "model_version": original.model_version,
            "reason": reason,
        },
    )
    record_audit(
        store,
        actor=actor,
        action="deployment.override",
        target=f"deployment:{name}",
        detail={
            "request_id": request_id,
            "model_version": original.model_version,
            "reason": reason,
        },
    )
    return record


def list_overrides(store: Store, name: str) -> list[OverrideRecord]:
    """The overrides recorded on deployment ``name``, oldest first."""
    return [
        OverrideRecord(
            deployment=name,
            request_id=event["detail"]["request_id"],
            value=event["detail"]["value"],
            original=event["detail"]["original"],
            model_version=event["detail"]["model_version"],
            actor=event["actor"],
            reason=event["detail"]["reason"],
            at=event["at"],
        )
        for event in deployment_events(store, name)
        if event["kind"] == "override"
    ]


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise BadInput("a reason is required", where="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise BadInput(f"at most {MAX_REASON_LENGTH} characters", where="reason")
