"""Profiles against numpy and pandas computed on the same data, and invariants over any frame."""

from __future__ import annotations

import itertools
import json
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iml4e.data.errors import InvalidArgument
from iml4e.data.profile import (
    OTHER,
    QUANTILES,
    DatasetProfile,
    column_kind,
    profile_frame,
)

N = 4000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    normal = rng.normal(10.0, 3.0, N)
    normal[rng.random(N) < 0.1] = np.nan
    stamps = pd.Series(
        pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, N), "s")
    )
    stamps[rng.random(N) < 0.05] = pd.NaT
    colour = pd.Series(rng.choice(["red", "green", "blue", "<script>x</script>"], N), dtype=object)
    colour[rng.random(N) < 0.07] = None
    flags = pd.Series(rng.random(N) < 0.3, dtype="boolean")
    flags[rng.random(N) < 0.04] = pd.NA
    size = pd.Series(rng.choice(["S", "M", "L"], N), dtype="category").cat.add_categories("XL")
    size[rng.random(N) < 0.03] = np.nan
    return pd.DataFrame(
        {
            "normal": normal,
            "related": np.where(np.isnan(normal), np.nan, 2.0 * np.nan_to_num(normal))
            + rng.normal(0.0, 1.0, N),
            "count": rng.poisson(4.0, N),
            "maybe_count": pd.array(
                np.where(rng.random(N) < 0.2, None, rng.integers(0, 9, N)), dtype="Int64"
            ),
            "label": rng.choice([0, 1], N, p=[0.8, 0.2]),
            "colour": colour,
            "flag": flags,
            "plain_flag": rng.random(N) < 0.5,
            "size": size,
            "seen": stamps,
            "seen_utc": stamps.dt.tz_localize("Europe/Helsinki", ambiguous="NaT").dt.tz_convert(
                "UTC"
            ),
        }
    )


@pytest.fixture(scope="module")
def profile(frame: pd.DataFrame) -> DatasetProfile:
    return profile_frame(frame, target="label", bins=15)


def test_kinds_follow_dtypes(profile: DatasetProfile, frame: pd.DataFrame) -> None:
    kinds = {name: column.kind for name, column in profile.columns.items()}
    assert kinds == {
        "normal": "numeric",
        "related": "numeric",
        "count": "numeric",
        "maybe_count": "numeric",
        "label": "numeric",
        "colour": "categorical",
        "flag": "boolean",
        "plain_flag": "boolean",
        "size": "categorical",
        "seen": "datetime",
        "seen_utc": "datetime",
    }
    assert {name: c.dtype for name, c in profile.columns.items()} == {
        name: str(dtype) for name, dtype in frame.dtypes.items()
    }
    # numbers written as text stay text
    assert column_kind(pd.Series(["1", "2.5"]).dtype) == "categorical"
    assert profile_frame(pd.DataFrame({"n": ["1", "2.5", None]})).columns["n"].categories == {
        "1": 1,
        "2.5": 1,
    }


def test_counts_missing_and_distinct_match_pandas(
    profile: DatasetProfile, frame: pd.DataFrame
) -> None:
    assert (profile.n_rows, profile.n_columns) == frame.shape
    for name in ("normal", "maybe_count", "colour", "flag", "size", "seen", "seen_utc"):
        assert profile.columns[name].missing > 0  # every kind has missing values here
    for name, column in profile.columns.items():
        assert column.missing == frame[name].isna().sum()
        assert column.count == frame[name].notna().sum()
        assert column.distinct == frame[name].nunique(), name
    assert profile.missing_cells == frame.isna().sum().sum()


@pytest.mark.parametrize("name", ["normal", "related", "count", "maybe_count"])
def test_numeric_summary_and_quantiles_match_numpy(
    profile: DatasetProfile, frame: pd.DataFrame, name: str
) -> None:
    values = frame[name].dropna().to_numpy(dtype=float)
    summary = profile.columns[name].numeric
    assert summary is not None
    assert (summary.min, summary.max) == (values.min(), values.max())
    assert summary.mean == pytest.approx(frame[name].mean(), rel=1e-12)
    assert summary.std == pytest.approx(frame[name].std(), rel=1e-12)
    assert summary.quantiles == {
        str(q): float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)
    }
    assert list(summary.quantiles) == ["0.01", "0.05", "0.25", "0.5", "0.75", "0.95", "0.99"]


