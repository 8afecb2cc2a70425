"""The model server app on a real registered model, in process: protocols, errors, logging."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from iml4e.serving import read_inference_log
from iml4e.serving.app import MAX_BODY_BYTES
from iml4e.serving.errors import ModelLoadError
from iml4e.serving.served_model import load_served_model
from iml4e.store import Store
from tests.serving.conftest import RegisteredModel, serve_champion

DEPLOYMENT = "tiny"


@pytest.fixture
def served(registered_model: RegisteredModel) -> Iterator[tuple[TestClient, Store]]:
    with serve_champion(registered_model, DEPLOYMENT) as served:
        yield served


def test_all_protocols_answer_like_the_pyfunc_model(
    served: tuple[TestClient, Store], registered_model: RegisteredModel
) -> None:
    client, _ = served
    import mlflow.pyfunc

    frame = registered_model.frame.drop(columns=["label"]).head(6)
    expected = (
        mlflow.pyfunc.load_model(f"models:/{registered_model.name}/{registered_model.version}")
        .predict(frame)
        .tolist()
    )
    records = frame.to_dict(orient="records")
    bodies = [
        ("/invocations", {"dataframe_split": frame.to_dict(orient="split") | {"index": None}}),
        ("/invocations", {"dataframe_records": records}),
        ("/invocations", {"instances": records}),
        ("/invocations", {"inputs": frame.values.tolist()}),
        (f"/v1/models/{DEPLOYMENT}:predict", {"instances": records}),
    ]
    for path, body in bodies:
        body.get("dataframe_split", {}).pop("index", None)
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == expected
        assert response.headers["x-request-id"]


def test_every_answer_is_in_the_inference_log(served: tuple[TestClient, Store]) -> None:
    client, store = served
    ids = []
    for i in range(5):
        response = client.post(
            "/invocations",
            json={"dataframe_records": [{"x1": float(i), "x2": 0.0, "color": "red"}]},
            headers={"x-request-id": f"req-{i}", "x-iml4e-caller": "test-suite"},
        )
        assert response.status_code == 200
        ids.append(response.headers["x-request-id"])
    assert ids == [f"req-{i}" for i in range(5)]
    records = {r.request_id: r for r in read_inference_log(store, DEPLOYMENT)}
    for i in range(5):
        record = records[f"req-{i}"]
        assert record.inputs == [{"x1": float(i), "x2": 0.0, "color": "red"}]
        assert record.caller == "test-suite"
        assert record.model_name == "tiny-classifier"
        assert record.latency_ms > 0
        assert len(record.outputs) == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"dataframe_records": [{"x1": 1.0, "x2": 0.0}]}, 400, "color"),
        ({"dataframe_records": [{"x1": 1.0, "x2": 0.0, "color": "red", "zz": 1}]}, 400, "zz"),
        ({"dataframe_records": [{"x1": "high", "x2": 0.0, "color": "red"}]}, 422, "x1"),
        ({"dataframe_records": [{"x1": 1.0, "x2": 0.0, "color": 7}]}, 422, "color"),
        ({"instances": [[1.0, 2.0]]}, 400, "instances[0]"),
        ({"rows": []}, 400, "body"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    served: tuple[TestClient, Store], body: dict, status: int, field: str
) -> None:
    client, _ = served
    response = client.post("/invocations", json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert response.json()["message"]


def test_transport_level_bad_input(served: tuple[TestClient, Store]) -> None:
    client, _ = served
    not_json = client.post(
        "/invocations", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    wrong_type = client.post("/invocations", content=b"x1,x2", headers={"content-type": "text/csv"})
    assert wrong_type.status_code == 415
    too_big = client.post(
        "/invocations",
        content=b" " * (MAX_BODY_BYTES + 1),
        headers={"content-type": "application/json"},
    )
    assert too_big.status_code == 413
    unknown_model = client.post("/v1/models/other:predict", json={"instances": []})
    assert unknown_model.status_code == 404


def test_unknown_model_uri_is_bad_input(registered_model: RegisteredModel) -> None:
    with pytest.raises(ModelLoadError):
        load_served_model(registered_model.settings, "models:/no-such-model@champion")
    with pytest.raises(ModelLoadError):
        load_served_model(registered_model.settings, "runs:/abc/model")
