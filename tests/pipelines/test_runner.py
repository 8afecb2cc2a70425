"""Running pipelines for real: artifacts, caching, retries, timeouts, failures, resume, MLflow."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from iml4e.config import Settings
from iml4e.pipelines import StepFailed, get_run, list_runs, resume_pipeline, run_pipeline
from iml4e.pipelines.artifacts import artifact_store_for
from iml4e.store import open_store
from tests.pipelines import sample_pipelines as sample


def _client(settings: Settings) -> MlflowClient:
    return MlflowClient(
        tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_registry_uri
    )


def test_outputs_are_stored_by_content_and_recorded(backend_settings: Settings) -> None:
    result = run_pipeline(sample.branching, {"rows": 10}, settings=backend_settings)
    assert result.status == "succeeded"
    assert [step.status for step in result.record.steps] == ["succeeded"] * 6
    assert result.output("total") == {"total": float(sum(range(10)))}
    frame = result.output("make_frame")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 10
    assert isinstance(result.output("as_array"), np.ndarray)
    halve = result.step("halve")
    assert set(halve.outputs) == {"left", "right"}
    assert halve.inputs["frame"] == result.step("make_frame").outputs["output"]
    ref = result.step("make_frame").outputs["output"]
    assert ref.serializer == "parquet"
    store = artifact_store_for(backend_settings.artifact_location_uri)
    assert store.exists(ref)
    assert result.step("total").logs and "adding" in result.step("total").logs


def test_second_run_is_answered_from_the_cache(backend_settings: Settings) -> None:
    first = run_pipeline(sample.branching, {"rows": 8}, settings=backend_settings)
    second = run_pipeline(sample.branching, {"rows": 8}, settings=backend_settings)
    assert [step.status for step in second.record.steps] == ["cached"] * 6
    assert second.record.cache_hits == 6
    assert second.step("total").cached_from == first.step("total").id
    assert second.output("total") == first.output("total")
    # Nothing ran, so nothing new is logged to MLflow: it holds the runs that computed it.
    assert second.record.mlflow_run_id is None and second.experiment_id is None
    assert first.record.mlflow_run_id is not None
    # A changed parameter invalidates that step and everything below it, nothing else.
    third = run_pipeline(sample.branching, {"rows": 8, "seed": 1}, settings=backend_settings)
    statuses = {step.name: step.status for step in third.record.steps}
    assert statuses["make_frame"] == "succeeded"
    # y = arange(rows) is the same, so sums match and `total` is cached on its inputs' hashes
    assert statuses["total"] == "cached"
    assert statuses["as_array"] == "succeeded"


def test_no_cache_runs_everything_or_the_named_steps(backend_settings: Settings) -> None:
    run_pipeline(sample.branching, settings=backend_settings)
    again = run_pipeline(sample.branching, settings=backend_settings, cache=False)
    assert {step.status for step in again.record.steps} == {"succeeded"}
    partial = run_pipeline(sample.branching, settings=backend_settings, no_cache_steps=["halve"])
    statuses = {step.name: step.status for step in partial.record.steps}
    assert statuses["halve"] == "succeeded"
    assert statuses["make_frame"] == "cached"
    assert statuses["column_sum"] == "cached"  # halve's outputs have the same bytes


def test_failed_step_fails_the_run_keeps_traceback_and_output(make_settings) -> None:
    settings = make_settings()
    with pytest.raises(StepFailed) as caught:
        run_pipeline(sample.failing, settings=settings)
    assert caught.value.step == "explode"
    assert "ValueError: boom" in str(caught.value)
    store = open_store(settings)
    record = get_run(store, caught.value.run_id)
    store.close()
    assert record.status == "failed"
    steps = {step.name: step for step in record.steps}
    assert steps["explode"].status == "failed"
    assert (
        "Traceback" in steps["explode"].error
        and "raise ValueError(message)" in steps["explode"].error
    )
    assert "about to fail" in steps["explode"].logs
    assert steps["total"].status == "skipped"
    assert steps["make_frame"].status == "succeeded"


def test_resume_reruns_from_the_failed_step(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    marker = tmp_path / "marker"
    # Fails once with no retries, so the first run fails at `flaky`.
    with pytest.raises(StepFailed) as caught:
        run_pipeline(
            sample.retrying_without_retries,
            {"marker": str(marker), "rows": 6},
            settings=settings,
        )
    resumed = resume_pipeline(caught.value.run_id[:10], settings=settings)
    statuses = {step.name: step.status for step in resumed.record.steps}
    assert statuses == {"make_frame": "reused", "flaky": "succeeded", "take": "succeeded"}
    assert resumed.record.resumed_from == caught.value.run_id
    assert resumed.output("take") == 6 + 2


def test_retries_with_backoff_then_success(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    marker = tmp_path / "marker"
    result = run_pipeline(
        sample.retrying, {"marker": str(marker), "failures": 2}, settings=settings
    )
    assert result.output("flaky") == 3
    assert result.step("flaky").attempts == 3
    assert marker.read_text() == "3"


def test_retries_exhausted_fail_with_the_last_error(make_settings, tmp_path: Path) -> None:
    settings = make_settings()
    with pytest.raises(StepFailed, match="attempt 4 fails after 4 attempts"):
        run_pipeline(
            sample.retrying, {"marker": str(tmp_path / "m"), "failures": 9}, settings=settings
        )


def test_timeout_fails_the_attempt_promptly(make_settings) -> None:
    settings = make_settings()
    started = time.perf_counter()
    with pytest.raises(StepFailed, match=r"ran longer than 0\.5 s"):
        run_pipeline(sample.slow, {"seconds": 30.0}, settings=settings)
    assert time.perf_counter() - started < 10


def test_unserializable_and_mistyped_outputs_fail_the_step_clearly(make_settings) -> None:
    settings = make_settings()
    with pytest.raises(StepFailed, match="output 'output' cannot be stored") as caught:
        run_pipeline(sample.unstorable, settings=settings)
    assert caught.value.step == "not_storable"
    with pytest.raises(StepFailed, match="returned str, but the step declares int"):
        run_pipeline(sample.lying, settings=settings)
    store = open_store(settings)
    assert [run.status for run in list_runs(store)] == ["failed", "failed"]
    store.close()


def test_independent_branches_run_at_the_same_time(make_settings) -> None:
    settings = make_settings()
    started = time.perf_counter()
    result = run_pipeline(
        sample.parallel, {"branches": 4, "seconds": 0.5}, settings=settings, executor="local:4"
    )
    elapsed = time.perf_counter() - started
    starts = sorted(result.output(f"sleep_then{suffix}") for suffix in ("", "_2", "_3", "_4"))
    assert starts[-1] - starts[0] < 0.4  # all four started before the first could finish
    assert elapsed < 4 * 0.5 + 1.5


def test_pipeline_is_an_mlflow_parent_run_with_nested_step_runs(make_settings) -> None:
    settings = make_settings()
    result = run_pipeline(sample.branching, {"rows": 10}, settings=settings)
    client = _client(settings)
    parent = client.get_run(result.record.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"rows": "10", "seed": "0"}
    assert parent.data.metrics["sum_y"] in (10.0, 35.0)  # one of the two halves, last written
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    assert sorted(run.info.run_name for run in children) == sorted(
        step.name for step in result.record.steps
    )
    by_name = {run.info.run_name: run for run in children}
    assert by_name["column_sum"].data.metrics == {"sum_y": 10.0}
    assert by_name["make_frame"].data.params == {"rows": "10", "seed": "0"}
    left = result.step("total").inputs["left"].content_hash
    assert by_name["total"].data.tags["iml4e.input.left"] == left
    assert {step.mlflow_run_id for step in result.record.steps} == {
        run.info.run_id for run in children
    }


def test_timeout_does_not_count_time_spent_waiting_for_a_thread(make_settings) -> None:
    # One thread: the second step waits 1.2 s for it, then runs 1.2 s of its 2.0 s. Counted
    # from submission it would need 2.4 s and fail; the 0.8 s left over absorbs a busy machine.
    result = run_pipeline(
        sample.queued,
        {"seconds": 1.2, "timeout": 2.0},
        settings=make_settings(),
        executor="local:1",
    )
    assert [step.status for step in result.record.steps] == ["succeeded", "succeeded"]
