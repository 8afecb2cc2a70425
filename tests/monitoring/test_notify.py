"""Notifiers against real loopback receivers: one that records, one too slow, a closed port."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from iml4e.monitoring.alert_rules import AlertRules, parse_alert_rules
from iml4e.monitoring.alerts import AlertChange, alert_history, evaluate_alerts
from iml4e.monitoring.errors import NotificationFailed
from iml4e.monitoring.notify import (
    LogNotifier,
    Notification,
    WebhookNotifier,
    notifiers_for,
    notify_changes,
    record_notification_outcomes,
)
from iml4e.ports import find_free_port
from iml4e.store import Store

NOW = datetime(2026, 1, 5, 12, 0)


class Receiver:
    """A loopback HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self, *, status: int = 200, delay_s: float = 0.0) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay_s)
                received.append({"path": self.path, "json": json.loads(body)})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def _change(state: str = "firing", previous: str = "pending", **overrides: Any) -> AlertChange:
    values: dict[str, Any] = {
        "deployment": "credit-default",
        "rule": "feature-drift",
        "metric": "drift.share",
        "op": ">=",
        "threshold": 0.3,
        "severity": "warning",
        "previous": previous,
        "state": state,
        "value": 0.42,
        "at": NOW,
        "breaches": 2,
        "event_id": None,
    }
    values.update(overrides)
    return AlertChange(**values)


def test_webhook_posts_the_notification(receiver: Receiver) -> None:
    WebhookNotifier(receiver.url, timeout_s=5).send(Notification.from_change(_change()))
    (request,) = receiver.received
    assert request["path"] == "/hook"
    assert request["json"] == {
        "deployment": "credit-default",
        "rule": "feature-drift",
        "state": "firing",
        "previous": "pending",
        "metric": "drift.share",
        "value": 0.42,
        "op": ">=",
        "threshold": 0.3,
        "severity": "warning",
        "time": "2026-01-05T12:00:00Z",
    }


def test_webhook_timeout_names_the_url() -> None:
    with Receiver(delay_s=1.5) as slow:
        notifier = WebhookNotifier(slow.url, timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(NotificationFailed, match=r"no answer within 0\.3s") as caught:
            notifier.send(Notification.from_change(_change()))
        assert time.monotonic() - started < 1.4
        assert caught.value.where == slow.url


def test_webhook_closed_port_names_the_url() -> None:
    url = f"http://127.0.0.1:{find_free_port()}/hook"
    with pytest.raises(NotificationFailed, match="cannot deliver") as caught:
        WebhookNotifier(url, timeout_s=2).send(Notification.from_change(_change()))
    assert caught.value.where == url


def test_webhook_error_status_fails() -> None:
    with Receiver(status=500) as failing:
        with pytest.raises(NotificationFailed, match="answered HTTP 500") as caught:
            WebhookNotifier(failing.url).send(Notification.from_change(_change()))
        assert caught.value.where == failing.url
        assert len(failing.received) == 1


def test_log_notifier_writes_one_line() -> None:
    stream = io.StringIO()
    LogNotifier(stream).send(Notification.from_change(_change()))
    assert stream.getvalue() == (
        "iml4e alert [warning] credit-default/feature-drift firing: drift.share=0.42 (>= 0.3)\n"
    )


def test_log_notifier_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    LogNotifier().send(Notification.from_change(_change(state="resolved", value=None)))
    assert capsys.readouterr().err == (
        "iml4e alert [warning] credit-default/feature-drift resolved: drift.share=n/a (>= 0.3)\n"
    )


def _rules(*targets: dict[str, Any]) -> AlertRules:
    rule = {
        "name": "feature-drift",
        "metric": "drift.share",
        "op": ">=",
        "threshold": 0.3,
        "window": "1h",
    }
    return parse_alert_rules(
        {"deployment": "credit-default", "notify": list(targets), "rules": [rule]},
        source="test",
    )


def test_notifiers_for_builds_them_by_name() -> None:
    webhook, log = notifiers_for(
        _rules({"webhook": "http://127.0.0.1:9/hook", "timeout_s": 2}, {"log": True})
    )
    assert isinstance(webhook, WebhookNotifier)
    assert (webhook.url, webhook.timeout_s) == ("http://127.0.0.1:9/hook", 2)
    assert isinstance(log, LogNotifier)
    assert notifiers_for(_rules()) == []
    (default,) = notifiers_for(_rules({"webhook": "http://127.0.0.1:9/hook"}))
    assert isinstance(default, WebhookNotifier) and default.timeout_s == 5


def test_notify_changes_never_raises_and_reports_each_outcome(receiver: Receiver) -> None:
    closed = f"http://127.0.0.1:{find_free_port()}/hook"
    stream = io.StringIO()
    notifiers = [
        WebhookNotifier(closed, timeout_s=2),
        WebhookNotifier(receiver.url),
        LogNotifier(stream),
    ]
    changes = [
        _change(event_id=1),
        _change(state="pending", previous="ok", event_id=2),
        _change(state="firing", previous="firing", skipped=True, value=None),
        _change(state="resolved", previous="firing", event_id=3),
        _change(state="ok", previous="resolved", event_id=4),
    ]
    outcomes = notify_changes(changes, notifiers)
    assert [(o.state, o.notifier, o.delivered) for o in outcomes] == [
        ("firing", f"webhook {closed}", False),
        ("firing", f"webhook {receiver.url}", True),
        ("firing", "log", True),
        ("resolved", f"webhook {closed}", False),
        ("resolved", f"webhook {receiver.url}", True),
        ("resolved", "log", True),
    ]
    assert outcomes[0].error is not None and closed in outcomes[0].error
    assert [r["json"]["state"] for r in receiver.received] == ["firing", "resolved"]
    assert len(stream.getvalue().splitlines()) == 2


def test_a_notifier_raising_anything_is_reported() -> None:
    class Broken:
        def send(self, notification: Notification) -> None:
            raise RuntimeError("disk full")

        def __str__(self) -> str:
            return "broken"

    (outcome,) = notify_changes([_change()], [Broken()])
    assert (outcome.notifier, outcome.delivered, outcome.error) == ("broken", False, "disk full")


def test_outcomes_are_kept_with_the_alert_event(store: Store, receiver: Receiver) -> None:
    closed = f"http://127.0.0.1:{find_free_port()}/hook"
    rules = _rules({"webhook": receiver.url}, {"webhook": closed, "timeout_s": 2})
    changes = evaluate_alerts(store, rules, {"drift.share": 0.5}, now=NOW)
    outcomes = notify_changes(changes, notifiers_for(rules))
    record_notification_outcomes(store, outcomes)
    (event,) = alert_history(store, "credit-default")
    delivered, failed = event.detail["notifications"]
    assert delivered == {"notifier": f"webhook {receiver.url}", "delivered": True, "error": None}
    assert failed["notifier"] == f"webhook {closed}" and failed["delivered"] is False
    assert closed in failed["error"]
    assert receiver.received[0]["json"]["value"] == 0.5
