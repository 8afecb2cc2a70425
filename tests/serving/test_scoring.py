"""Concurrent requests on a real model: batched answers match the pyfunc model, one bad
request gets its own 4xx, and every answer is in the inference log."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from starlette.testclient import TestClient

from iml4e.serving import read_inference_log
from iml4e.store import Store
from tests.serving.conftest import RegisteredModel, serve_champion

DEPLOYMENT = "tiny-scoring"


@pytest.fixture
def served(registered_model: RegisteredModel) -> Iterator[tuple[TestClient, Store]]:
    with serve_champion(registered_model, DEPLOYMENT) as served:
        yield served


@pytest.fixture
def rows(registered_model: RegisteredModel) -> pd.DataFrame:
    return registered_model.frame.drop(columns=["label"]).head(24)


def test_concurrent_requests_answer_like_the_pyfunc_model_and_are_logged(
    served: tuple[TestClient, Store], rows: pd.DataFrame, expected: list
) -> None:
    client, store = served
    records = rows.to_dict(orient="records")
    bad = 7
    bodies = [
        {"dataframe_records": [{**record, "x1": "high"} if i == bad else record]}
        for i, record in enumerate(records)
    ]

    def post(i: int) -> tuple[int, dict]:
        response = client.post(
            "/invocations", json=bodies[i], headers={"x-request-id": f"concurrent-{i}"}
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(len(bodies))))
    for i, (status, answer) in enumerate(answers):
        if i == bad:
            assert (status, answer["field"]) == (422, "x1")
        else:
            assert status == 200 and answer["predictions"] == [expected[i]]
    logged = {
        r.request_id: r
        for r in read_inference_log(store, DEPLOYMENT)
        if r.request_id.startswith("concurrent-")
    }
    assert set(logged) == {f"concurrent-{i}" for i in range(len(bodies)) if i != bad}
    assert logged["concurrent-3"].inputs == [records[3]]
    assert logged["concurrent-3"].outputs == [expected[3]]


def test_columns_in_any_order_are_matched_to_the_signature(
    served: tuple[TestClient, Store], rows: pd.DataFrame, expected: list
) -> None:
    client, _ = served
    columns = ["color", "x2", "x1"]
    body = {"dataframe_split": {"columns": columns, "data": rows[columns].values.tolist()}}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected
