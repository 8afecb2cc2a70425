"""Open Inference Protocol (KServe V2) routes and /metrics on a real registered model."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pandas as pd
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from iml4e.ports import find_free_port
from iml4e.serving import read_inference_log
from iml4e.serving.app import MAX_BODY_BYTES
from iml4e.serving.process import ModelServerProcess
from iml4e.serving.spec import ServeSpec
from iml4e.store import Store, open_store
from tests.serving.conftest import RegisteredModel, serve_champion

DEPLOYMENT = "tiny-v2"
INFER = f"/v2/models/{DEPLOYMENT}/infer"


@pytest.fixture
def served(registered_model: RegisteredModel) -> Iterator[tuple[TestClient, Store]]:
    with serve_champion(registered_model, DEPLOYMENT) as served:
        yield served


@pytest.fixture
def rows(registered_model: RegisteredModel) -> pd.DataFrame:
    return registered_model.frame.drop(columns=["label"]).head(5)


def column_tensors(rows: pd.DataFrame) -> list[dict]:
    return [
        {"name": "x1", "shape": [len(rows)], "datatype": "FP64", "data": rows.x1.tolist()},
        {"name": "x2", "shape": [len(rows), 1], "datatype": "FP64", "data": rows.x2.tolist()},
        {"name": "color", "shape": [len(rows)], "datatype": "BYTES", "data": rows.color.tolist()},
    ]


def test_health_server_and_model_metadata(
    served: tuple[TestClient, Store], registered_model: RegisteredModel
) -> None:
    client, _ = served
    version = registered_model.version
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}
    server = client.get("/v2").json()
    assert server["name"] == "iml4e" and server["version"] and server["extensions"] == []
    for path in (f"/v2/models/{DEPLOYMENT}", f"/v2/models/{DEPLOYMENT}/versions/{version}"):
        metadata = client.get(path).json()
        assert metadata["name"] == DEPLOYMENT
        assert metadata["versions"] == [version]
        assert metadata["platform"] == "mlflow_pyfunc"
        assert [(i["name"], i["datatype"], i["shape"]) for i in metadata["inputs"]] == [
            ("x1", "FP64", [-1]),
            ("x2", "FP64", [-1]),
            ("color", "BYTES", [-1]),
        ]
        assert metadata["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]
    by_model_name = client.get(f"/v2/models/{registered_model.name}/ready")
    assert by_model_name.json() == {"name": registered_model.name, "ready": True}
    assert client.get(f"/v2/models/{DEPLOYMENT}/versions/{version}/ready").status_code == 200


def test_unknown_model_or_version_is_404_with_a_v2_error(served: tuple[TestClient, Store]) -> None:
    client, _ = served
    for method, path in [
        ("GET", "/v2/models/other"),
        ("GET", "/v2/models/other/ready"),
        ("GET", f"/v2/models/{DEPLOYMENT}/versions/999"),
        ("POST", "/v2/models/other/infer"),
        ("POST", f"/v2/models/{DEPLOYMENT}/versions/999/infer"),
    ]:
        response = client.request(method, path, json={"inputs": []})
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_both_tensor_layouts_answer_like_the_pyfunc_model(
    served: tuple[TestClient, Store],
    registered_model: RegisteredModel,
    rows: pd.DataFrame,
    expected: list,
) -> None:
    client, _ = served
    per_column = client.post(INFER, json={"id": "call-1", "inputs": column_tensors(rows)})
    assert per_column.status_code == 200, per_column.text
    answer = per_column.json()
    assert answer["id"] == "call-1"
    assert answer["model_name"] == registered_model.name
    assert answer["model_version"] == registered_model.version
    assert answer["outputs"] == [
        {"name": "predict", "shape": [len(rows)], "datatype": "INT64", "data": expected}
    ]
    # one [N, 3] tensor in signature order; BYTES carries the mixed columns as text
    matrix = [[str(r.x1), str(r.x2), r.color] for r in rows.itertuples()]
    versioned = f"/v2/models/{DEPLOYMENT}/versions/{registered_model.version}/infer"
    body = {
        "inputs": [
            {"name": "input-0", "shape": [len(rows), 3], "datatype": "BYTES", "data": matrix}
        ]
    }
    as_matrix = client.post(versioned, json=body)
    assert as_matrix.status_code == 200, as_matrix.text
    assert as_matrix.json()["outputs"][0]["data"] == expected
    assert as_matrix.json()["id"] == as_matrix.headers["x-request-id"]


def test_v2_requests_are_in_the_inference_log(
    served: tuple[TestClient, Store], rows: pd.DataFrame, expected: list
) -> None:
    client, store = served
    response = client.post(
        INFER,
        json={"id": "logged-1", "inputs": column_tensors(rows)},
        headers={"x-iml4e-caller": "v2-suite"},
    )
    assert response.status_code == 200
    records = [r for r in read_inference_log(store, DEPLOYMENT) if r.request_id == "logged-1"]
    assert len(records) == 1
    record = records[0]
    assert record.protocol == "v2"
    assert record.caller == "v2-suite"
    assert record.outputs == expected
    assert record.inputs == rows.to_dict(orient="records")


def bad(name: str, shape: list, datatype: str, data: list) -> dict:
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}]}


GOOD = [
    {"name": "x1", "shape": [1], "datatype": "FP64", "data": [0.1]},
    {"name": "x2", "shape": [1], "datatype": "FP64", "data": [0.2]},
    {"name": "color", "shape": [1], "datatype": "BYTES", "data": ["red"]},
]


@pytest.mark.parametrize(
    ("content", "status", "field"),
    [
        (b"{nope", 400, "body"),
        (
            b'{"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [NaN]}]}',
            400,
            "x1",
        ),
        (bad("x1", [2], "FP64", [0.1]), 400, "x1"),  # shape against data length
        (bad("x1", [1], "FP64", ["high"]), 400, "x1"),  # a value against the datatype
        (bad("color", [1], "FP64", [1.0]), 400, "color"),  # datatype against the signature
        (
            {"inputs": [*GOOD, {"name": "zz", "shape": [1], "datatype": "FP64", "data": [1]}]},
            400,
            "zz",
        ),
        ({"inputs": GOOD[:2]}, 400, "color"),  # a missing column
        (bad("m", [1, 2], "FP64", [0.1, 0.2]), 400, "m"),  # matrix of the wrong width
        ({"inputs": "x"}, 400, "inputs"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    served: tuple[TestClient, Store], content: bytes | dict, status: int, field: str
) -> None:
    client, _ = served
    if isinstance(content, dict):
        response = client.post(INFER, json=content)
    else:
        response = client.post(INFER, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"].startswith(f"{field}: "), response.json()


def test_transport_level_bad_input(served: tuple[TestClient, Store]) -> None:
    client, _ = served
    wrong_type = client.post(INFER, content=b"x1", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"].startswith("content-type: ")
    too_big = client.post(
        INFER, content=b" " * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"].startswith("body: ")
    binary = client.post(INFER, content=b"{}", headers={"inference-header-content-length": "2"})
    assert binary.status_code == 400
    assert binary.json()["error"].startswith("inference-header-content-length: ")


def test_a_body_without_content_type_is_read_as_json(
    served: tuple[TestClient, Store], rows: pd.DataFrame, expected: list
) -> None:
    """Triton's HTTP client posts JSON without a content type."""
    client, _ = served
    request = client.build_request(
        "POST", INFER, content=orjson.dumps({"inputs": column_tensors(rows)})
    )
    assert "content-type" not in request.headers
    response = client.send(request)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == expected


