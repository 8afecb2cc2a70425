"""``iml4e deploy …`` through the command's entry point, with real servers on loopback ports."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from iml4e.config import load_settings
from iml4e.platform import initialize
from iml4e.registry import set_alias
from iml4e.serving.deployments import list_deployments
from iml4e.serving.process import process_running
from iml4e.store import open_store
from iml4e.tracking import connect_tracking
from tests.conftest import run_iml4e_here
from tests.registry.conftest import MODEL, Registry, log_tiny_model


@dataclass
class LiveDeployment:
    home: Path
    name: str
    url: str
    port: int
    pid: int


def _deploy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_iml4e_here("--home", str(home), "deploy", *args)


def _recorded(home: Path) -> set[str]:
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    store = open_store(settings)
    try:
        return {info.name for info in list_deployments(store)}
    finally:
        store.close()


def _servers_of(name: str) -> list[psutil.Process]:
    """Live (not zombie) ``iml4e serve`` processes of deployment ``name``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        command = process.info["cmdline"] or []
        if process.info["status"] == psutil.STATUS_ZOMBIE or "--deployment" not in command:
            continue
        if "serve" in command and command[command.index("--deployment") + 1] == name:
            found.append(process)
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose registry has MODEL versions 1 (``champion``) and 2 (``challenger``)."""
    folder = tmp_path_factory.mktemp("deploy-cli")
    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    initialize(settings)
    store = open_store(settings)
    client = connect_tracking(settings, store)
    registry = Registry(settings, store, client, *log_tiny_model(settings, client))
    for alias in ("champion", "challenger"):
        set_alias(client, MODEL, alias, registry.add_version({"roc_auc": 0.8}))
    store.close()
    return settings.home


@pytest.fixture(scope="module")
def live(home: Path) -> Iterator[LiveDeployment]:
    """One deployment started by ``iml4e deploy create``, shared by the tests that only read."""
    created = _deploy(home, "create", "live", "--model", f"{MODEL}@champion", "--json")
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    yield LiveDeployment(home, "live", info["url"], info["port"], info["pid"])
    _deploy(home, "stop", "live")


@pytest.mark.slow
def test_create_then_list_status_and_predict(live: LiveDeployment) -> None:
    listed = _deploy(live.home, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = next(d for d in json.loads(listed.stdout) if d["name"] == "live")
    assert (row["state"], row["pid"], row["running"]) == ("serving", live.pid, True)
    assert row["spec"]["model_uri"] == f"models:/{MODEL}@champion"

    status = _deploy(live.home, "status", "live", "--json")
    assert status.returncode == 0, status.stderr
    checked = json.loads(status.stdout)
    assert checked["healthy"] and checked["running"]
    assert checked["served_version"] == checked["model_version"] == "1"
    assert checked["problem"] is None

    answer = httpx.post(
        f"{live.url}/invocations",
        json={"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.5, 0.0], [-2.0, 1.0]]}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [1, 0]
    table = _deploy(live.home, "status", "live")
    assert "served version" in table.stdout


@pytest.mark.slow
def test_logs_show_the_server_log(live: LiveDeployment) -> None:
    logs = _deploy(live.home, "logs", "live", "--lines", "5")
    assert logs.returncode == 0, logs.stderr
    assert f"serve models:/{MODEL}@champion --deployment live" in logs.stdout


@pytest.mark.slow
def test_render_kserve_writes_an_inference_service(live: LiveDeployment, tmp_path: Path) -> None:
    target = tmp_path / "isvc.yaml"
    rendered = _deploy(live.home, "render", "live", "--target", "kserve", "--output", str(target))
    assert rendered.returncode == 0, rendered.stderr
    manifest = yaml.safe_load(target.read_text())
    assert manifest["kind"] == "InferenceService"
    assert manifest["metadata"]["name"] == "live"
    assert manifest["spec"]["predictor"]["model"]["storageUri"].startswith("file://")
    printed = _deploy(live.home, "render", "live", "--target", "kserve")
    assert yaml.safe_load(printed.stdout) == manifest
    unknown_target = _deploy(live.home, "render", "live", "--target", "helm")
    assert unknown_target.returncode == 2


@pytest.mark.slow
def test_pause_override_and_resume_through_the_cli(live: LiveDeployment) -> None:
    body = {"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.5, 0.0]]}}
    answered = httpx.post(f"{live.url}/invocations", json=body, headers={"x-request-id": "c-1"})
    assert answered.status_code == 200
    no_reason = _deploy(live.home, "pause", "live")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    paused = _deploy(live.home, "pause", "live", "--reason", "audit", "--by", "olga", "--json")
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["state"] == "paused"
    deadline = time.monotonic() + 30
    while httpx.post(f"{live.url}/invocations", json=body).status_code != 503:
        assert time.monotonic() < deadline, "the server did not follow the pause"
        time.sleep(0.2)
    override = _deploy(
        live.home, "override", "live", "c-1", "--value", "0", "--reason", "checked", "--json"
    )
    assert override.returncode == 0, override.stderr
    assert (json.loads(override.stdout)["original"], json.loads(override.stdout)["value"]) == (
        [1],
        0,
    )
    for bad, where in (
        (("override", "live", "never-sent", "--value", "0", "--reason", "x"), "never-sent"),
        (("override", "live", "c-1", "--value", "{oops", "--reason", "x"), "--value"),
        (("pause", "nobody", "--reason", "x"), "nobody"),
    ):
        refused = _deploy(live.home, *bad)
        assert refused.returncode == 2, refused.stderr
        assert where in refused.stderr and "Traceback" not in refused.stderr
    listed = json.loads(_deploy(live.home, "overrides", "live", "--json").stdout)
    assert [(o["request_id"], o["reason"]) for o in listed] == [("c-1", "checked")]
    resumed = _deploy(live.home, "resume", "live", "--json")
    assert json.loads(resumed.stdout)["state"] == "serving"
    deadline = time.monotonic() + 30
    while httpx.post(f"{live.url}/invocations", json=body).status_code != 200:
        assert time.monotonic() < deadline, "the server did not follow the resume"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_running_name_or_a_busy_port_is_refused(live: LiveDeployment) -> None:
    again = _deploy(live.home, "create", "live", "--model", f"{MODEL}@challenger")
    assert again.returncode == 2
    assert "deployment 'live': already running" in again.stderr
    assert "Traceback" not in again.stderr
    busy = _deploy(
        live.home, "create", "other", "--model", f"{MODEL}@champion", "--port", str(live.port)
    )
    assert busy.returncode == 2
    assert f"--port: 127.0.0.1:{live.port} is already in use" in busy.stderr
    assert "other" not in _recorded(live.home)
    assert not _servers_of("other")
    assert process_running(live.pid) or psutil.pid_exists(live.pid)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "nope@champion"), "--model: no registered model 'nope'"),
        (("--model", f"{MODEL}@nope"), f"--model: model '{MODEL}' has no alias 'nope'"),
        (("--model", f"{MODEL}@champion", "--split", "0.2"), "--split: a split needs"),
        (
            (
                "--model",
                f"{MODEL}@champion",
                "--challenger",
                f"{MODEL}@challenger",
                "--split",
                "1.5",
            ),
            "--split: must be strictly between 0 and 1 (got 1.5)",
        ),
        (
            (
                "--model",
                f"{MODEL}@champion",
                "--challenger",
                f"{MODEL}@challenger",
                "--split",
                "0.1",
                "--shadow",
                f"{MODEL}/2",
            ),
            "--shadow: a deployment has a canary challenger or a shadow, not both",
        ),
    ],
)
def test_bad_input_exits_2_and_leaves_nothing_behind(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    refused = _deploy(home, "create", "refused", *args)
    assert refused.returncode == 2
    assert message in " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr
    assert "refused" not in _recorded(home)
    assert not (home / "deployments" / "refused.log").exists()
    assert not _servers_of("refused")


@pytest.mark.slow
def test_stop_ends_the_process_and_records_it_stopped(home: Path) -> None:
    created = _deploy(home, "create", "brief", "--model", f"{MODEL}/2", "--json")
    assert created.returncode == 0, created.stderr
    pid = json.loads(created.stdout)["pid"]
    assert _servers_of("brief")
    stopped = _deploy(home, "stop", "brief", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["state"] == "stopped"
    assert not _servers_of("brief")
    assert not process_running(pid)
    status = json.loads(_deploy(home, "status", "brief", "--json").stdout)
    assert (status["state"], status["running"], status["healthy"]) == ("stopped", False, False)
    assert _deploy(home, "stop", "brief").returncode == 0  # stopping again changes nothing
    unknown = _deploy(home, "status", "never")
    assert unknown.returncode == 2
    assert "deployment 'never': no such deployment" in unknown.stderr


def test_status_of_a_dead_server_exits_1_saying_so(home: Path) -> None:
    from iml4e.serving.deployments import (
        record_deployment,
        record_deployment_pid,
        record_deployment_start,
    )

    exited = subprocess.Popen(["true"])
    exited.wait()
    settings = load_settings({"home": str(home)}, environ={}, cwd=home).settings
    store = open_store(settings)
    try:
        record_deployment_start(
            store,
            "ghost",
            model_name=MODEL,
            model_version="1",
            host="127.0.0.1",
            port=1,
            url="http://127.0.0.1:1",
            log_path=str(home / "deployments" / "ghost.log"),
            spec={"model_uri": f"models:/{MODEL}/1", "workers": 1},
            actor="alice",
        )
        record_deployment_pid(store, "ghost", exited.pid)
        record_deployment(
            store, "ghost", model_name=MODEL, model_version="1", url=None, actor="srv"
        )
    finally:
        store.close()
    status = _deploy(home, "status", "ghost", "--json")
    assert status.returncode == 1
    reported = json.loads(status.stdout)
    assert reported["state"] == "serving" and reported["running"] is False
    assert reported["problem"] == f"recorded serving but process {exited.pid} is gone"
    listed = {d["name"]: d for d in json.loads(_deploy(home, "list", "--json").stdout)}
    assert listed["ghost"]["running"] is False