@pytest.mark.parametrize("name", ["normal", "count", "maybe_count"])
def test_histograms_are_equal_width_and_exact(
    profile: DatasetProfile, frame: pd.DataFrame, name: str
) -> None:
    values = frame[name].dropna().to_numpy(dtype=float)
    histogram = profile.columns[name].histogram
    assert histogram is not None
    assert histogram.edges == np.linspace(values.min(), values.max(), 16).tolist()
    assert histogram.counts == np.histogram(values, bins=histogram.edges)[0].tolist()
    assert sum(histogram.counts) == profile.columns[name].count


@pytest.mark.parametrize("name", ["seen", "seen_utc"])
def test_datetimes_are_binned_in_epoch_seconds(
    profile: DatasetProfile, frame: pd.DataFrame, name: str
) -> None:
    stamps = frame[name].dropna()
    seconds = (stamps - pd.Timestamp(0, tz=stamps.dt.tz)).dt.total_seconds().to_numpy()
    column = profile.columns[name]
    assert column.numeric is not None and column.histogram is not None
    assert column.numeric.min == stamps.min().timestamp()
    assert column.numeric.max == stamps.max().timestamp()
    assert column.histogram.counts == np.histogram(seconds, bins=column.histogram.edges)[0].tolist()
    assert sum(column.histogram.counts) == len(stamps)
    assert column.categories is None


def test_time_zones_are_read_in_utc(profile: DatasetProfile) -> None:
    local, utc = profile.columns["seen"].numeric, profile.columns["seen_utc"].numeric
    assert local is not None and utc is not None
    # Helsinki in winter is UTC+2: the same wall-clock times are two hours earlier in UTC
    assert utc.min == local.min - 2 * 3600


@pytest.mark.parametrize("name", ["colour", "flag", "plain_flag", "size"])
def test_categories_are_exact_and_most_frequent_first(
    profile: DatasetProfile, frame: pd.DataFrame, name: str
) -> None:
    expected = {str(k): int(v) for k, v in frame[name].value_counts().items() if v > 0}
    column = profile.columns[name]
    assert column.categories == expected
    assert list(column.categories.values()) == sorted(expected.values(), reverse=True)
    assert column.histogram is None and column.numeric is None
    assert column.top_categories == list(column.categories.items())


def test_unused_pandas_categories_are_not_listed(profile: DatasetProfile) -> None:
    assert profile.columns["size"].categories is not None
    assert "XL" not in profile.columns["size"].categories


def test_rare_categories_go_to_the_other_bucket() -> None:
    values = [f"v{i:02d}" for i in range(30) for _ in range(i + 1)] + [OTHER] * 50 + [None] * 3
    column = profile_frame(pd.DataFrame({"c": values}), max_categories=5).columns["c"]
    counts = pd.Series(values).value_counts()
    assert column.categories == {
        OTHER: int(counts.sum()) - (30 + 29 + 28 + 27 + 26),
        "v29": 30,
        "v28": 29,
        "v27": 28,
        "v26": 27,
        "v25": 26,
    }
    assert column.distinct == 31 and column.other_categories == 26
    assert sum(column.categories.values()) == column.count == len(values) - 3
    assert [key for key, _ in column.top_categories] == ["v29", "v28", "v27", "v26", "v25"]


def test_top_categories_stop_at_ten() -> None:
    values = [f"v{i:02d}" for i in range(15) for _ in range(i + 1)]
    column = profile_frame(pd.DataFrame({"c": values})).columns["c"]
    assert [n for _, n in column.top_categories] == list(range(15, 5, -1))


