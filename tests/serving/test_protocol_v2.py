"""The V2 protocol core on plain data: tensor layouts, checks naming the field, answers."""

from __future__ import annotations

import math

import pytest

from iml4e.serving.errors import PayloadError
from iml4e.serving.protocol_v2 import (
    datatype_of,
    infer_response,
    model_metadata,
    parse_infer_request,
)
from iml4e.serving.served_model import InputColumn

COLUMNS = [
    InputColumn("x1", "double", True),
    InputColumn("x2", "long", True),
    InputColumn("color", "string", True),
    InputColumn("flag", "boolean", False),
]
NUMERIC = [InputColumn("a", "double", True), InputColumn("b", "double", True)]


def tensor(name: str, shape: list[int], datatype: str, data: list) -> dict:
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_one_tensor_per_column_with_shape_n_or_n_by_1() -> None:
    body = {
        "id": "r-1",
        "inputs": [
            tensor("x1", [2], "FP64", [0.5, 1]),
            tensor("x2", [2, 1], "INT64", [[3], [4]]),
            tensor("color", [2], "BYTES", ["red", "blue"]),
        ],
    }
    parsed = parse_infer_request(body, COLUMNS)
    assert parsed.id == "r-1"
    assert parsed.rows.records() == [
        {"x1": 0.5, "x2": 3, "color": "red"},
        {"x1": 1, "x2": 4, "color": "blue"},
    ]


@pytest.mark.parametrize("data", [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [[1.0, 2.0], [3.0, 4.0], [5, 6]]])
def test_one_matrix_in_signature_order_flat_or_nested(data: list) -> None:
    parsed = parse_infer_request({"inputs": [tensor("input-0", [3, 2], "FP64", data)]}, NUMERIC)
    assert parsed.id is None
    assert parsed.rows.to_frame().to_dict(orient="list") == {"a": [1.0, 3.0, 5], "b": [2.0, 4.0, 6]}


@pytest.mark.parametrize("name", ["x", "x1"])
def test_a_bytes_matrix_carries_mixed_columns(name: str) -> None:
    body = {"inputs": [tensor(name, [1, 4], "BYTES", ["0.5", "3", "red", "yes"])]}
    rows = parse_infer_request(body, COLUMNS).rows
    assert rows.columns == ["x1", "x2", "color", "flag"]


def test_a_numeric_matrix_must_fit_every_column() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_infer_request({"inputs": [tensor("m", [1, 4], "FP64", [1, 2, 3, 4])]}, COLUMNS)
    assert caught.value.where == "m (column x2)"  # FP64 does not fit a long column


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"inputs": []}, "inputs"),
        ({"inputs": [7]}, "inputs[0]"),
        ({"inputs": [{"shape": [1], "datatype": "FP64", "data": [1.0]}]}, "inputs[0].name"),
        ({"inputs": [tensor("x1", [3], "FP64", [1.0, 2.0])]}, "x1"),  # shape times data length
        ({"inputs": [tensor("x1", [2, 2], "FP64", [[1.0, 2.0], [3.0]])]}, "x1"),
        ({"inputs": [tensor("x1", [1], "FP64", ["high"])]}, "x1"),  # value vs datatype
        ({"inputs": [tensor("x2", [1], "INT64", [1.5])]}, "x2"),
        ({"inputs": [tensor("flag", [1], "BOOL", [1])]}, "flag"),
        ({"inputs": [tensor("x1", [1], "FLOAT", [1.0])]}, "x1"),  # unknown datatype
        ({"inputs": [tensor("x1", [1], "BYTES", ["1.0"])]}, "x1"),  # datatype vs signature
        ({"inputs": [tensor("x1", [1], "FP64", [math.nan])]}, "x1"),  # NaN, required
        ({"inputs": [tensor("x1", [1], "FP64", [None])]}, "x1"),
        ({"inputs": [tensor("x1", [1, 3], "FP64", [1.0, 2.0, 3.0])]}, "x1"),  # matrix width
        ({"inputs": [tensor("x1", [1], "FP64", [1.0]), tensor("x2", [2], "INT64", [1, 2])]}, "x2"),
        ({"inputs": [tensor("x1", [1], "FP64", [1.0]), tensor("x1", [1], "FP64", [1.0])]}, "x1"),
        ({"inputs": [tensor("x1", [0], "FP64", [])]}, "x1"),
        ({"inputs": [tensor("x1", [1, 1, 1], "FP64", [1.0])]}, "x1"),
        ({"id": 5, "inputs": [tensor("x1", [1], "FP64", [1.0])]}, "id"),
        (
            {"outputs": [{"name": "proba"}], "inputs": [tensor("x1", [1], "FP64", [1.0])]},
            "outputs[0]",
        ),
    ],
)
def test_bad_requests_name_the_tensor_or_field(body: object, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_infer_request(body, COLUMNS)
    assert caught.value.where == field, caught.value
    assert caught.value.status == 400


def test_nan_is_allowed_where_the_signature_does_not_require_a_value() -> None:
    columns = [InputColumn("a", "double", False)]
    rows = parse_infer_request({"inputs": [tensor("a", [1], "FP64", [math.nan])]}, columns).rows
    assert math.isnan(rows.rows[0][0])


def test_model_metadata_maps_signature_types() -> None:
    metadata = model_metadata("m", "3", COLUMNS, "INT64")
    assert metadata["name"] == "m"
    assert metadata["versions"] == ["3"]
    assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == [
        ("x1", "FP64"),
        ("x2", "INT64"),
        ("color", "BYTES"),
        ("flag", "BOOL"),
    ]
    assert metadata["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]


def test_infer_response_infers_the_output_datatype() -> None:
    answer = infer_response("m", "3", "r-9", [1, 0, 1])
    assert answer["id"] == "r-9"
    assert answer["outputs"] == [
        {"name": "predict", "shape": [3], "datatype": "INT64", "data": [1, 0, 1]}
    ]
    assert datatype_of([0.5, 1]) == "FP64"
    assert datatype_of([True, False]) == "BOOL"
    assert datatype_of(["a", 1]) == "BYTES"
    several = infer_response("m", "3", "r", [{"label": "a", "score": 0.9}])["outputs"]
    assert [(o["name"], o["datatype"]) for o in several] == [("label", "BYTES"), ("score", "FP64")]
