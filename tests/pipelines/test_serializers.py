"""Serializers: each built-in round-trips and is deterministic; the registry picks the right one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from iml4e.errors import BadInput
from iml4e.pipelines.serializers import (
    NotSerializable,
    Serializer,
    UnknownSerializer,
    builtin_serializers,
    register_serializer,
    serializer_for,
    serializer_named,
    unregister_serializer,
)

BUILTIN_NAMES = ["parquet", "parquet-series", "npy", "dataclass-json", "json", "joblib"]


@dataclasses.dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime | None
    day: date


@dataclasses.dataclass
class Report:
    name: str
    score: float
    window: Window
    windows: list[Window]
    checked: dict[str, datetime]
    shape: tuple[int, ...]
    tags: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    rows: int = dataclasses.field(init=False, default=0)


@dataclasses.dataclass
class Loose:
    when: Any


@dataclasses.dataclass
class Node:
    name: str
    parent: Node | None = None


@dataclasses.dataclass
class Unresolvable:
    x: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821


def roundtrip(value: object, tmp_path: Path, name: str | None = None) -> object:
    serializer = serializer_named(name) if name else serializer_for(value)
    path = tmp_path / f"value{serializer.extension}"
    serializer.dump(value, path)
    return serializer.load(path)


def dump_hash(value: object, path: Path) -> str:
    path.unlink(missing_ok=True)
    serializer_for(value).dump(value, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sample_report() -> Report:
    berlin_summer = timezone(timedelta(hours=2))
    window = Window(datetime(2024, 6, 1, 8, 30, 0, 1234, berlin_summer), None, date(2024, 6, 1))
    report = Report(
        name="drift",
        score=0.25,
        window=window,
        windows=[window, Window(datetime(2024, 6, 2, 9), datetime(2024, 6, 3), date(2024, 6, 2))],
        checked={"a": datetime(2024, 1, 1, tzinfo=UTC)},
        shape=(3, 4),
        tags=["x"],
        extra={"nested": [1, {"b": None}]},
    )
    report.rows = 12
    return report


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1, 2, 3],
            "y": [0.5, np.nan, 2.0],
            "label": ["a", "b", None],
            "flag": [True, False, True],
            "at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
            "kind": pd.Categorical(["u", "v", "u"]),
        }
    )


def test_the_builtins_are_tried_in_the_documented_order() -> None:
    assert [s.name for s in builtin_serializers()] == BUILTIN_NAMES
    assert all(s.extension.startswith(".") for s in builtin_serializers())


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (pd.DataFrame({"a": [1]}), "parquet"),
        (pd.Series([1.0]), "parquet-series"),
        (np.arange(3), "npy"),
        (Window(datetime(2024, 1, 1), None, date(2024, 1, 1)), "dataclass-json"),
        ({"a": [1, 2.5, None]}, "json"),
        (None, "json"),
        (LogisticRegression(), "joblib"),
    ],
)
def test_serializer_for_picks_by_type(value: object, name: str) -> None:
    assert serializer_for(value).name == name


@pytest.mark.parametrize(
    "frame",
    [
        sample_frame(),
        sample_frame().set_index("label"),
        sample_frame().set_index(["label", "x"]),
        sample_frame().set_axis(pd.RangeIndex(5, 8)),
        sample_frame().set_axis(pd.RangeIndex(0, 3, name="row")),
        sample_frame().iloc[[2, 0]],
        pd.DataFrame({"a": pd.Series([], dtype="int64")}),
    ],
    ids=["default", "str-index", "multi-index", "range-5", "named-range", "filtered", "empty"],
)
def test_parquet_round_trips_frames_and_their_index(frame: pd.DataFrame, tmp_path: Path) -> None:
    back = roundtrip(frame, tmp_path)
    assert isinstance(back, pd.DataFrame)
    pd.testing.assert_frame_equal(back, frame)


def test_parquet_refuses_frames_without_unique_string_column_names() -> None:
    for frame in (
        pd.DataFrame(np.zeros((2, 2))),
        pd.DataFrame({"a": [1], 2: [3]}),
        pd.DataFrame([[1, 2]], columns=["a", "a"]),
    ):
        assert not serializer_named("parquet").accepts(frame)
        with pytest.raises(NotSerializable, match=r"pandas\.core\.frame\.DataFrame") as caught:
            serializer_for(frame)
        assert "parquet: Parquet needs" in caught.value.message


@pytest.mark.parametrize("name", ["total", None, 7])
def test_parquet_series_keeps_name_values_and_index(name: object, tmp_path: Path) -> None:
    series = pd.Series([1.5, None, 3.0], index=["a", "b", "c"], name=name)
    back = roundtrip(series, tmp_path)
    assert isinstance(back, pd.Series)
    pd.testing.assert_series_equal(back, series)
    assert back.name == name


def test_parquet_series_keeps_a_default_index(tmp_path: Path) -> None:
    series = pd.Series(["x", "y"])
    pd.testing.assert_series_equal(roundtrip(series, tmp_path), series)  # type: ignore[arg-type]


def test_parquet_series_refuses_names_it_cannot_keep() -> None:
    with pytest.raises(NotSerializable, match=r"pandas.core.series.Series.*name must be"):
        serializer_for(pd.Series([1], name=("a", "b")))


@pytest.mark.parametrize(
    "array",
    [
        np.arange(12, dtype="float32").reshape(3, 4),
        np.array([[True, False]]),
        np.array(["ab", "c"]),
        np.zeros(2, dtype=[("x", "i4"), ("y", "f8")]),
        np.asfortranarray(np.arange(6).reshape(2, 3)),
        np.array(5),
    ],
)
def test_npy_round_trips_arrays(array: np.ndarray, tmp_path: Path) -> None:
    back = roundtrip(array, tmp_path)
    assert isinstance(back, np.ndarray)
    assert back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_npy_refuses_object_arrays_and_masked_arrays() -> None:
    with pytest.raises(NotSerializable, match=r"cannot store a numpy.ndarray.*object-dtype"):
        serializer_for(np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(NotSerializable, match="MaskedArray"):
        serializer_for(np.ma.masked_array([1, 2], mask=[True, False]))


def test_dataclass_json_rebuilds_nested_dataclasses_datetimes_and_tuples(tmp_path: Path) -> None:
    report = sample_report()
    back = roundtrip(report, tmp_path)
    assert back == report
    assert isinstance(back, Report)
    assert back.window.start.utcoffset() == timedelta(hours=2)
    assert back.checked["a"].tzinfo is not None
    assert back.windows[1].start.tzinfo is None
    assert type(back.window.day) is date
    assert back.shape == (3, 4)
    assert back.rows == 12


def test_dataclass_json_follows_self_referencing_annotations(tmp_path: Path) -> None:
    chain = Node("c", Node("b", Node("a")))
    assert roundtrip(chain, tmp_path) == chain


def test_dataclass_json_refuses_cycles_and_unresolvable_annotations() -> None:
    loop = Node("a")
    loop.parent = loop
    with pytest.raises(NotSerializable, match="nested more than 200 levels"):
        serializer_for(loop)
    with pytest.raises(NotSerializable, match="annotations that cannot be resolved"):
        serializer_for(Unresolvable(1))


def test_dataclass_json_stores_the_importable_class_name(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    serializer_named("dataclass-json").dump(sample_report(), path)
    document = json.loads(path.read_bytes())
    assert document["type"] == f"{__name__}:Report"
    assert document["fields"]["window"]["start"] == "2024-06-01T08:30:00.001234+02:00"


def test_dataclass_json_refuses_what_would_not_load_back_equal() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    cases = [
        (Local(1), "defined inside a function"),
        (Loose(datetime(2024, 1, 1)), r"value.when is a datetime.datetime, so its annotation"),
        (
            Window("2024-01-01", None, date(2024, 1, 1)),  # type: ignore[arg-type]
            "value.start is a str, but annotated datetime",
        ),
        (Loose(float("nan")), "value.when is nan"),
        (Loose(lambda: 1), "value.when is a function"),
    ]
    for value, reason in cases:
        assert not serializer_named("dataclass-json").accepts(value)
        with pytest.raises(NotSerializable, match=reason):
            serializer_for(value)
    with pytest.raises(NotSerializable, match="cannot store a type"):
        serializer_for(Window)  # the class itself, not an instance


@pytest.mark.parametrize(
    "value",
    [None, True, 3, -(2**63), 2**64 - 1, 0.1, "é", [], {}, {"b": [1, {"c": None}], "a": "x"}],
)
def test_json_round_trips_plain_data(value: object, tmp_path: Path) -> None:
    back = roundtrip(value, tmp_path)
    assert back == value
    assert type(back) is type(value)


def test_json_loads_tuples_as_lists_and_numpy_scalars_as_numbers(tmp_path: Path) -> None:
    value = {"shape": (2, 3), "n": np.int64(4), "p": np.float32(0.5), "ok": np.bool_(True)}
    assert serializer_for(value).name == "json"
    back = roundtrip(value, tmp_path)
    assert back == {"shape": [2, 3], "n": 4, "p": 0.5, "ok": True}
    assert serializer_for(np.float64(1.5)).name == "json"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), "value is nan, which JSON cannot hold"),
        ({"a": [1, float("inf")]}, r"value\['a'\]\[1\] is inf"),
        ([np.float64("-inf")], r"value\[0\] is -inf"),
        ({1: "a"}, "has a key that is not a str: 1"),
        ([2**64], "wider than 64 bits"),
        ({"s": {1, 2}}, r"value\['s'\] is a set"),
        ({"when": datetime(2024, 1, 1)}, r"value\['when'\] is a datetime.datetime"),
    ],
)
def test_json_refuses_what_it_cannot_hold_and_says_where(value: object, reason: str) -> None:
    with pytest.raises(NotSerializable, match=reason):
        serializer_for(value)


def test_json_refuses_deep_nesting_instead_of_crashing() -> None:
    nested: list[Any] = []
    deepest = nested
    for _ in range(300):
        deepest.append([])
        deepest = deepest[0]
    with pytest.raises(NotSerializable, match="nested more than 200 levels"):
        serializer_for(nested)


def test_joblib_round_trips_a_fitted_estimator(tmp_path: Path) -> None:
    features, labels = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    model = LogisticRegression().fit(features, labels)
    back = roundtrip(model, tmp_path)
    assert isinstance(back, LogisticRegression)
    np.testing.assert_array_equal(back.predict_proba(features), model.predict_proba(features))


@pytest.mark.parametrize(
    "make",
    [
        sample_frame,
        lambda: sample_frame().set_index("label"),
        lambda: pd.Series([1, 2], name="n"),
        lambda: np.arange(10.0),
        sample_report,
        lambda: {"b": 1, "a": [1.5, "x"]},
    ],
    ids=["frame", "indexed-frame", "series", "array", "dataclass", "json"],
)
def test_equal_values_give_equal_bytes(make: Any, tmp_path: Path) -> None:
    first, second = make(), make()
    serializer = serializer_for(first)
    path = tmp_path / f"value{serializer.extension}"
    assert dump_hash(first, path) == dump_hash(second, path)


def test_json_bytes_do_not_depend_on_key_order(tmp_path: Path) -> None:
    path = tmp_path / "value.json"
    assert dump_hash({"a": 1, "b": {"d": 2, "c": 3}}, path) == dump_hash(
        {"b": {"c": 3, "d": 2}, "a": 1}, path
    )


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(lambda: 1, "function"), (object(), "object"), (np.array([object()]), "numpy.ndarray")],
)
def test_not_serializable_names_the_type_and_the_serializers_tried(
    value: object, type_name: str
) -> None:
    with pytest.raises(NotSerializable) as caught:
        serializer_for(value)
    assert caught.value.message.startswith(f"cannot store a {type_name} (tried ")
    assert ", ".join(BUILTIN_NAMES) in caught.value.message
    assert caught.value.where is None
    assert isinstance(caught.value, BadInput)


def test_an_open_file_is_not_serializable(tmp_path: Path) -> None:
    with (
        (tmp_path / "f.txt").open("w") as file,
        pytest.raises(NotSerializable, match="TextIOWrapper"),
    ):
        serializer_for(file)


def test_unknown_serializer_names_the_name() -> None:
    with pytest.raises(UnknownSerializer, match="known: dataclass-json, joblib") as caught:
        serializer_named("pickle")
    assert caught.value.where == "pickle"
    with pytest.raises(UnknownSerializer):
        unregister_serializer("pickle")


class TextSerializer:
    """Stores str values as plain text (a test plugin)."""

    def __init__(self, name: str = "text", marker: str = "") -> None:
        self.name, self.extension, self.marker = name, ".txt", marker

    def accepts(self, value: object) -> bool:
        return isinstance(value, str)

    def dump(self, value: object, path: Path) -> None:
        path.write_text(f"{self.marker}{value}")

    def load(self, path: Path) -> object:
        return path.read_text()


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered by the test; unregistered afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_serializer(name)


def test_custom_serializers_come_first_newest_first(registered: list[str], tmp_path: Path) -> None:
    older, newer = TextSerializer("text-a"), TextSerializer("text-b")
    register_serializer(older)
    registered.append("text-a")
    assert serializer_for("hello") is older
    register_serializer(newer)
    registered.append("text-b")
    assert serializer_for("hello") is newer
    assert serializer_named("text-a") is older
    assert serializer_for(3).name == "json"  # what they do not accept still goes to a built-in
    assert roundtrip("hello", tmp_path) == "hello"


def test_registering_a_name_again_replaces_it_and_moves_it_first(registered: list[str]) -> None:
    first, other = TextSerializer("text", marker="1"), TextSerializer("text-other")
    register_serializer(first)
    register_serializer(other)
    registered.extend(["text", "text-other"])
    assert serializer_for("x") is other
    replacement = TextSerializer("text", marker="2")
    register_serializer(replacement)
    assert serializer_named("text") is replacement
    assert serializer_for("x") is replacement


def test_a_custom_serializer_can_replace_a_builtin_until_unregistered() -> None:
    custom = TextSerializer("json")
    register_serializer(custom)
    try:
        assert serializer_named("json") is custom
        assert serializer_for("x") is custom
        with pytest.raises(NotSerializable, match=r"tried json, parquet, .*joblib\)"):
            serializer_for(3)
    finally:
        unregister_serializer("json")
    assert serializer_named("json") in builtin_serializers()
    assert serializer_for(3).name == "json"


def test_a_serializer_needs_a_safe_extension() -> None:
    bad: Serializer = TextSerializer("bad")
    bad.extension = "/../x"
    with pytest.raises(BadInput, match="extension"):
        register_serializer(bad)
    with pytest.raises(UnknownSerializer):
        serializer_named("bad")


def test_choosing_a_serializer_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from iml4e.pipelines.serializers import NotSerializable, serializer_for\n"
        "assert serializer_for({'a': [1, 2.5]}).name == 'json'\n"
        "try:\n"
        "    serializer_for(object())\n"
        "except NotSerializable:\n"
        "    pass\n"
        "print(sorted(m for m in ('sklearn', 'pandas', 'numpy', 'joblib') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
