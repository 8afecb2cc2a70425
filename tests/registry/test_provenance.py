"""A model version's lineage through the API and ``iml4e model show NAME VERSION``."""

from __future__ import annotations

import json
from collections.abc import Callable

from iml4e.config import Settings
from iml4e.data.catalog import get_dataset_version
from iml4e.pipelines import run_pipeline
from iml4e.registry import version_lineage
from tests.conftest import run_iml4e_here
from tests.pipelines import lineage_sample
from tests.registry.conftest import open_registry

TOY = "toy-model"  # the model lineage_sample.toy records (it does not register it itself)


def test_a_version_leads_back_to_its_run_steps_and_dataset(
    make_settings: Callable[..., Settings],
) -> None:
    registry = open_registry(make_settings(user="alice"))
    try:
        assert registry.add_version({"roc_auc": 0.8}, name=TOY) == "1"
        registry.add_version({"roc_auc": 0.7}, name=TOY)
        registry.add_version({}, name='it\'s "odd"')
        run = run_pipeline(lineage_sample.toy, {"tag": "1"}, settings=registry.settings)
        dataset = get_dataset_version(registry.store, "toy", 1)
        lineage = version_lineage(registry.store, TOY, "1")
        assert version_lineage(registry.store, TOY, "2") is None
    finally:
        registry.store.close()

    assert lineage is not None
    assert lineage.pipeline_run_ids == (run.run_id,)
    assert {step.name for step in lineage.steps} == {"load", "version", "fit", "publish"}
    assert [(d.name, d.version, d.content_hash) for d in lineage.datasets] == [
        ("toy", 1, dataset.content_hash)
    ]

    home = str(registry.settings.home)
    shown = run_iml4e_here("--home", home, "model", "show", TOY, "1", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["version"], data["metrics"]) == ("1", {"roc_auc": 0.8})
    assert data["lineage"]["pipeline_run_ids"] == [run.run_id]
    assert data["lineage"]["datasets"][0]["content_hash"] == dataset.content_hash
    assert data["lineage"]["graph"]["root"] == f"model:{TOY}@1"
    assert [event["kind"] for event in data["history"]] == ["registered"]

    text = run_iml4e_here("--home", home, "model", "show", TOY, "1")
    assert text.returncode == 0, text.stderr
    assert f"model {TOY}@1 — made from" in text.stdout
    assert f"dataset toy@1: content {dataset.content_hash}, 20 rows" in text.stdout
    assert f"pipeline runs: {run.run_id}" in text.stdout

    unlinked = json.loads(
        run_iml4e_here("--home", home, "model", "show", TOY, "2", "--json").stdout
    )
    assert unlinked["lineage"] is None
    quoted = run_iml4e_here("--home", home, "model", "show", 'it\'s "odd"', "--json")
    assert quoted.returncode == 0, quoted.stderr
    assert [v["version"] for v in json.loads(quoted.stdout)["versions"]] == ["1"]

    for args in (("show", "team/model"), ("promote", "../policies", "1")):
        refused = run_iml4e_here("--home", home, "model", *args)
        assert refused.returncode == 2, refused.stderr
        assert "cannot contain '/' or ':'" in refused.stderr
