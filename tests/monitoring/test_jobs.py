"""A monitoring run end to end: real model, real server app, real log, labels, rules, webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from iml4e.monitoring.alert_rules import alert_rules_path
from iml4e.monitoring.alerts import alert_states
from iml4e.monitoring.feedback import record_labels
from iml4e.monitoring.jobs import run_monitor
from iml4e.monitoring.reference import build_reference
from iml4e.monitoring.reference_store import save_reference
from iml4e.monitoring.reports import get_report, list_reports
from iml4e.monitoring.windows import Window, parse_window
from iml4e.ports import find_free_port
from iml4e.serving.deployments import record_deployment
from iml4e.serving.inference_log import read_inference_log
from iml4e.serving.served_model import load_served_model
from iml4e.store import open_store
from tests.serving.conftest import RegisteredModel, serve_champion, tiny_frame
from tests.serving.conftest import registered_model as registered_model  # the fixture

DEPLOYMENT = "monitored"


class Receiver:
    """A loopback webhook that records what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = find_free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    webhook = Receiver()
    yield webhook
    webhook.close()


def test_a_run_finds_drift_quality_and_performance_fires_and_notifies(
    registered_model: RegisteredModel, receiver: Receiver
) -> None:
    settings = registered_model.settings
    model = load_served_model(
        settings, f"models:/{registered_model.name}/{registered_model.version}"
    )
    training = registered_model.frame.drop(columns=["label"])
    with open_store(settings) as store:
        reference = build_reference(training, predictions=model.native.predict(training))
        save_reference(
            settings,
            store,
            reference,
            model_name=registered_model.name,
            model_version=registered_model.version,
        )
    rules = alert_rules_path(settings.home, DEPLOYMENT)
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(
        f"deployment: {DEPLOYMENT}\n"
        f"notify:\n  - webhook: http://127.0.0.1:{receiver.port}/hook\n    timeout_s: 5\n"
        "rules:\n"
        "  - name: feature-drift\n    metric: drift.share\n    op: '>='\n    threshold: 0.3\n"
        "    window: 1h\n    severity: warning\n"
    )

    live = tiny_frame(300, seed=11)
    live.loc[150:, "x1"] += 3.0  # the second half drifts
    live.loc[::25, "color"] = "purple"  # a category never seen in training
    with serve_champion(registered_model, DEPLOYMENT) as (client, store):
        record_deployment(
            store,
            DEPLOYMENT,
            model_name=registered_model.name,
            model_version=registered_model.version,
            url=None,
            actor="tester",
        )
        for index, row in enumerate(live.drop(columns=["label"]).to_dict(orient="records")):
            answer = client.post(
                "/invocations",
                json={"dataframe_records": [row]},
                headers={"x-request-id": f"r-{index}"},
            )
            assert answer.status_code == 200, answer.text
        labelled = [(f"r-{i}", int(live.loc[i, "label"])) for i in range(0, 300, 2)]
        assert record_labels(store, DEPLOYMENT, labelled, source="test", actor="t").recorded == 150

    result = run_monitor(settings, DEPLOYMENT, window=parse_window("1h"))
    assert result.n_rows == 300 and result.model_versions == [registered_model.version]
    drifted = {c["column"]: c["drifted"] for c in result.drift["columns"]}
    assert drifted["x1"] is True and drifted["x2"] is False
    assert result.values["drift.share"] >= 1 / 3
    assert result.values["quality.unseen.color"] == pytest.approx(12 / 300)
    with open_store(settings) as store:
        logged = {r.request_id: r.outputs[0] for r in read_inference_log(store, DEPLOYMENT)}
    truth = [label for _, label in labelled]
    predicted = [logged[request_id] for request_id, _ in labelled]
    assert result.values["performance.accuracy"] == pytest.approx(accuracy_score(truth, predicted))

    assert [(a["rule"], a["state"]) for a in result.alerts] == [("feature-drift", "firing")]
    assert [(m["rule"], m["state"]) for m in receiver.received] == [("feature-drift", "firing")]
    with open_store(settings) as store:
        assert [s.state for s in alert_states(store, DEPLOYMENT)] == ["firing"]
        stored = get_report(store, result.report_id)
    assert stored["metrics"]["drift.share"] == result.values["drift.share"]
    [listed] = list_reports(settings, DEPLOYMENT)
    assert listed.report_id == result.report_id and listed.html_path == result.html_path
    page = Path(result.html_path).read_text(encoding="utf-8")
    assert "x1" in page and "drifted" in page and "<script" not in page

    # a window that ended before the traffic: nothing to compare, said so, still a report
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2)
    empty = run_monitor(settings, DEPLOYMENT, window=Window(seconds=60), now=past)
    assert empty.n_rows == 0
    assert empty.skipped[0]["reason"] == "no traffic in the last 1m"
    # the rule's metric is missing there: the alert keeps firing, nothing new is sent
    assert len(receiver.received) == 1
    assert np.isfinite(list(result.values.values())).all()


def test_a_deployment_without_a_reference_is_monitored_for_what_it_can(
    registered_model: RegisteredModel,
) -> None:
    with serve_champion(registered_model, "unreferenced") as (client, store):
        record_deployment(
            store,
            "unreferenced",
            model_name=registered_model.name,
            model_version="999",
            url=None,
            actor="tester",
        )
        row = {"x1": 0.1, "x2": 0.2, "color": "red"}
        assert client.post("/invocations", json={"dataframe_records": [row]}).status_code == 200
    result = run_monitor(registered_model.settings, "unreferenced", window=Window(rows=100))
    reasons = {item["what"]: item["reason"] for item in result.skipped}
    assert "999" in reasons["drift and quality"]
    assert reasons["performance"] == "no ground-truth labels received yet"
    assert result.values["rows"] == 1.0 and "latency.p50_ms" in result.values
