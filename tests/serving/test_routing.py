"""Routing over a real app: canary split, shadow, hot-swap on alias moves, pause and overrides."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from mlflow import MlflowClient
from starlette.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.registry import set_alias
from iml4e.server.access import bearer_guard
from iml4e.server.tokens import create_token
from iml4e.server.users import add_user
from iml4e.serving.app import create_model_app
from iml4e.serving.deployments import deployment_events, get_deployment, record_deployment
from iml4e.serving.inference_log import InferenceLogWriter, read_inference_log
from iml4e.serving.operator import list_overrides, pause_deployment, resume_deployment
from iml4e.serving.router import Router
from iml4e.serving.served_model import ServedModel, load_served_model
from iml4e.serving.watcher import DeploymentWatcher
from iml4e.store import Store, open_store
from tests.serving.conftest import MODEL_NAME, RegisteredModel

ROW = {"x1": 0.4, "x2": -1.0, "color": "red"}


@dataclass
class Served:
    client: TestClient
    store: Store
    deployment: str
    watcher: DeploymentWatcher | None = None


def invoke(client: TestClient, request_id: str, deployment: str) -> tuple[int, str | None]:
    response = client.post(
        "/invocations",
        json={"dataframe_records": [ROW]},
        headers={"x-request-id": request_id},
    )
    return response.status_code, response.headers.get("x-model-version")


@pytest.fixture
def versions(
    registered_model: RegisteredModel, second_version: str
) -> tuple[ServedModel, ServedModel]:
    settings = registered_model.settings
    return (
        load_served_model(settings, f"models:/{MODEL_NAME}/{registered_model.version}"),
        load_served_model(settings, f"models:/{MODEL_NAME}/{second_version}"),
    )


@contextmanager
def serve(
    registered_model: RegisteredModel,
    deployment: str,
    champion: ServedModel,
    *,
    follow: dict[str, str] | None = None,
    guarded: bool = False,
    **roles: ServedModel | float,
) -> Iterator[Served]:
    settings = registered_model.settings
    store = open_store(settings)
    record_deployment(
        store,
        deployment,
        model_name=champion.name,
        model_version=champion.version,
        url=None,
        actor="tester",
    )
    log = InferenceLogWriter(store, settings.inference_log_root, deployment)
    router = Router.for_models(deployment, log, champion, **roles)  # type: ignore[arg-type]
    watcher = None
    if follow is not None:
        watcher = DeploymentWatcher(settings, store, router, follow=follow, interval=0.1)
    app = create_model_app(
        router,
        log=log,
        store=store,
        watcher=watcher,
        operator_routes=True,
        operator_guard=bearer_guard(store) if guarded else None,
    )
    with TestClient(app) as client:
        yield Served(client, store, deployment, watcher)
    store.close()


def test_canary_split_sends_a_stable_share_to_the_challenger(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    champion, challenger = versions
    with serve(registered_model, "canary", champion, challenger=challenger, split=0.3) as served:
        answered = [invoke(served.client, f"req-{i}", "canary") for i in range(300)]
        assert {status for status, _ in answered} == {200}
        by_version = Counter(version for _, version in answered)
        assert set(by_version) == {champion.version, challenger.version}
        assert 0.2 < by_version[challenger.version] / 300 < 0.4
        # the same request id meets the same model again
        assert invoke(served.client, "req-7", "canary") == answered[7]
        records = read_inference_log(served.store, "canary")
        roles = {r.request_id: (r.role, r.model_version) for r in records}
        for i, (_, version) in enumerate(answered):
            role = "challenger" if version == challenger.version else "champion"
            assert roles[f"req-{i}"] == (role, version)


def test_shadow_answers_are_logged_not_returned(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    champion, shadow = versions
    with serve(registered_model, "shadowed", champion, shadow=shadow) as served:
        answered = [invoke(served.client, f"s-{i}", "shadowed") for i in range(20)]
        assert set(answered) == {(200, champion.version)}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            records = read_inference_log(served.store, "shadowed")
            if sum(r.role == "shadow" for r in records) == 20:
                break
            time.sleep(0.05)
        pairs = Counter((r.role, r.model_version) for r in records)
        assert pairs == {("champion", champion.version): 20, ("shadow", shadow.version): 20}
        health = served.client.get("/health").json()
        assert {s["role"] for s in health["served"]} == {"champion", "shadow"}


def test_alias_moves_are_hot_swapped_without_dropping_requests(
    registered_model: RegisteredModel,
    versions: tuple[ServedModel, ServedModel],
) -> None:
    settings = registered_model.settings
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    first, second = versions
    set_alias(client, MODEL_NAME, "live", first.version)
    uri = f"models:/{MODEL_NAME}@live"
    with serve(registered_model, "hot", first, follow={"champion": uri}) as served:
        statuses: list[tuple[int, str | None]] = []
        stop = threading.Event()

        def load() -> None:
            i = 0
            while not stop.is_set():
                statuses.append(invoke(served.client, f"h-{i}", "hot"))
                i += 1

        sender = threading.Thread(target=load)
        sender.start()
        try:
            time.sleep(0.3)
            set_alias(client, MODEL_NAME, "live", second.version)  # promotion
            _wait_for(lambda: statuses and statuses[-1][1] == second.version)
            time.sleep(0.3)
            set_alias(client, MODEL_NAME, "live", first.version)  # rollback
            _wait_for(lambda: statuses[-1][1] == first.version)
            time.sleep(0.2)
        finally:
            stop.set()
            sender.join()
        assert {status for status, _ in statuses} == {200}
        versions_seen = [version for _, version in statuses]
        assert versions_seen[0] == first.version and versions_seen[-1] == first.version
        assert second.version in versions_seen
        logged = read_inference_log(served.store, "hot")
        assert len(logged) == len(statuses)
        assert [r.model_version for r in logged] == versions_seen
        swaps = [
            e["detail"] for e in deployment_events(served.store, "hot") if e["kind"] == "swapped"
        ]
        assert [(s["previous_version"], s["version"]) for s in swaps] == [
            (first.version, second.version),
            (second.version, first.version),
        ]
        assert get_deployment(served.store, "hot").model_version == first.version


def test_pause_resume_and_override_through_the_operator_routes(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    champion, _ = versions
    with serve(registered_model, "overseen", champion) as served:
        client = served.client
        assert invoke(client, "before-pause", "overseen") == (200, champion.version)
        refused = client.post("/operator/pause", json={"actor": "ops"})
        assert refused.status_code == 400 and refused.json()["field"] == "reason"
        paused = client.post("/operator/pause", json={"actor": "ops", "reason": "odd answers"})
        assert paused.status_code == 200 and paused.json()["paused"] is True
        response = client.post("/invocations", json={"dataframe_records": [ROW]})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "30"
        assert "paused" in response.json()["message"]
        v2 = client.post(
            "/v2/models/overseen/infer",
            json={"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.1]}]},
        )
        assert v2.status_code == 503
        assert client.get("/v2/health/ready").status_code == 503
        assert client.get("/health").json()["status"] == "paused"
        assert get_deployment(served.store, "overseen").state == "paused"
        assert client.post("/operator/resume", json={"actor": "ops"}).status_code == 200
        assert invoke(client, "after-resume", "overseen") == (200, champion.version)

        override = client.post(
            "/operator/overrides",
            json={"request_id": "before-pause", "value": 0, "actor": "ops", "reason": "checked"},
        )
        assert override.status_code == 201, override.text
        unknown = client.post(
            "/operator/overrides",
            json={"request_id": "never-sent", "value": 0, "actor": "ops", "reason": "x"},
        )
        assert unknown.status_code == 404 and unknown.json()["field"] == "never-sent"
        (recorded,) = list_overrides(served.store, "overseen")
        assert (recorded.request_id, recorded.value, recorded.actor) == ("before-pause", 0, "ops")
        assert recorded.model_version == champion.version
        first_logged = read_inference_log(served.store, "overseen")[0]
        assert first_logged.request_id == "before-pause"
        assert recorded.original == first_logged.outputs
        kinds = [e["kind"] for e in deployment_events(served.store, "overseen")]
        assert kinds[-3:] == ["paused", "serving", "override"]


def test_operator_routes_behind_tokens_need_a_role_that_may_act(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    champion, _ = versions
    with serve(registered_model, "guarded", champion, guarded=True) as served:
        client, store = served.client, served.store
        tokens = {}
        for role in ("viewer", "developer", "approver"):
            add_user(store, f"{role}-1", role=role, password="a long enough secret", actor="t")
            tokens[role] = create_token(store, f"{role}-1", name="ops", actor="t").token

        def post(path: str, role: str | None, body: dict[str, object]) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            return client.post(path, json=body, headers=headers)

        assert invoke(client, "answered", "guarded") == (200, champion.version)
        assert post("/operator/pause", None, {"reason": "odd"}).status_code == 401
        refused = post("/operator/pause", "viewer", {"reason": "odd"})
        assert refused.status_code == 403 and "deployment.pause" in refused.json()["message"]
        assert get_deployment(store, "guarded").state == "serving"
        paused = post("/operator/pause", "developer", {"actor": "someone else", "reason": "odd"})
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert deployment_events(store, "guarded")[-1]["actor"] == "developer-1"
        assert post("/operator/resume", "developer", {}).status_code == 200

        override = {"request_id": "answered", "value": 0, "reason": "checked"}
        assert post("/operator/overrides", "developer", override).status_code == 403
        assert post("/operator/overrides", "approver", override).status_code == 201
        (recorded,) = list_overrides(store, "guarded")
        assert recorded.actor == "approver-1"
        denied = list_audit(store, outcome="denied")
        assert [(e.actor, e.action) for e in denied[:2]] == [
            ("developer-1", "deployment.override"),
            ("viewer-1", "deployment.pause"),
        ]


def test_a_pause_recorded_in_the_store_reaches_the_server_and_the_fallback_answers(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    champion, fallback = versions
    uri = f"models:/{MODEL_NAME}/{champion.version}"
    with serve(
        registered_model, "guarded", champion, fallback=fallback, follow={"champion": uri}
    ) as served:
        pause_deployment(served.store, "guarded", actor="cli-user", reason="incident 7")
        _wait_for(lambda: invoke(served.client, "x", "guarded")[1] == fallback.version)
        assert served.client.get("/v2/health/ready").status_code == 200  # fallback answers
        resume_deployment(served.store, "guarded", actor="cli-user")
        _wait_for(lambda: invoke(served.client, "y", "guarded")[1] == champion.version)
        roles = {r.request_id: r.role for r in read_inference_log(served.store, "guarded")}
        assert roles["x"] == "fallback" and roles["y"] == "champion"


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_a_challenger_alias_set_after_start_joins_the_canary_and_leaves_when_unset(
    registered_model: RegisteredModel, versions: tuple[ServedModel, ServedModel]
) -> None:
    settings = registered_model.settings
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    champion, challenger = versions
    follow = {
        "champion": f"models:/{MODEL_NAME}/{champion.version}",
        "challenger": f"models:/{MODEL_NAME}@next",
    }
    with serve(registered_model, "late", champion, follow=follow, split=0.5) as served:
        assert {invoke(served.client, f"a-{i}", "late")[1] for i in range(20)} == {champion.version}
        set_alias(client, MODEL_NAME, "next", challenger.version)
        _wait_for(lambda: served.client.get("/health").json()["served"][-1]["role"] == "challenger")
        seen = {invoke(served.client, f"b-{i}", "late")[1] for i in range(40)}
        assert seen == {champion.version, challenger.version}
        client.delete_registered_model_alias(MODEL_NAME, "next")
        _wait_for(lambda: len(served.client.get("/health").json()["served"]) == 1)
        assert {invoke(served.client, f"c-{i}", "late")[1] for i in range(20)} == {champion.version}
        kinds = [e["kind"] for e in deployment_events(served.store, "late")]
        assert kinds[-2:] == ["swapped", "unassigned"]
