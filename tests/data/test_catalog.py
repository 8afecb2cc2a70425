"""The dataset catalog on real SQLite and PostgreSQL: versions, hashes, lookups, concurrency."""

from __future__ import annotations

import multiprocessing
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from iml4e.config import Settings
from iml4e.data import (
    DatasetNotFound,
    InvalidArgument,
    content_hash,
    credit_applications,
    get_dataset_version,
    list_dataset_versions,
    register_dataset_version,
)
from iml4e.errors import BadInput
from iml4e.store import NotFound, Store, open_store


@pytest.fixture
def frame() -> pd.DataFrame:
    return credit_applications(300, seed=21)


def test_first_registration_is_version_one_with_the_frame_facts(
    store: Store, frame: pd.DataFrame
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = register_dataset_version(
        store, "credit", frame, source="synthetic:credit_applications(300, seed=21)"
    )
    assert info.name == "credit"
    assert info.version == 1
    assert re.fullmatch(r"[0-9a-f]{64}", info.content_hash)
    assert info.content_hash == content_hash(frame)
    assert (info.n_rows, info.n_columns) == (300, 11)
    assert info.source == "synthetic:credit_applications(300, seed=21)"
    assert list(info.columns) == list(frame.columns)
    assert info.columns["age"] == "int64"
    assert info.columns["purpose"] == "object"
    assert before <= info.created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert get_dataset_version(store, "credit") == info


def test_registering_the_newest_content_again_is_idempotent(
    store: Store, frame: pd.DataFrame
) -> None:
    first = register_dataset_version(store, "credit", frame, source="a.parquet")
    again = register_dataset_version(store, "credit", frame.copy(), source="b.parquet")
    reindexed = register_dataset_version(
        store, "credit", frame.set_index(frame.index + 1_000), source="c.parquet"
    )
    assert again == first
    assert reindexed == first
    assert list_dataset_versions(store, "credit") == [first]


def test_changed_content_and_row_order_make_new_versions(store: Store, frame: pd.DataFrame) -> None:
    first = register_dataset_version(store, "credit", frame, source="day-1")
    shuffled = frame.sample(frac=1.0, random_state=0)
    second = register_dataset_version(store, "credit", shuffled, source="day-2")
    back = register_dataset_version(store, "credit", frame, source="day-3")
    assert [first.version, second.version, back.version] == [1, 2, 3]
    assert second.content_hash != first.content_hash
    assert back.content_hash == first.content_hash  # same content as an older version
    assert len({first.id, second.id, back.id}) == 3
    assert get_dataset_version(store, "credit", 2) == second
    assert get_dataset_version(store, "credit") == back


def test_versions_are_counted_per_name_and_listed_in_order(
    store: Store, frame: pd.DataFrame
) -> None:
    a1 = register_dataset_version(store, "b-set", frame, source="s")
    b1 = register_dataset_version(store, "a-set", frame.head(10), source="s")
    a2 = register_dataset_version(store, "b-set", frame.head(20), source="s")
    assert [a1.version, b1.version, a2.version] == [1, 1, 2]
    assert list_dataset_versions(store) == [b1, a1, a2]
    assert list_dataset_versions(store, "b-set") == [a1, a2]


def test_unknown_datasets_and_versions_are_not_found(store: Store, frame: pd.DataFrame) -> None:
    with pytest.raises(DatasetNotFound) as raised:
        get_dataset_version(store, "nothing")
    assert isinstance(raised.value, NotFound)
    assert raised.value.where == "nothing"
    with pytest.raises(DatasetNotFound):
        list_dataset_versions(store, "nothing")
    register_dataset_version(store, "credit", frame, source="s")
    with pytest.raises(DatasetNotFound, match="no version 2"):
        get_dataset_version(store, "credit", 2)
    assert list_dataset_versions(store, "credit")[0].version == 1


@pytest.mark.parametrize(
    "name", ["", "x" * 201, "has space", "a/b", "ümlaut", "semi;colon", None, 7]
)
def test_bad_names_are_bad_input_and_write_nothing(
    store: Store, frame: pd.DataFrame, name: Any
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        register_dataset_version(store, name, frame, source="s")
    assert isinstance(raised.value, BadInput)
    assert raised.value.where == "name"
    with pytest.raises(InvalidArgument):
        get_dataset_version(store, name)
    assert list_dataset_versions(store) == []


def test_longest_allowed_name_and_all_allowed_characters(store: Store, frame: pd.DataFrame) -> None:
    for name in ("x" * 200, "Credit_2024-01.v2"):
        assert register_dataset_version(store, name, frame, source="s").name == name


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        ({"source": ""}, "source"),
        ({"source": "s", "frame": [1, 2, 3]}, "frame"),
        ({"source": "s", "frame": pd.DataFrame([[1, 2]], columns=["a", "a"])}, "frame"),
        ({"source": "s", "frame": pd.DataFrame([[1, 2]], columns=[1, "1"])}, "frame"),
        ({"source": "s", "frame": pd.DataFrame({"a": [[1], [2]]})}, "frame"),
    ],
)
def test_bad_frames_and_sources_are_bad_input(
    store: Store, frame: pd.DataFrame, arguments: dict[str, Any], where: str
) -> None:
    arguments = {"frame": frame, **arguments}
    with pytest.raises(InvalidArgument) as raised:
        register_dataset_version(store, "credit", **arguments)
    assert raised.value.where == where
    assert list_dataset_versions(store) == []