def test_values_with_the_same_text_are_one_category() -> None:
    frame = pd.DataFrame({"c": [1, "1", 2.5, "x", None, [1, 2]]}, dtype=object)
    column = profile_frame(frame.iloc[:5]).columns["c"]
    assert column.categories == {"1": 2, "2.5": 1, "x": 1}
    assert (column.count, column.missing, column.distinct) == (4, 1, 3)
    unhashable = profile_frame(frame).columns["c"]  # a list cannot be hashed: its text is used
    assert unhashable.categories is not None and unhashable.categories["[1, 2]"] == 1


def test_duplicate_rows_match_pandas() -> None:
    rng = np.random.default_rng(3)
    base = pd.DataFrame(
        {
            "x": rng.integers(0, 3, 500).astype(float),
            "s": rng.choice(["a", "b", None], 500),
            "t": pd.to_datetime(rng.choice(["2020-01-01", None], 500)),
            "b": rng.random(500) < 0.5,
        }
    )
    base.loc[::7, "x"] = np.nan
    profile = profile_frame(base)
    assert profile.duplicate_rows == base.duplicated().sum() > 0
    unique = base.drop_duplicates()
    assert profile_frame(unique).duplicate_rows == 0


def test_duplicates_survive_many_high_cardinality_columns() -> None:
    rng = np.random.default_rng(4)
    columns = {f"c{i}": rng.integers(0, 10**9, 3000) for i in range(8)}
    frame = pd.DataFrame(columns)
    frame = pd.concat([frame, frame.iloc[:100]], ignore_index=True)
    assert profile_frame(frame).duplicate_rows == 100


def test_correlations_match_pandas(profile: DatasetProfile, frame: pd.DataFrame) -> None:
    numeric = ["normal", "related", "count", "maybe_count", "label"]
    expected = frame[numeric].astype(float).corr()
    assert list(profile.correlations) == numeric
    for a in numeric:
        for b in numeric:
            assert profile.correlations[a][b] == pytest.approx(expected.loc[a, b], abs=1e-12)
    assert profile.correlations["normal"]["related"] > 0.9


def test_correlations_without_missing_values_and_with_a_constant_column() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "k": 0.1})
    correlations = profile_frame(frame).correlations
    assert correlations["a"]["b"] == pytest.approx(frame["a"].corr(frame["b"]), abs=1e-12)
    assert correlations["a"]["k"] is None and correlations["k"]["k"] is None


def test_target_balance_of_classes(profile: DatasetProfile, frame: pd.DataFrame) -> None:
    shares = frame["label"].value_counts(normalize=True)
    assert profile.target == "label"
    assert profile.target_balance == pytest.approx({str(k): v for k, v in shares.items()})
    text = profile_frame(frame, target="colour").target_balance
    expected = frame["colour"].value_counts(normalize=True)
    assert text == pytest.approx({str(k): v for k, v in expected.items()})
    assert profile_frame(frame, target="flag").target_balance == pytest.approx(
        {str(k): v for k, v in frame["flag"].value_counts(normalize=True).items()}
    )
    floats = profile_frame(pd.DataFrame({"y": [0.0, 1.0, 1.0, np.nan]}), target="y")
    assert floats.target_balance == pytest.approx({"1": 2 / 3, "0": 1 / 3})
    assert profile_frame(frame, target="normal").target_balance is None  # a regression target
    assert profile_frame(frame).target is None and profile_frame(frame).target_balance is None


def test_an_empty_frame_profiles_to_zero_rows(frame: pd.DataFrame) -> None:
    empty = profile_frame(frame.iloc[:0], target="label")
    assert (empty.n_rows, empty.n_columns, empty.duplicate_rows) == (0, frame.shape[1], 0)
    for column in empty.columns.values():
        assert (column.count, column.missing, column.distinct) == (0, 0, 0)
        assert column.histogram is None and column.numeric is None
        assert column.categories == ({} if column.kind in ("categorical", "boolean") else None)
    assert empty.target_balance == {}
    assert empty.correlations["normal"]["related"] is None
    nothing = profile_frame(pd.DataFrame())
    assert (nothing.n_rows, nothing.n_columns, nothing.columns, nothing.correlations) == (
        0,
        0,
        {},
        {},
    )


