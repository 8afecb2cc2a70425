"""``GET /api/datasets/{name}/diff`` on the demo's dataset: the same diff as ``iml4e data diff``,
and clear 4xx answers for unknown datasets and versions and for bad version numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient

from iml4e.data.catalog import get_dataset_version, list_dataset_versions
from iml4e.data.diff import diff_dataset_versions
from iml4e.server import create_platform_app
from iml4e.store import open_store
from tests.server.conftest import DEMO_PASSWORD, DemoPlatform


@pytest.fixture(scope="module")
def viewer_client(demo_platform: DemoPlatform) -> Iterator[TestClient]:
    with TestClient(create_platform_app(demo_platform.settings)) as client:
        logged = client.post("/api/login", json={"name": "viewer-user", "password": DEMO_PASSWORD})
        assert logged.status_code == 200
        yield client


def test_the_diff_of_the_drifted_version_is_the_clis(
    demo_platform: DemoPlatform, viewer_client: TestClient
) -> None:
    name = demo_platform.summary.dataset
    with open_store(demo_platform.settings) as store:
        versions = list_dataset_versions(store, name)
        reference = versions[0]
        drifted = next(v for v in versions if "drift=" in v.source)
        expected = diff_dataset_versions(
            get_dataset_version(store, name, reference.version),
            get_dataset_version(store, name, drifted.version),
        )
    answer = viewer_client.get(
        f"/api/datasets/{name}/diff",
        params={"base": reference.version, "other": drifted.version},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body == jsonable_encoder(asdict(expected))
    assert (body["before"], body["after"], body["same_content"]) == (
        reference.version,
        drifted.version,
        False,
    )
    shifts = {shift["column"]: shift for shift in body["shifts"]}
    assert shifts["purpose"]["new_categories"] == ["crypto"] and shifts["purpose"]["shifted"]
    assert shifts["income"]["missing_after"] > shifts["income"]["missing_before"]

    same = viewer_client.get(
        f"/api/datasets/{name}/diff", params={"base": drifted.version, "other": drifted.version}
    ).json()
    assert same["same_content"] is True and same["shifts"] == []


def test_unknown_datasets_and_versions_are_404(
    demo_platform: DemoPlatform, viewer_client: TestClient
) -> None:
    name = demo_platform.summary.dataset
    missing = viewer_client.get("/api/datasets/nowhere/diff", params={"base": 1, "other": 2})
    assert missing.status_code == 404
    assert missing.json() == {"error": "no dataset named 'nowhere'", "where": "nowhere"}
    no_version = viewer_client.get(f"/api/datasets/{name}/diff", params={"base": 1, "other": 99})
    assert no_version.status_code == 404
    assert no_version.json()["error"] == f"dataset {name!r} has no version 99"


@pytest.mark.parametrize(
    "params",
    [
        {"base": "0", "other": "1"},
        {"base": "one", "other": "1"},
        {"base": "1"},
        {"base": "1", "other": str(2**63)},
        {},
    ],
)
def test_bad_version_numbers_are_422(
    demo_platform: DemoPlatform, viewer_client: TestClient, params: dict[str, str]
) -> None:
    answer = viewer_client.get(f"/api/datasets/{demo_platform.summary.dataset}/diff", params=params)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "query"


def test_a_bad_dataset_name_is_400_and_no_login_401(demo_platform: DemoPlatform) -> None:
    with TestClient(create_platform_app(demo_platform.settings)) as client:
        anonymous = client.get("/api/datasets/x/diff", params={"base": 1, "other": 2})
        assert anonymous.status_code == 401
        client.post("/api/login", json={"name": "viewer-user", "password": DEMO_PASSWORD})
        bad = client.get("/api/datasets/bad name!/diff", params={"base": 1, "other": 2})
    assert bad.status_code == 400 and bad.json()["where"] == "name"
