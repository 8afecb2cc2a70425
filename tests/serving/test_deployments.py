"""Deployment records on real SQLite and PostgreSQL: the manager's and the server's writes."""

from __future__ import annotations

import pytest

from iml4e.errors import BadInput
from iml4e.serving.deployments import (
    STATES,
    add_deployment_event,
    deployment_events,
    get_deployment,
    list_deployments,
    record_deployment,
    record_deployment_pid,
    record_deployment_start,
    set_deployment_state,
)
from iml4e.serving.errors import DeploymentNotFound, UnknownDeploymentState
from iml4e.store import Store

SPEC = {
    "model_uri": "models:/m@champion",
    "challenger_uri": "models:/m/2",
    "split": 0.1,
    "shadow_uri": None,
    "fallback_uri": None,
    "workers": 2,
}


def _start(store: Store, name: str = "d") -> None:
    record_deployment_start(
        store,
        name,
        model_name="m",
        model_version="1",
        host="127.0.0.1",
        port=8123,
        url="http://127.0.0.1:8123",
        log_path="/tmp/d.log",
        spec=SPEC,
        actor="alice",
    )


def test_the_server_recording_its_model_keeps_what_the_manager_wrote(store: Store) -> None:
    _start(store)
    record_deployment_pid(store, "d", 4242)
    served = record_deployment(
        store, "d", model_name="m", model_version="1", url="http://127.0.0.1:8123", actor="srv"
    )
    assert served.state == "serving"
    assert (served.pid, served.host, served.port) == (4242, "127.0.0.1", 8123)
    assert served.log_path == "/tmp/d.log"
    assert served.spec == SPEC
    events = deployment_events(store, "d")
    assert [e["kind"] for e in events] == ["starting", "deployed"]
    assert events[-1]["detail"]["previous_version"] is None  # the first version served here


def test_a_new_start_of_the_same_name_replaces_the_process_fields(store: Store) -> None:
    _start(store)
    record_deployment_pid(store, "d", 4242)
    set_deployment_state(store, "d", "stopped", actor="alice")
    _start(store)
    again = get_deployment(store, "d")
    assert (again.state, again.pid) == ("starting", None)
    kinds = [e["kind"] for e in deployment_events(store, "d")]
    assert kinds == ["starting", "stopped", "starting"]
    served = record_deployment(store, "d", model_name="m", model_version="2", url=None, actor="s")
    assert served.model_version == "2"
    assert deployment_events(store, "d")[-1]["detail"]["previous_version"] == "1"


def test_states_reasons_events_and_listing(store: Store) -> None:
    _start(store, "b")
    _start(store, "a")
    failed = set_deployment_state(store, "b", "failed", actor="mgr", reason="exited with code 1")
    assert failed.state == "failed"
    add_deployment_event(store, "a", "swapped", actor="srv", detail={"to_version": "2"})
    events = deployment_events(store, "b")
    assert events[-1]["detail"] == {"reason": "exited with code 1"}
    assert deployment_events(store, "a")[-1]["detail"] == {"to_version": "2"}
    assert [d.name for d in list_deployments(store)] == ["a", "b"]
    assert set(STATES) == {"starting", "serving", "paused", "stopped", "failed"}


def test_an_unknown_state_or_name_is_bad_input_naming_it(store: Store) -> None:
    _start(store)
    with pytest.raises(UnknownDeploymentState) as caught:
        set_deployment_state(store, "d", "runing", actor="alice")
    assert isinstance(caught.value, BadInput)
    assert caught.value.where == "'runing'"
    assert get_deployment(store, "d").state == "starting"
    with pytest.raises(DeploymentNotFound, match="deployment 'nope'"):
        add_deployment_event(store, "nope", "override", actor="alice", detail={})