def test_one_row_gets_one_bin_and_no_spread(frame: pd.DataFrame) -> None:
    one = profile_frame(frame.iloc[[1]])
    normal = one.columns["count"]
    value = float(frame["count"].iloc[1])
    assert normal.histogram is not None and normal.numeric is not None
    assert normal.histogram.edges == [value, value] and normal.histogram.counts == [1]
    assert normal.numeric.std is None and normal.numeric.mean == value
    assert set(normal.numeric.quantiles.values()) == {value}
    assert one.duplicate_rows == 0 and one.correlations["count"]["label"] is None


def test_an_all_missing_column_has_no_summary() -> None:
    profile = profile_frame(pd.DataFrame({"gone": [np.nan] * 4, "text": [None] * 4, "x": 1.0}))
    gone = profile.columns["gone"]
    assert (gone.kind, gone.count, gone.missing, gone.distinct) == ("numeric", 0, 4, 0)
    assert gone.numeric is None and gone.histogram is None
    assert profile.columns["text"].categories == {}
    assert profile.correlations["gone"]["x"] is None
    assert profile.duplicate_rows == 3


def test_infinities_are_values_in_the_outer_bins() -> None:
    values = [-np.inf, 0.0, 1.0, 2.0, 3.0, np.inf, np.inf, np.nan]
    column = profile_frame(pd.DataFrame({"x": values}), bins=3).columns["x"]
    assert (column.count, column.missing) == (7, 1)
    assert column.numeric is not None and column.histogram is not None
    assert (column.numeric.min, column.numeric.max, column.numeric.infinite) == (0.0, 3.0, 3)
    assert column.numeric.mean == 1.5
    assert column.histogram.edges == [0.0, 1.0, 2.0, 3.0]
    assert column.histogram.counts == [1 + 1, 1, 2 + 2]


