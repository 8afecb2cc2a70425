"""The scheduler of ``iml4e up``: real ``iml4e monitor run`` processes on a real home."""

from __future__ import annotations

import time

from iml4e.monitoring.reports import list_reports
from iml4e.monitoring.scheduler import MonitorScheduler
from iml4e.serving.deployments import record_deployment, set_deployment_state
from tests.serving.conftest import RegisteredModel, serve_champion
from tests.serving.conftest import registered_model as registered_model  # the fixture


def test_rounds_monitor_serving_deployments_and_survive_failing_runs(
    registered_model: RegisteredModel,
) -> None:
    settings = registered_model.settings
    with serve_champion(registered_model, "scheduled") as (client, store):
        for name in ("scheduled", "retired"):
            record_deployment(
                store,
                name,
                model_name=registered_model.name,
                model_version=registered_model.version,
                url=None,
                actor="tester",
            )
        set_deployment_state(store, "retired", "stopped", actor="tester")
        row = {"x1": 0.1, "x2": 0.2, "color": "red"}
        assert client.post("/invocations", json={"dataframe_records": [row]}).status_code == 200

    broken = MonitorScheduler(settings, interval_s=3600, window="a fortnight")
    failed = {outcome.deployment: outcome for outcome in broken.run_round()}
    assert not failed["scheduled"].ok and "--window" in failed["scheduled"].detail
    assert "retired" not in failed  # a stopped deployment is not monitored

    scheduler = MonitorScheduler(settings, interval_s=0.2, window="1h")
    scheduler.start()
    try:
        deadline = time.monotonic() + 120
        while scheduler.status().runs < 1:
            assert time.monotonic() < deadline, "no round ran"
            time.sleep(0.1)
        scheduler.pause()
        assert scheduler.status().paused
    finally:
        scheduler.stop(timeout=120)
    outcome = scheduler.status().last["scheduled"]
    assert outcome.ok, outcome.detail
    [report] = [r for r in list_reports(settings, "scheduled") if r.report_id == outcome.report_id]
    assert report.n_rows >= 1
    compliance = scheduler.status().compliance
    assert compliance is not None and compliance.ok, compliance
    assert compliance.detail.startswith("0 stale assessments assessed again")
