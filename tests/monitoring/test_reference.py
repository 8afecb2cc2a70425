"""Reference profiles: what is kept of the training data, the file format and its storage."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from iml4e.config import Settings
from iml4e.monitoring.errors import ReferenceMismatch, ReferenceNotFound
from iml4e.monitoring.reference import (
    MAX_CATEGORIES,
    OTHER,
    ReferenceProfile,
    build_reference,
)
from iml4e.monitoring.reference_store import load_reference, save_reference
from iml4e.store import Store
from iml4e.store.models import MonitorReference


def training_frame(rows: int = 2_000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(40_000, 9_000, rows)
    income[:10] = np.nan
    income[10] = np.inf
    return pd.DataFrame(
        {
            "income": income,
            "age": rng.integers(18, 90, rows),
            "children": rng.integers(0, 3, rows),
            "region": rng.choice(["north", "south", None], rows),
            "member": rng.random(rows) > 0.5,
        }
    )


def test_numeric_column_keeps_its_values_statistics_and_quantile_bins() -> None:
    frame = training_frame()
    income = build_reference(frame, bins=4).columns["income"]
    values = frame["income"].to_numpy()
    finite = values[np.isfinite(values)]

    assert income.kind == "numeric"
    assert (income.n, income.missing) == (len(finite), 11)
    np.testing.assert_array_equal(income.sample, np.sort(finite))
    assert income.mean == pytest.approx(finite.mean())
    assert income.std == pytest.approx(finite.std())
    assert (income.min, income.max) == (finite.min(), finite.max())
    expected_edges = np.concatenate(([-np.inf], np.quantile(finite, [0.25, 0.5, 0.75]), [np.inf]))
    np.testing.assert_array_equal(income.bin_edges, expected_edges)
    counts = np.histogram(finite, income.bin_edges)[0]  # numpy bins are half-open on the right
    np.testing.assert_allclose(income.bin_shares, counts / len(finite))


def test_large_columns_keep_a_reproducible_uniform_sample() -> None:
    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    first = build_reference(frame, max_sample=500, seed=3).columns["x"]
    again = build_reference(frame, max_sample=500, seed=3).columns["x"]

    assert first.sample is not None and len(first.sample) == 500
    np.testing.assert_array_equal(first.sample, again.sample)
    assert np.all(np.diff(first.sample) > 0)  # sorted, drawn without replacement
    assert first.mean == pytest.approx(4_999.5)  # statistics use every value


def test_few_distinct_numbers_bool_and_text_are_categorical() -> None:
    reference = build_reference(training_frame())
    children, region, member = (reference.columns[n] for n in ("children", "region", "member"))

    assert reference.columns["age"].kind == "numeric"
    assert children.kind == "categorical" and children.value_type == "number"
    assert set(children.shares) == {"0.0", "1.0", "2.0"}
    assert region.kind == "categorical" and region.value_type == "text"
    assert set(region.shares) == {"north", "south"} and region.missing > 0
    assert sum(region.shares.values()) == pytest.approx(1.0)
    assert set(member.shares) == {"True", "False"}


def test_rare_categories_beyond_the_cap_are_pooled() -> None:
    common = [f"c{i}" for i in range(MAX_CATEGORIES)]
    rare = [f"r{i}" for i in range(50)]
    frame = pd.DataFrame({"code": common * 3 + rare})
    code = build_reference(frame).columns["code"]

    assert len(code.shares) == MAX_CATEGORIES + 1 and code.capped
    assert code.shares[OTHER] == pytest.approx(50 / len(frame))
    assert "r0" not in code.shares


def test_unsupported_dtypes_and_misaligned_predictions_are_refused() -> None:
    dates = pd.DataFrame({"when": pd.date_range("2026-01-01", periods=3)})
    with pytest.raises(ReferenceMismatch) as raised:
        build_reference(dates)
    assert raised.value.where == "when"
    with pytest.raises(ReferenceMismatch):
        build_reference(training_frame(20), predictions=[1, 2])


def test_a_profile_round_trips_through_bytes() -> None:
    frame = training_frame()
    reference = build_reference(frame, predictions=frame["income"].fillna(0) > 40_000)
    restored = ReferenceProfile.from_bytes(reference.to_bytes())

    assert restored.n_rows == reference.n_rows
    assert list(restored.columns) == list(reference.columns)
    assert restored.prediction is not None and restored.prediction.kind == "categorical"
    for name, column in reference.columns.items():
        again = restored.columns[name]
        assert (again.kind, again.n, again.missing, again.shares) == (
            column.kind,
            column.n,
            column.missing,
            column.shares,
        )
        if column.kind == "numeric":
            np.testing.assert_array_equal(again.sample, column.sample)
            np.testing.assert_array_equal(again.bin_edges, column.bin_edges)
            assert again.std == column.std


def test_garbage_is_not_a_profile() -> None:
    with pytest.raises(ReferenceMismatch):
        ReferenceProfile.from_bytes(b"not a profile")


def test_twenty_columns_load_fast() -> None:
    rng = np.random.default_rng(0)
    columns = {f"n{i}": rng.normal(size=100_000) for i in range(12)}
    columns |= {f"c{i}": rng.choice([f"v{j}" for j in range(300)], 100_000) for i in range(8)}
    data = build_reference(pd.DataFrame(columns)).to_bytes()

    best = min(_seconds(lambda: ReferenceProfile.from_bytes(data)) for _ in range(5))
    assert best < 0.05


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def test_saved_references_are_found_replaced_and_summarised(
    backend_settings: Settings, store: Store
) -> None:
    frame = training_frame()
    path = save_reference(
        backend_settings, store, build_reference(frame), model_name="credit", model_version="3"
    )
    assert path.parent.name == "credit" and path.name == "3.npz"
    smaller = build_reference(frame.head(100))
    assert (
        save_reference(backend_settings, store, smaller, model_name="credit", model_version="3")
        == path
    )

    loaded = load_reference(backend_settings, store, model_name="credit", model_version="3")
    assert loaded.n_rows == 100
    with store.session() as session:
        rows = session.query(MonitorReference).all()
    assert len(rows) == 1
    assert rows[0].columns["kinds"]["income"] == "numeric"


def test_a_missing_reference_names_the_model_version(
    make_settings: Callable[..., Settings],
) -> None:
    from iml4e.store import open_store

    settings = make_settings()
    with open_store(settings) as store, pytest.raises(ReferenceNotFound) as raised:
        load_reference(settings, store, model_name="credit", model_version="7")
    assert raised.value.where == "credit version 7"