def test_huge_ranges_still_bin_every_value() -> None:
    values = np.array([-1.7e308, 0.0, 1.7e308, 5.0])
    column = profile_frame(pd.DataFrame({"x": values}), bins=4).columns["x"]
    assert column.histogram is not None and column.numeric is not None
    assert column.histogram.edges[0] == -1.7e308 and column.histogram.edges[-1] == 1.7e308
    assert np.all(np.diff(column.histogram.edges) > 0)
    assert column.histogram.counts == np.histogram(values, bins=column.histogram.edges)[0].tolist()
    json.loads(profile_frame(pd.DataFrame({"x": values})).to_json())  # no inf, no NaN


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: profile_frame([1, 2]), "frame"),  # type: ignore[arg-type]
        (lambda: profile_frame(pd.DataFrame({"a": [1]}), bins=0), "bins"),
        (lambda: profile_frame(pd.DataFrame({"a": [1]}), max_categories=0), "max_categories"),
        (lambda: profile_frame(pd.DataFrame({"a": [1]}), target="b"), "target"),
        (lambda: profile_frame(pd.DataFrame([[1, 2]], columns=["a", "a"])), "frame"),
        (lambda: profile_frame(pd.DataFrame([[1, 2]], columns=[1, "1"])), "frame"),
        (lambda: DatasetProfile.from_dict({"format": 99}), "profile"),
        (lambda: DatasetProfile.from_dict({"format": 1, "columns": {}}), "profile"),
        (lambda: DatasetProfile.from_json("{not json"), "profile"),
    ],
)
def test_bad_input_is_reported_with_where(call: object, where: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        call()  # type: ignore[operator]
    assert raised.value.where == where


def test_json_round_trip_is_lossless_and_strict(profile: DatasetProfile) -> None:
    text = profile.to_json()
    json.loads(text, parse_constant=_reject)  # no NaN or Infinity anywhere
    again = DatasetProfile.from_json(text)
    assert again == profile
    assert again.to_dict() == profile.to_dict()
    assert DatasetProfile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    # the shape other rooms read
    data = profile.to_dict()
    assert data["columns"]["normal"]["numeric"]["mean"] == profile.columns["normal"].numeric.mean  # type: ignore[union-attr]
    assert data["n_rows"] == N and data["target"] == "label"


def test_stored_bins_profile_new_data_the_same_way(frame: pd.DataFrame) -> None:
    reference = profile_frame(frame.iloc[: N // 2]).columns["normal"].histogram
    assert reference is not None
    live = frame["normal"].iloc[N // 2 :].dropna().to_numpy()
    inside = live[(live >= reference.edges[0]) & (live <= reference.edges[-1])]
    counts = np.histogram(inside, bins=reference.edges)[0]
    assert counts.sum() == len(inside) and len(counts) == len(reference.counts)


def _reject(constant: str) -> None:
    raise AssertionError(f"{constant} in JSON")


# --- properties over generated frames ---------------------------------------------------------

NAMES = st.text(
    alphabet=st.sampled_from(
        [*string.ascii_letters, " ", "<", ">", "&", '"', "é", "日", "🙂", "\t"]
    ),
    max_size=8,
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([np.nan, 0.0, -0.0])
TEXT = st.none() | st.sampled_from(["a", "b", "<script>", "", "日本", "1"]) | st.text(max_size=3)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 25))
    names = draw(st.lists(NAMES, min_size=0, max_size=6, unique=True))
    columns: dict[str, object] = {}
    for name in names:
        kind = draw(st.sampled_from(["float", "int", "nullable", "bool", "text", "time", "cat"]))
        if kind == "float":
            columns[name] = np.array(draw(st.lists(FLOATS, min_size=rows, max_size=rows)))
        elif kind == "int":
            ints = st.integers(-(2**40), 2**40)
            columns[name] = np.array(draw(st.lists(ints, min_size=rows, max_size=rows)), np.int64)
        elif kind == "nullable":
            values = draw(st.lists(st.none() | st.integers(-5, 5), min_size=rows, max_size=rows))
            columns[name] = pd.array(values, dtype="Int64")
        elif kind == "bool":
            columns[name] = np.array(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)))
        elif kind == "time":
            moments = st.none() | st.datetimes(
                min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
            )
            columns[name] = pd.to_datetime(
                pd.Series(draw(st.lists(moments, min_size=rows, max_size=rows)), dtype=object)
            ).to_numpy()
        else:
            values = draw(st.lists(TEXT, min_size=rows, max_size=rows))
            columns[name] = pd.Series(values, dtype="category" if kind == "cat" else object)
    return pd.DataFrame(columns, index=range(rows))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), bins=st.integers(1, 7), max_categories=st.integers(1, 4))
def test_profile_invariants_hold_for_any_frame(
    frame: pd.DataFrame, bins: int, max_categories: int
) -> None:
    profile = profile_frame(frame, bins=bins, max_categories=max_categories)
    assert (profile.n_rows, profile.n_columns) == frame.shape
    assert profile.duplicate_rows == (frame.duplicated().sum() if frame.shape[1] else 0)
    for name, column in profile.columns.items():
        series = frame[name]
        assert column.count + column.missing == len(frame)
        assert column.missing == series.isna().sum()
        if column.histogram is not None:
            edges, counts = column.histogram.edges, column.histogram.counts
            assert len(edges) == len(counts) + 1
            assert all(a <= b for a, b in itertools.pairwise(edges))
            assert sum(counts) == column.count and min(counts) >= 0
            assert len(counts) in (1, bins)
        if column.categories is not None:
            assert sum(column.categories.values()) == column.count
            assert len(column.categories) <= max_categories + 1
            named = len(column.categories) - (1 if column.other_categories else 0)
            assert named + column.other_categories == column.distinct
        if column.kind == "numeric" and column.numeric is not None:
            finite = series.to_numpy(dtype=float, na_value=np.nan)
            finite = finite[np.isfinite(finite)]
            assert column.numeric.min == finite.min() and column.numeric.max == finite.max()
            assert column.numeric.infinite == column.count - len(finite)
    assert DatasetProfile.from_json(profile.to_json()) == profile
    for row in profile.correlations.values():
        assert all(r is None or -1.0 <= r <= 1.0 for r in row.values())
