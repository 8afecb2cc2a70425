"""The artifact store: content-addressed files on real folders, file:// URIs and pyarrow's fs."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iml4e.errors import Iml4eError
from iml4e.pipelines.artifacts import (
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactRef,
    ArtifactStore,
    artifact_store_for,
)
from iml4e.pipelines.serializers import NotSerializable, UnknownSerializer, serializer_named


def stored_files(root: Path) -> list[Path]:
    """Every file under ``root``, scratch files included."""
    return sorted(path for path in root.rglob("*") if path.is_file())


def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(50), "y": np.linspace(0, 1, 50), "k": ["a", "b"] * 25})


def test_save_places_the_file_at_its_content_address(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "artifacts"))
    ref = store.save(frame())
    path = Path(ref.uri)
    assert path.is_file()
    data = path.read_bytes()
    assert ref.content_hash == hashlib.sha256(data).hexdigest()
    assert path == tmp_path / "artifacts" / ref.content_hash[:2] / f"{ref.content_hash}.parquet"
    assert ref.uri == store.uri_for(ref.content_hash, ".parquet")
    assert ref.serializer == "parquet"
    assert ref.type_name == "pandas.core.frame.DataFrame"
    assert ref.size_bytes == len(data)


@pytest.mark.parametrize(
    "value",
    [frame(), frame()["y"], np.eye(3), {"accuracy": 0.9, "labels": ["a", "b"]}, None],
    ids=["frame", "series", "array", "json", "none"],
)
def test_load_returns_an_equal_value(value: object, tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    back = store.load(store.save(value))
    if isinstance(value, pd.DataFrame):
        pd.testing.assert_frame_equal(back, value)  # type: ignore[arg-type]
    elif isinstance(value, pd.Series):
        pd.testing.assert_series_equal(back, value)  # type: ignore[arg-type]
    elif isinstance(value, np.ndarray):
        np.testing.assert_array_equal(back, value)  # type: ignore[arg-type]
    else:
        assert back == value


def test_a_relative_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ref = ArtifactStore("store").save([1, 2])
    assert ref.uri == f"{tmp_path}/store/{ref.content_hash[:2]}/{ref.content_hash}.json"


def test_the_same_value_saved_twice_is_stored_once(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    first, second = store.save(frame()), store.save(frame())
    assert first == second
    assert stored_files(tmp_path) == [Path(first.uri)]


def test_different_values_are_different_files(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    refs = {store.save({"n": n}).content_hash for n in range(5)}
    assert len(refs) == 5
    assert len(stored_files(tmp_path)) == 5


def test_concurrent_saves_of_the_same_value_store_one_file(tmp_path: Path) -> None:
    workers = 16
    start = threading.Barrier(workers)

    def save(_: int) -> ArtifactRef:
        store = ArtifactStore(str(tmp_path))  # a store per thread, as separate steps would have
        start.wait()
        return store.save(frame())

    with ThreadPoolExecutor(workers) as pool:
        refs = set(pool.map(save, range(workers)))
    assert len(refs) == 1
    (ref,) = refs
    assert stored_files(tmp_path) == [Path(ref.uri)]
    pd.testing.assert_frame_equal(ArtifactStore(str(tmp_path)).load(ref), frame())  # type: ignore[arg-type]


def test_a_serializer_can_be_chosen_by_name_or_object(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    by_name = store.save(np.arange(3), serializer="npy")
    assert by_name.serializer == "npy"
    by_object = store.save({"a": 1}, serializer=serializer_named("json"))
    assert by_object.serializer == "json"
    with pytest.raises(UnknownSerializer):
        store.save({"a": 1}, serializer="pickle")


def test_a_failing_dump_is_not_serializable_and_leaves_nothing(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    mixed = pd.DataFrame({"mixed": [1, "two", 3.0]})
    with pytest.raises(NotSerializable) as caught:
        store.save(mixed)
    message = caught.value.message
    assert message.startswith("cannot store a pandas.core.frame.DataFrame as parquet (Arrow")
    assert "two" in message or "mixed" in message
    with pytest.raises(NotSerializable, match=r"a set as json \(TypeError"):
        store.save({1, 2}, serializer="json")
    assert stored_files(tmp_path) == []


def test_an_unsupported_value_is_not_serializable(tmp_path: Path) -> None:
    with pytest.raises(NotSerializable, match="cannot store a function"):
        ArtifactStore(str(tmp_path)).save(lambda: 1)


def test_loading_a_deleted_artifact_is_artifact_missing(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    ref = store.save({"a": 1})
    assert store.exists(ref)
    Path(ref.uri).unlink()
    assert not store.exists(ref)
    with pytest.raises(ArtifactMissing) as caught:
        store.load(ref)
    assert caught.value.where == ref.uri
    assert isinstance(caught.value, Iml4eError)


def test_loading_a_modified_artifact_is_artifact_corrupt(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path))
    ref = store.save({"a": 1})
    Path(ref.uri).write_bytes(b'{"a":2}')
    with pytest.raises(ArtifactCorrupt, match=f"not {ref.content_hash}") as caught:
        store.load(ref)
    assert caught.value.where == ref.uri


def test_a_file_uri_root_stores_in_that_folder(tmp_path: Path) -> None:
    folder = tmp_path / "with space"
    store = ArtifactStore(folder.as_uri() + "/")
    ref = store.save(frame())
    assert ref.uri == f"{folder.as_uri()}/{ref.content_hash[:2]}/{ref.content_hash}.parquet"
    assert stored_files(folder) == [folder / ref.content_hash[:2] / f"{ref.content_hash}.parquet"]
    assert store.exists(ref)
    pd.testing.assert_frame_equal(store.load(ref), frame())  # type: ignore[arg-type]
    assert store.save(frame()) == ref


def test_a_ref_loads_from_another_store_too(tmp_path: Path) -> None:
    ref = ArtifactStore((tmp_path / "a").as_uri()).save([1, "x"])
    other = ArtifactStore(str(tmp_path / "b"))
    assert other.exists(ref)
    assert other.load(ref) == [1, "x"]


def test_artifact_store_for_uses_the_pipelines_folder_of_the_artifact_root(tmp_path: Path) -> None:
    store = artifact_store_for(tmp_path.as_uri() + "/")
    assert store.root == f"{tmp_path.as_uri()}/pipelines/artifacts"
    ref = store.save("hello")
    assert (tmp_path / "pipelines" / "artifacts" / ref.content_hash[:2]).is_dir()


def test_a_pyarrow_filesystem_root_uploads_and_downloads() -> None:
    # pyarrow's in-memory filesystem ("mock://") stands in for an object store: save uploads
    # through pyarrow.fs, load downloads to a temporary file
    store = ArtifactStore("mock:///bucket/artifacts")
    ref = store.save(frame())
    assert ref.uri == store.uri_for(ref.content_hash, ".parquet")
    assert ref.uri.startswith("mock:///bucket/artifacts/")
    assert store.exists(ref)
    pd.testing.assert_frame_equal(store.load(ref), frame())  # type: ignore[arg-type]
    assert store.save(frame()) == ref
    assert store.load(store.save({"a": [1]})) == {"a": [1]}


def test_a_pyarrow_filesystem_root_reports_missing_and_corrupt_artifacts() -> None:
    store = ArtifactStore("mock:///bucket/artifacts")
    ref = store.save({"a": 1})
    gone = dataclasses.replace(ref, uri=store.uri_for("0" * 64, ".json"))
    assert not store.exists(gone)
    with pytest.raises(ArtifactMissing):
        store.load(gone)
    with pytest.raises(ArtifactCorrupt):
        store.load(dataclasses.replace(ref, content_hash="0" * 64))
