"""Live data quality over real inference-log records and small frames."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iml4e.monitoring.errors import ReferenceMismatch
from iml4e.monitoring.quality import (
    META_COLUMNS,
    ColumnExpectation,
    SchemaViolation,
    inputs_frame,
    live_quality,
)
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log
from iml4e.store import Store

EXPECTED = {
    "age": ColumnExpectation("numeric", min=18, max=100),
    "income": ColumnExpectation("numeric", min=0, required=False),
    "color": ColumnExpectation("categorical", categories=frozenset({"red", "green", "blue"})),
}


def record(request_id: str, rows: list[dict], outputs: list, role: str = "champion"):
    return InferenceRecord(
        request_id, time.time(), "d", "m", "3", "mlflow", rows, outputs, 1.0, role=role
    )


def test_missing_out_of_range_and_unseen_values_are_counted() -> None:
    frame = pd.DataFrame(
        {
            "age": [17, 30, None, 101, 50, 40],
            "income": [1.0, -5.0, 3.0, None, None, 2.0],
            "color": ["red", "purple", None, "purple", "green", "teal"],
        }
    )
    report = live_quality(EXPECTED, frame)
    assert report.n_rows == 6 and report.reason is None and report.violations == []
    age = report.columns["age"]
    assert (age.missing_count, age.out_of_range_count) == (1, 2)
    assert age.missing_rate == pytest.approx(1 / 6)
    assert age.out_of_range_share == pytest.approx(2 / 5)
    income = report.columns["income"]
    assert (income.out_of_range_count, income.missing_count) == (1, 2)
    color = report.columns["color"]
    assert color.unseen_count == 3 and color.unseen_share == pytest.approx(3 / 5)
    assert color.unseen_categories == ["purple", "teal"]


def test_schema_violations_name_the_columns() -> None:
    frame = pd.DataFrame(
        {
            "age": [20, "twenty", 30, "n/a", None],
            "color": ["red", {"r": 1}, "blue", "red", "red"],
            "extra": [1, 2, 3, 4, 5],
            "request_id": ["a", "b", "c", "d", "e"],
        }
    )
    expected = {**EXPECTED, "zip": ColumnExpectation("categorical")}
    report = live_quality(expected, frame)
    violations = {(v.column, v.kind): v for v in report.violations}
    assert set(violations) == {
        ("extra", "unexpected"),
        ("zip", "missing_required"),
        ("age", "wrong_type"),
        ("color", "wrong_type"),
    }
    assert violations["age", "wrong_type"] == SchemaViolation(
        "age", "wrong_type", 2, ["twenty", "n/a"]
    )
    assert report.columns["age"].out_of_range_count == 0
    assert report.columns["age"].wrong_type_count == 2
    assert report.columns["color"].wrong_type_count == 1
    assert not report.columns["income"].present  # optional: absent is no violation
    assert report.columns["income"].missing_rate == 1.0


def test_an_empty_window_is_a_report_with_a_reason() -> None:
    report = live_quality(EXPECTED, inputs_frame([]))
    assert report.n_rows == 0 and report.columns == {}
    assert report.reason == "no rows in the window"


def test_inputs_frame_from_a_real_log_feeds_live_quality(store: Store, tmp_path: Path) -> None:
    writer = InferenceLogWriter(store, tmp_path / "log", "d")
    writer.append(record("a", [{"age": 30, "color": "red"}], [1]))
    writer.append(record("b", [{"age": 12, "color": "red"}, {"age": 40, "color": "pink"}], [0, 1]))
    writer.append(
        record("b", [{"age": 12, "color": "red"}, {"age": 40, "color": "pink"}], [1, 1], "shadow")
    )
    writer.append(record("c", [{"age": 50, "color": "blue"}], [1, 0]))  # outputs do not line up
    writer.close()
    frame = inputs_frame(read_inference_log(store, "d"))
    assert list(frame.columns) == ["age", "color", *META_COLUMNS]
    assert frame["request_id"].tolist() == ["a", "b", "b", "c"]
    assert frame["prediction"].tolist() == [1, 0, 1, None]
    assert set(frame["role"]) == {"champion"} and set(frame["model_version"]) == {"3"}
    report = live_quality(EXPECTED, frame)
    assert [v.column for v in report.violations] == []
    assert report.columns["age"].out_of_range_count == 1
    assert report.columns["color"].unseen_categories == ["pink"]
    assert len(inputs_frame(read_inference_log(store, "d"), include_shadow=True)) == 6


def test_an_input_named_like_a_meta_column_is_refused() -> None:
    with pytest.raises(ReferenceMismatch) as raised:
        inputs_frame([record("a", [{"timestamp": 1}], [1])])
    assert raised.value.where == "timestamp"


def test_inputs_frame_of_a_million_rows_is_quick() -> None:
    rows = [{"age": float(i % 90), "color": "red" if i % 2 else "blue"} for i in range(1000)]
    records = [record(f"r{i}", rows, [1] * 1000) for i in range(1000)]
    started = time.perf_counter()
    frame = inputs_frame(records)
    report = live_quality(EXPECTED, frame)
    elapsed = time.perf_counter() - started
    assert len(frame) == 1_000_000
    assert report.columns["age"].out_of_range_count == sum(r["age"] < 18 for r in rows) * 1000
    assert np.isclose(report.columns["color"].unseen_share, 0.0)
    assert elapsed < 20, f"a million rows took {elapsed:.1f}s"
