"""The platform app in-process: health, landing page, OpenAPI, and MLflow when it is absent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from iml4e import __version__
from iml4e.config import Settings
from iml4e.server import create_platform_app
from iml4e.store import open_store
from tests.server.helpers import free_port


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings whose MLflow port has nothing listening, on a migrated SQLite store."""
    built = make_settings(mlflow_port=free_port())
    open_store(built).close()
    return built


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_platform_app(settings)) as running:
        yield running


def test_health_reports_the_database_and_mlflow(client: TestClient, settings: Settings) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "database": "ok",
        "mlflow": {"url": f"http://127.0.0.1:{settings.mlflow_port}", "ready": False},
    }


def test_landing_page_links_health_docs_and_mlflow(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for link in ('href="/health"', 'href="/docs"', 'href="/mlflow/"'):
        assert link in response.text


def test_openapi_describes_health(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert "/health" in schema["paths"]
    assert not any(path.startswith("/mlflow") for path in schema["paths"])


def test_mlflow_without_slash_redirects_into_the_proxy(client: TestClient) -> None:
    response = client.get("/mlflow?x=1", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"] == "/mlflow/?x=1"


def test_mlflow_proxy_says_when_mlflow_is_not_reachable(
    client: TestClient, settings: Settings
) -> None:
    response = client.get("/mlflow/health")

    assert response.status_code == 502
    assert f"127.0.0.1:{settings.mlflow_port}" in response.json()["detail"]


def test_metrics_export_each_deployments_newest_monitoring_values(
    client: TestClient, settings: Settings
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from iml4e.monitoring.reports import add_report

    with open_store(settings) as store:
        for share in (0.1, 0.4):  # the newer report wins
            add_report(
                store,
                deployment="credit",
                window_start=None,
                window_end=None,
                n_rows=10,
                model_versions=["1"],
                drift={"drift_share": share},
                quality={},
                performance={},
                metrics={"drift.share": share, "rows": 10.0},
                skipped=[],
            )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = {
        (sample.name, sample.labels.get("metric")): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.labels.get("deployment") == "credit"
    }
    assert values[("iml4e_monitor_value", "drift.share")] == 0.4
    assert values[("iml4e_monitor_value", "rows")] == 10.0
