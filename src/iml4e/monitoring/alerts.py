"""Alert states: each rule of a deployment moves ok → pending → firing → resolved → ok.

:func:`evaluate_alerts` takes the metrics one monitoring run computed and moves every rule's
state, keeping the current state in ``iml4e_alert`` and every change in ``iml4e_alert_event``.
A rule whose metric the run did not compute keeps its state and is reported as skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iml4e.audit import record_audit
from iml4e.monitoring.alert_rules import AlertRule, AlertRules
from iml4e.monitoring.errors import AlertNotActive, AlertNotFound
from iml4e.store import Store
from iml4e.store.models import Alert, AlertEvent, naive_utc

OK = "ok"
PENDING = "pending"
FIRING = "firing"
RESOLVED = "resolved"
ACKNOWLEDGED = "acknowledged"
ACTIVE_STATES = (PENDING, FIRING)


@dataclass(frozen=True)
class AlertChange:
    """What one evaluation did to one rule.

    ``previous`` → ``state`` is the transition (equal when a pending rule counted another
    breach, or when the rule was ``skipped`` because its metric was missing). ``event_id``
    is the recorded :class:`AlertEvent` (None when skipped).
    """

    deployment: str
    rule: str
    metric: str
    op: str
    threshold: float
    severity: str
    previous: str
    state: str
    value: float | None
    at: datetime
    breaches: int = 0
    skipped: bool = False
    event_id: int | None = None

    @property
    def changed(self) -> bool:
        """Whether the rule's state changed."""
        return self.previous != self.state


@dataclass(frozen=True)
class AlertState:
    """The current state of one rule of a deployment."""

    deployment: str
    rule: str
    state: str
    severity: str
    value: float | None
    since: datetime | None
    updated_at: datetime
    acknowledged_by: str | None = None


@dataclass(frozen=True)
class AlertEventInfo:
    """One recorded change of an alert: its new state, the value, and why."""

    id: int
    deployment: str
    rule: str
    state: str
    value: float | None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


def _rule_detail(rule: AlertRule) -> dict[str, Any]:
    return {
        "metric": rule.metric,
        "op": rule.op,
        "threshold": rule.threshold,
        "window": rule.window,
        "for": rule.for_,
    }


def _last_event(session: Session, alert: Alert) -> AlertEvent | None:
    return session.scalars(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.state != ACKNOWLEDGED)
        .order_by(AlertEvent.id.desc())
        .limit(1)
    ).first()


def _next_state(
    rule: AlertRule,
    current: str,
    since: datetime | None,
    breaches: int,
    breached: bool,
    now: datetime,
) -> str:
    """The state a rule moves to; ``breaches`` already counts this evaluation."""
    if not breached:
        if current == FIRING:
            return RESOLVED
        return OK
    if current == FIRING:
        return FIRING
    count, duration = rule.for_count, rule.for_duration
    if count is not None and breaches >= count:
        return FIRING
    if duration is not None and since is not None and now - since >= duration:
        return FIRING
    return PENDING


def _evaluate_rule(
    session: Session, deployment: str, rule: AlertRule, value: float, now: datetime
) -> AlertChange | None:
    alert = session.scalars(
        select(Alert).where(Alert.deployment == deployment, Alert.rule == rule.name)
    ).one_or_none()
    if alert is None:
        alert = Alert(deployment=deployment, rule=rule.name, state=OK, severity=rule.severity)
        session.add(alert)
        session.flush()
    previous = alert.state
    breached = rule.breached(value)
    breaches = 0
    first_breach = now
    if breached and previous == PENDING:
        last = _last_event(session, alert)
        breaches = int((last.detail or {}).get("breaches", 0)) if last is not None else 0
        first_breach = alert.since or now
    breaches = breaches + 1 if breached else 0
    state = _next_state(rule, previous, first_breach, breaches, breached, now)
    alert.value = value
    alert.severity = rule.severity
    alert.updated_at = now
    if state == previous and state != PENDING:
        return None
    if state != previous:
        alert.since = first_breach if state == PENDING else now
    alert.state = state
    detail = {**_rule_detail(rule), "previous": previous}
    if breached:
        detail["breaches"] = breaches
    event = AlertEvent(alert=alert, state=state, value=value, detail=detail, created_at=now)
    session.add(event)
    session.flush()
    return _change(
        deployment,
        rule,
        previous=previous,
        state=state,
        value=value,
        at=now,
        breaches=breaches,
        event_id=event.id,
    )


def evaluate_alerts(
    store: Store,
    rules: AlertRules,
    values: Mapping[str, float],
    *,
    now: datetime | None = None,
) -> list[AlertChange]:
    """Move every rule of ``rules.deployment`` by one evaluation of ``values``.

    Returns the rules whose state changed or that counted another breach while pending, and
    the rules whose metric is missing from ``values`` (``skipped``; their state is kept).
    Rules that stay ``ok`` or stay ``firing`` are not returned. ``now`` (default: the current
    time) is when the values were computed; it drives duration-based ``for``.
    """
    moment = naive_utc(now)
    changes: list[AlertChange] = []
    with store.session() as session:
        for rule in rules.rules:
            value = values.get(rule.metric)
            if value is None:
                changes.append(_skipped(session, rules.deployment, rule, moment))
                continue
            change = _evaluate_rule(session, rules.deployment, rule, float(value), moment)
            if change is not None:
                changes.append(change)
    return changes


