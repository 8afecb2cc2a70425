"""The UI page benchmark finds every page and fills its parameters; the bulk seeding writes
through the rooms' APIs (tiny sizes, a fresh home without the demo)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from iml4e.platform import initialize
from iml4e.serving.deployments import record_deployment
from iml4e.serving.inference_log import inference_segments, read_inference_log
from iml4e.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from seed_large_store import (
    SeededHome,
    Sizes,
    add_inference_requests,
    add_pipeline_runs,
    home_settings,
)
from ui_pages import discover_pages, fill_path

FACTS = {
    "deployment": "credit-default",
    "model": "credit-default",
    "model_version": "100",
    "dataset": "credit-applications",
    "dataset_version": 2,
    "pipeline_run_id": "abc123",
    "pipeline": "bench_pipeline",
    "system": "credit-scoring",
    "assessment_id": 7,
}


@pytest.mark.parametrize(
    ("route", "url"),
    [
        ("/ui/deployments/{name}", "/ui/deployments/credit-default"),
        ("/ui/models/{name}", "/ui/models/credit-default"),
        ("/ui/models/{name}/versions/{version}", "/ui/models/credit-default/versions/100"),
        ("/ui/models/{name}/{version}", "/ui/models/credit-default/100"),
        ("/ui/datasets/{name}/{version}", "/ui/datasets/credit-applications/2"),
        ("/ui/pipelines/{run_id}", "/ui/pipelines/abc123"),
        ("/ui/pipelines/runs/{id}", "/ui/pipelines/runs/abc123"),
        ("/ui/compliance/{system}", "/ui/compliance/credit-scoring"),
        ("/ui/monitoring/{name}", "/ui/monitoring/credit-default"),
        ("/ui/models/{name}/aliases/{alias}", "/ui/models/credit-default/aliases/champion"),
        ("/ui/systems/{name}/assessments/{id}", "/ui/systems/credit-scoring/assessments/7"),
    ],
)
def test_path_parameters_are_filled_from_the_seeded_store(route: str, url: str) -> None:
    assert fill_path(route, FACTS) == (url, None)


def test_a_parameter_it_cannot_fill_is_named() -> None:
    assert fill_path("/ui/scheduler/jobs/{job}", FACTS) == (None, "job")


def test_pages_are_discovered_from_the_platform_app(tmp_path: Path) -> None:
    seeded = SeededHome(home_settings(tmp_path), Sizes(), FACTS)
    pages = {page.route: page for page in discover_pages(seeded)}
    assert "/ui/" in pages and "/ui/audit" in pages
    assert pages["/ui/deployments/{name}"].url == "/ui/deployments/credit-default"
    assert all(route.startswith("/ui") for route in pages)
    assert "/ui/deployments/{name}/pause" not in pages  # a POST route is not a page


def test_bulk_seeding_writes_through_the_rooms(tmp_path: Path) -> None:
    settings = home_settings(tmp_path)
    initialize(settings)
    with open_store(settings) as store:
        record_deployment(
            store, "credit-default", model_name="m", model_version="1", url=None, actor="t"
        )
        assert add_pipeline_runs(settings, store, 3, log=lambda line: None) == ["bench_pipeline"]
        add_inference_requests(settings, store, 250, log=lambda line: None)
        from iml4e.pipelines.records import list_runs

        runs = list_runs(store, pipeline="bench_pipeline")
        assert len(runs) == 3
        assert all(len(run.steps) == 3 and run.mlflow_run_id for run in runs)
        assert sum(s.n_records for s in inference_segments(store, "credit-default")) == 250
        assert len(read_inference_log(store, "credit-default")) == 250