def test_bad_version_numbers_are_bad_input(store: Store, frame: pd.DataFrame) -> None:
    register_dataset_version(store, "credit", frame, source="s")
    for version in (0, -1, True, "1"):
        with pytest.raises(InvalidArgument):
            get_dataset_version(store, "credit", version)  # type: ignore[arg-type]


def test_content_hash_covers_names_dtypes_values_and_order_but_not_the_index() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    digest = content_hash(frame)
    assert content_hash(frame.copy()) == digest
    assert content_hash(frame.set_index(pd.Index([7, 8, 9]))) == digest
    assert content_hash(frame.iloc[::-1]) != digest
    assert content_hash(frame.rename(columns={"a": "c"})) != digest
    assert content_hash(frame.astype({"a": "float64"})) != digest
    assert content_hash(frame[["b", "a"]]) != digest
    changed = frame.copy()
    changed.loc[1, "b"] = "q"
    assert content_hash(changed) != digest
    assert content_hash(frame.head(0)) != content_hash(frame.head(0)[["a"]])
    assert content_hash(pd.DataFrame(index=range(2))) != content_hash(pd.DataFrame(index=range(3)))


def _register_in_child(
    settings_json: str, worker: int, rounds: int, start: Any, results: Any
) -> None:
    settings = Settings.model_validate_json(settings_json)
    store = open_store(settings)
    shared = credit_applications(100, seed=99)
    start.wait(timeout=60)
    got = [("shared", register_dataset_version(store, "shared", shared, source="both").version)]
    for i in range(rounds):
        own = credit_applications(20, seed=1_000 * worker + i)
        info = register_dataset_version(store, "raced", own, source=f"worker-{worker}")
        got.append((info.content_hash, info.version))
    store.close()
    results.put(got)


def test_two_processes_registering_at_once_never_share_a_version(
    backend_settings: Settings, store: Store
) -> None:
    context = multiprocessing.get_context("spawn")
    rounds = 15
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(
            target=_register_in_child,
            args=(backend_settings.model_dump_json(), worker, rounds, start, results),
        )
        for worker in range(2)
    ]
    for worker in workers:
        worker.start()
    reported = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    shared = list_dataset_versions(store, "shared")
    assert [info.version for info in shared] == [1]
    assert [got[0] for got in reported] == [("shared", 1), ("shared", 1)]

    raced = list_dataset_versions(store, "raced")
    assert [info.version for info in raced] == list(range(1, 2 * rounds + 1))
    stored = {info.content_hash: info.version for info in raced}
    claimed = dict(pair for got in reported for pair in got[1:])
    assert claimed == stored
    assert len(np.unique(list(stored))) == 2 * rounds
