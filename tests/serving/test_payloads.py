"""Request bodies of every protocol become the same rows; bad ones name the field."""

from __future__ import annotations

import pandas as pd
import pytest

from iml4e.serving.errors import PayloadError
from iml4e.serving.payloads import ParsedRows, parse_invocations, parse_kserve_v1

COLUMNS = ["x1", "x2", "color"]
EXPECTED = pd.DataFrame({"x1": [1.0, 2.0], "x2": [0.5, -0.5], "color": ["red", "blue"]})
RECORDS = EXPECTED.to_dict(orient="records")
ROWS = EXPECTED.values.tolist()


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        ({"dataframe_split": {"columns": COLUMNS, "data": ROWS}}, "dataframe_split"),
        ({"dataframe_records": RECORDS}, "dataframe_records"),
        ({"instances": RECORDS}, "instances"),
        ({"instances": ROWS}, "instances"),
        ({"inputs": {c: EXPECTED[c].tolist() for c in COLUMNS}}, "inputs"),
        ({"inputs": [dict(reversed(list(r.items()))) for r in RECORDS]}, "inputs"),
    ],
)
def test_every_mlflow_format_gives_the_same_rows(body: dict, fmt: str) -> None:
    parsed, used = parse_invocations(body, COLUMNS)
    assert used == fmt
    assert len(parsed) == 2
    pd.testing.assert_frame_equal(parsed.to_frame()[COLUMNS], EXPECTED)
    assert [{c: r[c] for c in COLUMNS} for r in parsed.records()] == RECORDS


def test_kserve_v1_instances() -> None:
    pd.testing.assert_frame_equal(
        parse_kserve_v1({"instances": ROWS}, COLUMNS).to_frame(), EXPECTED
    )


def test_records_in_signature_order_and_missing_keys_as_none() -> None:
    shuffled = [dict(reversed(list(r.items()))) for r in RECORDS]
    assert parse_invocations({"dataframe_records": shuffled}, COLUMNS)[0].columns == COLUMNS
    uneven = [{"x1": 1.0}, {"x2": 2.0, "x1": 3.0}]
    parsed = parse_invocations({"dataframe_records": uneven}, COLUMNS)[0]
    assert parsed.columns == ["x1", "x2"]
    assert parsed.rows == [[1.0, None], [3.0, 2.0]]


def test_rows_round_trip_through_a_frame() -> None:
    parsed = ParsedRows.from_frame(EXPECTED)
    assert parsed.columns == COLUMNS
    assert parsed.records() == RECORDS


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([1, 2], "body"),
        ({}, "body"),
        ({"instances": RECORDS, "inputs": RECORDS}, "body"),
        (
            {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 2.0]]}},
            "dataframe_split.data[0]",
        ),
        ({"dataframe_split": {"columns": "x1", "data": ROWS}}, "dataframe_split.columns"),
        ({"dataframe_records": []}, "dataframe_records"),
        ({"dataframe_records": [1]}, "dataframe_records[0]"),
        ({"instances": [[1.0, 2.0]]}, "instances[0]"),
        ({"inputs": {"x1": [1.0], "x2": [1.0, 2.0]}}, "inputs"),
        ({"dataframe_split": {"columns": ["x1", "x1"], "data": [[1.0, 2.0]]}}, "x1"),
    ],
)
def test_malformed_bodies_name_the_field(body: object, where: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_invocations(body, COLUMNS)
    assert raised.value.where == where
