"""The deployment manager on a real MLflow registry (SQLite) with real server processes."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from iml4e.errors import BadInput
from iml4e.ports import PortInUse, find_free_port
from iml4e.serving.deployments import deployment_events, list_deployments
from iml4e.serving.errors import (
    DeploymentFailed,
    DeploymentNotManaged,
    DeploymentRunning,
    InvalidDeploymentSpec,
    ModelLoadError,
)
from iml4e.serving.manager import (
    create_deployment,
    deployment_log_path,
    deployment_status,
    list_deployment_statuses,
    stop_deployment,
)
from iml4e.serving.model_refs import model_uri
from iml4e.serving.process import ModelServerProcess, process_running
from iml4e.serving.spec import ServeSpec
from iml4e.store import open_store
from tests.serving.conftest import RegisteredModel

MODEL = "tiny-classifier"


def _names(model: RegisteredModel) -> set[str]:
    store = open_store(model.settings)
    try:
        return {info.name for info in list_deployments(store)}
    finally:
        store.close()


@pytest.mark.parametrize(
    "reference", ["m@champion", "m/3", "models:/m@champion", " models:/m/3 ", "m@v1.2-x"]
)
def test_model_references_become_models_uris(reference: str) -> None:
    assert model_uri(reference, where="--model").startswith("models:/m")


@pytest.mark.parametrize("reference", ["m", "m@", "m/x", "m@a@b", "runs:/abc/model", ""])
def test_malformed_model_references_name_the_option(reference: str) -> None:
    with pytest.raises(ModelLoadError) as caught:
        model_uri(reference, where="--shadow")
    assert caught.value.where == "--shadow"


@pytest.mark.parametrize(
    ("options", "error", "where", "message"),
    [
        ({"model": "nope@champion"}, ModelLoadError, "--model", "no registered model 'nope'"),
        ({"model": f"{MODEL}@nope"}, ModelLoadError, "--model", "its aliases: champion"),
        ({"model": f"{MODEL}/99"}, ModelLoadError, "--model", "has no version 99"),
        ({"model": "x@@y"}, ModelLoadError, "--model", "expected NAME@ALIAS"),
        ({"split": 0.5}, InvalidDeploymentSpec, "--split", "needs --challenger"),
        (
            {"challenger": f"{MODEL}/1", "split": 1.5},
            InvalidDeploymentSpec,
            "--split",
            "strictly between 0 and 1",
        ),
        ({"challenger": f"{MODEL}/1"}, InvalidDeploymentSpec, "--challenger", "needs --split"),
        (
            {"challenger": f"{MODEL}/1", "split": 0.2, "shadow": f"{MODEL}/1"},
            InvalidDeploymentSpec,
            "--shadow",
            "not both",
        ),
        (
            {"challenger": "other@champion", "split": 0.2},
            ModelLoadError,
            "--challenger",
            "no registered model 'other'",
        ),
        ({"fallback": f"{MODEL}@old"}, ModelLoadError, "--fallback", "no alias 'old'"),
        ({"workers": 0}, InvalidDeploymentSpec, "--workers", "between 1 and 64"),
        ({"name": "bad name!"}, InvalidDeploymentSpec, "deployment name 'bad name!'", "letters"),
    ],
)
def test_bad_options_are_refused_before_anything_starts_or_is_recorded(
    registered_model: RegisteredModel,
    options: dict[str, Any],
    error: type[BadInput],
    where: str,
    message: str,
) -> None:
    name = options.pop("name", "refused")
    with pytest.raises(error) as caught:
        create_deployment(
            registered_model.settings, name, **{"model": f"{MODEL}@champion", **options}
        )
    assert isinstance(caught.value, BadInput)
    assert caught.value.where == where
    assert message in caught.value.message
    assert name not in _names(registered_model)
    assert not deployment_log_path(registered_model.settings, name).exists()


def test_a_busy_port_is_refused_naming_the_option(registered_model: RegisteredModel) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as caught:
            create_deployment(
                registered_model.settings, "busy", model=f"{MODEL}@champion", port=port
            )
    assert caught.value.where == "--port"
    assert "busy" not in _names(registered_model)


@pytest.mark.slow
def test_a_server_that_does_not_come_up_is_killed_and_recorded_failed(
    registered_model: RegisteredModel,
) -> None:
    settings = registered_model.settings
    with pytest.raises(DeploymentFailed, match="not ready within"):
        create_deployment(settings, "too-slow", model=f"{MODEL}@champion", ready_timeout=0.3)
    status = deployment_status(settings, "too-slow")
    assert status.deployment.state == "failed"
    assert status.deployment.pid is not None
    assert not process_running(status.deployment.pid)
    assert status.problem is None  # recorded failed, and indeed not running
    store = open_store(settings)
    try:
        reason = deployment_events(store, "too-slow")[-1]["detail"]["reason"]
    finally:
        store.close()
    assert "not ready within" in reason


@pytest.mark.slow
def test_a_killed_server_is_reported_as_not_running(registered_model: RegisteredModel) -> None:
    settings = registered_model.settings
    port = find_free_port()
    info = create_deployment(settings, "killed", model=f"{MODEL}/1", port=port, workers=1)
    assert info.state == "serving"
    assert info.pid is not None and info.port == port
    assert deployment_status(settings, "killed").healthy
    os.killpg(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process_running(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    status = deployment_status(settings, "killed")
    assert status.deployment.state == "serving"  # what was recorded…
    assert not status.running and not status.healthy  # …is not what is true
    assert status.problem == f"recorded serving but process {info.pid} is gone"
    listed = {s.deployment.name: s for s in list_deployment_statuses(settings)}
    assert not listed["killed"].running
    assert stop_deployment(settings, "killed", actor="alice").state == "stopped"
    assert deployment_status(settings, "killed").problem is None
    assert Path(info.log_path or "").read_text().count("starting:") == 1


@pytest.mark.slow
def test_a_server_started_by_hand_is_checked_by_url_and_not_stopped_from_here(
    registered_model: RegisteredModel,
) -> None:
    settings = registered_model.settings
    with ModelServerProcess(
        settings,
        ServeSpec(f"models:/{MODEL}@champion", deployment="by-hand"),
        host="127.0.0.1",
        port=find_free_port(),
    ):
        status = deployment_status(settings, "by-hand")
        assert status.deployment.pid is None
        assert status.running and status.healthy and status.problem is None
        assert status.served_version == registered_model.version
        listed = {s.deployment.name: s for s in list_deployment_statuses(settings)}
        assert listed["by-hand"].running
        with pytest.raises(DeploymentNotManaged, match="started by hand"):
            stop_deployment(settings, "by-hand", actor="alice")
        with pytest.raises(DeploymentRunning, match="deployment 'by-hand'"):
            create_deployment(settings, "by-hand", model=f"{MODEL}@champion")
