"""Signature checks per request on plain values, and one DataFrame per batch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from iml4e.serving.errors import PayloadError
from iml4e.serving.payloads import ParsedRows
from iml4e.serving.served_model import ServedModel
from iml4e.serving.signature import InputColumn, Signature

SIGNATURE = Signature(
    [
        InputColumn("x", "double", True),
        InputColumn("n", "long", True),
        InputColumn("color", "string", True),
        InputColumn("extra", "double", False),
    ]
)


def rows(columns: list[str], *values: list) -> ParsedRows:
    return ParsedRows(columns, [list(row) for row in values])


def test_values_are_converted_to_the_signature_types_in_signature_order() -> None:
    parsed = rows(["color", "n", "x"], ["red", 3, 35], ["blue", "4", "0.5"], [None, 5.0, None])
    prepared = SIGNATURE.prepare(parsed)
    assert list(prepared.columns) == ["x", "n", "color"]
    assert prepared.columns["x"] == [35.0, 0.5, None]
    assert [type(v) for v in prepared.columns["x"][:2]] == [float, float]
    assert prepared.columns["n"] == [3, 4, 5]
    assert len(prepared) == 3
    frame = SIGNATURE.frame([prepared])
    assert list(frame.columns) == ["x", "n", "color"]
    assert frame["x"].dtype == np.float64 and math.isnan(frame["x"].iloc[2])
    assert str(frame["n"].dtype) == "Int64"
    assert frame["color"].dtype == object and frame["color"].iloc[2] is None


@pytest.mark.parametrize(
    ("columns", "values", "status", "where"),
    [
        (["x", "n"], [1.0, 1], 400, "color"),
        (["x", "n", "color", "zz"], [1.0, 1, "red", 0], 400, "zz"),
        (["x", "n", "color"], ["high", 1, "red"], 422, "x"),
        (["x", "n", "color"], [[1.0], 1, "red"], 422, "x"),
        (["x", "n", "color"], [1.0, 1.5, "red"], 422, "n"),
        (["x", "n", "color"], [1.0, "one", "red"], 422, "n"),
        (["x", "n", "color"], [1.0, 2**63, "red"], 422, "n"),
        (["x", "n", "color"], [1.0, 1, 7], 422, "color"),
    ],
)
def test_a_bad_request_names_the_column(
    columns: list[str], values: list, status: int, where: str
) -> None:
    with pytest.raises(PayloadError) as raised:
        SIGNATURE.prepare(rows(columns, values))
    assert (raised.value.status, raised.value.where) == (status, where)


def test_a_batch_joins_requests_in_order_and_fills_optional_columns() -> None:
    first = SIGNATURE.prepare(rows(["x", "n", "color"], [1.0, 1, "red"], [2.0, 2, "blue"]))
    second = SIGNATURE.prepare(rows(["extra", "color", "n", "x"], [9.5, "green", 3, 3]))
    frame = SIGNATURE.frame([first, second])
    assert list(frame.columns) == ["x", "n", "color", "extra"]
    assert frame["x"].tolist() == [1.0, 2.0, 3.0]
    assert frame["color"].tolist() == ["red", "blue", "green"]
    assert frame["extra"].isna().tolist() == [True, True, False]


def test_without_a_signature_values_pass_as_given() -> None:
    signature = Signature(None)
    prepared = signature.prepare(rows(["a", "b"], [1, "x"], [2, "y"]))
    frame = signature.frame([prepared])
    assert frame.to_dict(orient="list") == {"a": [1, 2], "b": ["x", "y"]}


class Echo:
    """A native model answering each row's ``x`` and the columns it was given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, frame: pd.DataFrame) -> list:
        self.calls.append(list(frame.columns))
        return frame["x"].tolist()


def test_requests_without_the_same_optional_columns_are_predicted_apart() -> None:
    native = Echo()
    model = ServedModel("m", "1", SIGNATURE.columns, pyfunc=None, native=native)
    with_extra = model.prepare(rows(["x", "n", "color", "extra"], [2.0, 1, "red", 0.5]))
    without = [model.prepare(rows(["x", "n", "color"], [x, 1, "red"])) for x in (1.0, 3.0)]
    assert model.predict_batch([without[0], with_extra, without[1]]) == [1.0, 2.0, 3.0]
    assert native.calls == [["x", "n", "color"], ["x", "n", "color", "extra"]]
    assert model.predict(pd.DataFrame({"x": [4], "n": [1], "color": ["red"]})) == [4.0]