def scrape(client: TestClient) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_rows_and_labels(
    served: tuple[TestClient, Store],
    registered_model: RegisteredModel,
    rows: pd.DataFrame,
    expected: list,
) -> None:
    client, _ = served
    version = registered_model.version
    route = "/v2/models/{name}/infer"

    def requests(status: int) -> float:
        labels = {"route": route, "status": str(status), "model_version": version}
        return before_or_after.get(("iml4e_requests_total", frozenset(labels.items())), 0.0)

    before_or_after = before = scrape(client)
    ok_before, bad_before = requests(200), requests(400)
    assert client.post(INFER, json={"inputs": column_tensors(rows)}).status_code == 200
    assert client.post(INFER, json={"inputs": column_tensors(rows)}).status_code == 200
    assert client.post(INFER, json=bad("x1", [2], "FP64", [0.1])).status_code == 400
    before_or_after = after = scrape(client)
    assert requests(200) - ok_before == 2
    assert requests(400) - bad_before == 1

    def delta(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("iml4e_batch_rows_count") == 2
    assert delta("iml4e_batch_rows_sum") == 2 * len(rows)
    assert delta("iml4e_request_latency_seconds_count", route=route) == 3
    for label in set(expected):
        assert delta(
            "iml4e_predictions_total", model_version=version, prediction=str(label)
        ) == 2 * expected.count(label)
    info = (
        "iml4e_model_info",
        frozenset(
            {
                "model_name": registered_model.name,
                "model_version": version,
                "role": "champion",
            }.items()
        ),
    )
    assert after[info] == 1
    for name, labels in (
        ("iml4e_request_latency_seconds", {"route": route}),
        ("iml4e_batch_rows", {}),
    ):
        buckets = sorted(
            (float(dict(key[1])["le"]), value)
            for key, value in after.items()
            if key[0] == f"{name}_bucket" and {k: v for k, v in key[1] if k != "le"} == labels
        )
        counts = [value for _, value in buckets]
        assert buckets[-1][0] == float("inf")
        assert counts == sorted(counts)
        count_labels = frozenset(labels.items())
        assert counts[-1] == after[(f"{name}_count", count_labels)]


@pytest.mark.slow
def test_v2_over_real_http(
    registered_model: RegisteredModel, rows: pd.DataFrame, expected: list
) -> None:
    port = find_free_port()
    with ModelServerProcess(
        registered_model.settings,
        ServeSpec(f"models:/{registered_model.name}@champion", deployment="tiny-v2-http"),
        host="127.0.0.1",
        port=port,
    ) as server:
        assert httpx.get(f"{server.url}/v2/health/ready").json() == {"ready": True}
        answer = httpx.post(
            f"{server.url}/v2/models/tiny-v2-http/infer", json={"inputs": column_tensors(rows)}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["outputs"][0]["data"] == expected
        refused = httpx.post(
            f"{server.url}/v2/models/tiny-v2-http/infer", json=bad("x1", [2], "FP64", [0.1])
        )
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("x1: ")
        metrics = httpx.get(f"{server.url}/metrics").text
        families = {family.name for family in text_string_to_metric_families(metrics)}
        assert {"iml4e_requests", "iml4e_predictions", "iml4e_model_info"} <= families


@pytest.mark.slow
def test_two_workers_answer_and_log_every_request(
    registered_model: RegisteredModel, rows: pd.DataFrame, expected: list
) -> None:
    port = find_free_port()
    with ModelServerProcess(
        registered_model.settings,
        ServeSpec(f"models:/{registered_model.name}@champion", deployment="tiny-two-workers"),
        host="127.0.0.1",
        port=port,
        workers=2,
    ) as server:
        parent = psutil.Process(server.pid)
        workers = [p for p in parent.children(recursive=True) if "python" in p.name()]
        assert len(workers) >= 2
        body = {"inputs": column_tensors(rows)}
        url = f"{server.url}/v2/models/tiny-two-workers/infer"
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: httpx.post(url, json=body, timeout=30), range(40)))
    assert all(answer.status_code == 200 for answer in answers)
    assert all(answer.json()["outputs"][0]["data"] == expected for answer in answers)
    store = open_store(registered_model.settings)
    try:
        logged = read_inference_log(store, "tiny-two-workers")
    finally:
        store.close()
    assert len(logged) == 40
    assert {record.request_id for record in logged} == {answer.json()["id"] for answer in answers}