def _skipped(session: Session, deployment: str, rule: AlertRule, now: datetime) -> AlertChange:
    alert = session.scalars(
        select(Alert).where(Alert.deployment == deployment, Alert.rule == rule.name)
    ).one_or_none()
    state = alert.state if alert is not None else OK
    return _change(deployment, rule, previous=state, state=state, value=None, at=now, skipped=True)


def _change(
    deployment: str,
    rule: AlertRule,
    *,
    previous: str,
    state: str,
    value: float | None,
    at: datetime,
    **extra: Any,
) -> AlertChange:
    return AlertChange(
        deployment=deployment,
        rule=rule.name,
        metric=rule.metric,
        op=rule.op,
        threshold=rule.threshold,
        severity=rule.severity,
        previous=previous,
        state=state,
        value=value,
        at=at,
        **extra,
    )


def _acknowledger(session: Session, alert: Alert) -> str | None:
    """Who acknowledged the alert since it last became active, if anyone."""
    if alert.state not in ACTIVE_STATES:
        return None
    inactive = session.scalars(
        select(AlertEvent.id)
        .where(AlertEvent.alert_id == alert.id, AlertEvent.state.in_((OK, RESOLVED)))
        .order_by(AlertEvent.id.desc())
        .limit(1)
    ).first()
    acknowledged = session.scalars(
        select(AlertEvent)
        .where(
            AlertEvent.alert_id == alert.id,
            AlertEvent.state == ACKNOWLEDGED,
            AlertEvent.id > (inactive or 0),
        )
        .order_by(AlertEvent.id.desc())
        .limit(1)
    ).first()
    if acknowledged is None:
        return None
    return str((acknowledged.detail or {}).get("actor", ""))


def alert_states(store: Store, deployment: str) -> list[AlertState]:
    """The current state of every rule of ``deployment`` ever evaluated, by rule name."""
    with store.session() as session:
        alerts = session.scalars(
            select(Alert).where(Alert.deployment == deployment).order_by(Alert.rule)
        ).all()
        return [
            AlertState(
                deployment=alert.deployment,
                rule=alert.rule,
                state=alert.state,
                severity=alert.severity,
                value=alert.value,
                since=alert.since,
                updated_at=alert.updated_at,
                acknowledged_by=_acknowledger(session, alert),
            )
            for alert in alerts
        ]


def alert_history(store: Store, deployment: str, rule: str | None = None) -> list[AlertEventInfo]:
    """Every recorded change of ``deployment``'s alerts (one ``rule``'s if given), oldest first."""
    query = (
        select(AlertEvent, Alert.rule)
        .join(Alert, AlertEvent.alert_id == Alert.id)
        .where(Alert.deployment == deployment)
        .order_by(AlertEvent.id)
    )
    if rule is not None:
        query = query.where(Alert.rule == rule)
    with store.session() as session:
        return [
            AlertEventInfo(
                id=event.id,
                deployment=deployment,
                rule=rule_name,
                state=event.state,
                value=event.value,
                detail=dict(event.detail or {}),
                created_at=event.created_at,
            )
            for event, rule_name in session.execute(query).all()
        ]


def acknowledge_alert(
    store: Store, deployment: str, rule: str, *, actor: str, note: str = ""
) -> AlertEventInfo:
    """Record that ``actor`` has seen the pending or firing alert of ``rule``.

    The alert keeps its state (a firing alert stays firing until its metric recovers).
    Raises :class:`AlertNotFound` for a rule never evaluated and :class:`AlertNotActive`
    when the alert is not pending or firing.
    """
    with store.session() as session:
        alert = session.scalars(
            select(Alert).where(Alert.deployment == deployment, Alert.rule == rule)
        ).one_or_none()
        if alert is None:
            raise AlertNotFound(
                "no alert of this rule has been evaluated", where=f"{deployment}/{rule}"
            )
        if alert.state not in ACTIVE_STATES:
            raise AlertNotActive(
                f"the alert is {alert.state}; only pending or firing alerts can be acknowledged",
                where=f"{deployment}/{rule}",
            )
        event = AlertEvent(
            alert=alert,
            state=ACKNOWLEDGED,
            value=alert.value,
            detail={"actor": actor, "note": note, "alert_state": alert.state},
        )
        session.add(event)
        session.flush()
        info = AlertEventInfo(
            id=event.id,
            deployment=deployment,
            rule=rule,
            state=ACKNOWLEDGED,
            value=event.value,
            detail=dict(event.detail),
            created_at=event.created_at,
        )
    record_audit(
        store,
        actor=actor,
        action="monitor.acknowledge",
        target=f"alert:{deployment}/{rule}",
        detail={"alert_state": info.detail["alert_state"], "event": info.id},
    )
    return info


def append_event_detail(store: Store, event_id: int, key: str, items: Sequence[Any]) -> None:
    """Append ``items`` to the list under ``key`` in the detail of alert event ``event_id``.

    Used to keep what happened after a change was recorded (the notifiers' answers) with it.
    """
    with store.session() as session:
        event = session.get(AlertEvent, event_id)
        if event is None:
            raise AlertNotFound("no such alert event", where=str(event_id))
        detail = dict(event.detail or {})
        detail[key] = [*detail.get(key, []), *items]
        event.detail = detail
