"""Lineage both ways: from a model to its data and code, from data to every model."""

from __future__ import annotations

import pytest

from iml4e.config import Settings
from iml4e.pipelines import run_pipeline
from iml4e.pipelines.lineage import UnknownLineageTarget, trace_lineage
from iml4e.store import open_store
from tests.pipelines import lineage_sample


def test_model_leads_back_to_dataset_version_and_code(backend_settings: Settings) -> None:
    result = run_pipeline(lineage_sample.toy, settings=backend_settings)
    cached = run_pipeline(lineage_sample.toy, settings=backend_settings)
    assert cached.record.cache_hits == 4
    store = open_store(backend_settings)
    try:
        graph = trace_lineage(store, "toy-model@1", direction="upstream")
    finally:
        store.close()
    assert graph.root == "model:toy-model@1"
    assert [node.label for node in graph.of_kind("dataset")] == ["toy@1"]
    steps = {node.details["name"]: node for node in graph.of_kind("step")}
    assert set(steps) == {"load", "version", "fit", "publish"}
    # The walk stays with the run that made the model, not the cached copies of its steps.
    assert {node.details["pipeline_run_id"] for node in graph.of_kind("step")} == {result.run_id}
    assert steps["fit"].details["code_hash"] == lineage_sample.fit.code_hash
    assert steps["fit"].details["cache_key"] == result.step("fit").cache_key
    assert steps["fit"].details["step_ref"] == "tests.pipelines.lineage_sample:fit"
    assert steps["fit"].details["params"] == {"scale": 1.0}
    dataset_id = graph.of_kind("dataset")[0].id
    assert graph.upstream_of(steps["fit"].id).count(dataset_id) == 1
    assert any(edge.relation == "registered" for edge in graph.edges)


def test_dataset_leads_forward_to_every_model_trained_on_it(make_settings) -> None:
    settings = make_settings()
    run_pipeline(lineage_sample.toy, {"tag": "1"}, settings=settings)
    run_pipeline(lineage_sample.toy, {"tag": "2", "scale": 2.0}, settings=settings)
    run_pipeline(lineage_sample.toy, {"rows": 30, "tag": "3"}, settings=settings)
    store = open_store(settings)
    try:
        forward = trace_lineage(store, "dataset:toy@1", direction="downstream")
        models = sorted(node.label for node in forward.of_kind("model"))
        other = trace_lineage(store, "dataset:toy@2", direction="downstream")
        artifact = next(n for n in forward.of_kind("artifact"))
        by_hash = trace_lineage(store, f"artifact:{artifact.details['content_hash'][:10]}")
    finally:
        store.close()
    assert models == ["toy-model@1", "toy-model@2"]  # run 2 reused the cached dataset
    assert sorted(node.label for node in other.of_kind("model")) == ["toy-model@3"]
    assert by_hash.root == f"artifact:{artifact.details['content_hash']}"
    assert by_hash.of_kind("step")


def test_unknown_targets_are_clear_errors(make_settings) -> None:
    store = open_store(make_settings())
    try:
        with pytest.raises(UnknownLineageTarget) as caught:
            trace_lineage(store, "nothing@1")
        assert caught.value.where == "nothing@1"
        with pytest.raises(UnknownLineageTarget, match="at least 8 characters"):
            trace_lineage(store, "artifact:abc")
        with pytest.raises(UnknownLineageTarget, match="no pipeline step registered"):
            trace_lineage(store, "model:nothing@1")
    finally:
        store.close()
