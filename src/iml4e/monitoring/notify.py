"""Notifications of alert changes, through notifiers chosen by name from the rules file.

A notifier is anything with ``send(notification)``; the rules file's ``notify`` entries name
one (``webhook``, ``log``). :func:`notify_changes` never raises: a notifier that fails is
reported in the outcomes so the monitoring scheduler keeps running.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, TextIO

import httpx

from iml4e.monitoring.alert_rules import AlertRules, NotifyTarget
from iml4e.monitoring.alerts import FIRING, RESOLVED, AlertChange, append_event_detail
from iml4e.monitoring.errors import NotificationFailed
from iml4e.store import Store

NOTIFIED_STATES = (FIRING, RESOLVED)
DEFAULT_WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Notification:
    """What a person or system is told about an alert that fired or resolved."""

    deployment: str
    rule: str
    state: str
    previous: str
    metric: str
    value: float | None
    op: str
    threshold: float
    severity: str
    time: datetime

    @classmethod
    def from_change(cls, change: AlertChange) -> Notification:
        """The notification for one :class:`AlertChange`."""
        return cls(
            deployment=change.deployment,
            rule=change.rule,
            state=change.state,
            previous=change.previous,
            metric=change.metric,
            value=change.value,
            op=change.op,
            threshold=change.threshold,
            severity=change.severity,
            time=change.at,
        )

    def payload(self) -> dict[str, Any]:
        """The notification as JSON-ready data (``time`` in ISO 8601, UTC)."""
        data = asdict(self)
        data["time"] = self.time.isoformat() + ("Z" if self.time.tzinfo is None else "")
        return data

    def __str__(self) -> str:
        shown = "n/a" if self.value is None else f"{self.value:g}"
        return (
            f"[{self.severity}] {self.deployment}/{self.rule} {self.state}: "
            f"{self.metric}={shown} ({self.op} {self.threshold:g})"
        )


class Notifier(Protocol):
    """Delivers one notification or raises :class:`NotificationFailed`."""

    def send(self, notification: Notification) -> None: ...


class WebhookNotifier:
    """POSTs the notification as JSON to ``url``; anything but a 2xx answer in time fails."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_WEBHOOK_TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def send(self, notification: Notification) -> None:
        """POST the notification; raise :class:`NotificationFailed` naming the URL on failure."""
        try:
            answer = httpx.post(
                self.url, json=notification.payload(), timeout=self.timeout_s, trust_env=False
            )
        except httpx.TimeoutException:
            raise NotificationFailed(
                f"no answer within {self.timeout_s:g}s", where=self.url
            ) from None
        except httpx.HTTPError as exc:
            raise NotificationFailed(f"cannot deliver ({exc})", where=self.url) from None
        if not answer.is_success:
            raise NotificationFailed(f"answered HTTP {answer.status_code}", where=self.url)

    def __str__(self) -> str:
        return f"webhook {self.url}"


class LogNotifier:
    """Writes one line per notification to ``stream`` (standard error unless given)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, notification: Notification) -> None:
        """Write the notification as one line."""
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(f"iml4e alert {notification}\n")
        stream.flush()

    def __str__(self) -> str:
        return "log"


def _webhook(target: NotifyTarget) -> Notifier:
    return WebhookNotifier(str(target.webhook), target.timeout_s or DEFAULT_WEBHOOK_TIMEOUT_S)


def _log(target: NotifyTarget) -> Notifier:
    return LogNotifier()


NOTIFIER_KINDS: dict[str, Callable[[NotifyTarget], Notifier]] = {
    "webhook": _webhook,
    "log": _log,
}


def notifiers_for(rules: AlertRules) -> list[Notifier]:
    """The notifiers the ``notify`` entries of a rules file name, in order."""
    return [NOTIFIER_KINDS[target.kind](target) for target in rules.notify]


@dataclass(frozen=True)
class NotificationOutcome:
    """What one notifier answered for one change: delivered, or the error it raised."""

    notifier: str
    deployment: str
    rule: str
    state: str
    event_id: int | None
    delivered: bool
    error: str | None = None


def notify_changes(
    changes: Sequence[AlertChange], notifiers: Sequence[Notifier]
) -> list[NotificationOutcome]:
    """Send every change into ``firing`` or ``resolved`` to every notifier; never raises.

    Pending, skipped and unchanged entries are not sent. A notifier that raises is reported
    in its outcome (``delivered=False`` with the error) and the others still get theirs.
    """
    outcomes = []
    for change in changes:
        if change.skipped or not change.changed or change.state not in NOTIFIED_STATES:
            continue
        notification = Notification.from_change(change)
        for notifier in notifiers:
            error: str | None = None
            try:
                notifier.send(notification)
            except Exception as exc:  # a broken notifier must not stop the monitoring job
                error = str(exc) or type(exc).__name__
            outcomes.append(
                NotificationOutcome(
                    notifier=str(notifier),
                    deployment=change.deployment,
                    rule=change.rule,
                    state=change.state,
                    event_id=change.event_id,
                    delivered=error is None,
                    error=error,
                )
            )
    return outcomes


def record_notification_outcomes(store: Store, outcomes: Sequence[NotificationOutcome]) -> None:
    """Keep each outcome in the detail of the alert event it was about (``notifications``)."""
    by_event: dict[int, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        if outcome.event_id is not None:
            by_event.setdefault(outcome.event_id, []).append(
                {
                    "notifier": outcome.notifier,
                    "delivered": outcome.delivered,
                    "error": outcome.error,
                }
            )
    for event_id, answers in by_event.items():
        append_event_detail(store, event_id, "notifications", answers)
