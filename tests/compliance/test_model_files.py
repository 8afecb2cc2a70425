"""Model-file safety: hashes and pickle imports, read without ever unpickling."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import mlflow.sklearn
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iml4e.compliance.model_files import scan_model_files


class _RunsACommand:
    """What an attacker puts in a model file: loading it runs a shell command."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


@pytest.fixture(scope="module")
def mlflow_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    values, labels = make_classification(n_samples=60, n_features=4, random_state=0)
    linear = make_pipeline(StandardScaler(), LogisticRegression()).fit(values, labels)
    boosted = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(values, labels)
    for name, model in (("linear", linear), ("boosted", boosted)):
        mlflow.sklearn.save_model(
            model,
            folder / name,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            pip_requirements=["scikit-learn"],
        )
    return folder


def test_a_real_sklearn_model_has_no_unsafe_imports(mlflow_models: Path) -> None:
    scan = scan_model_files(mlflow_models)

    assert scan.unsafe == []
    paths = [file.path for file in scan.files]
    assert paths == sorted(paths)
    assert "linear/model.pkl" in paths and "boosted/MLmodel" in paths
    by_path = {file.path: file for file in scan.files}
    linear = by_path["linear/model.pkl"]
    assert linear.format == "pickle"
    assert "sklearn.linear_model._logistic.LogisticRegression" in linear.imports
    assert "sklearn.preprocessing._data.StandardScaler" in linear.imports
    boosted = by_path["boosted/model.pkl"]
    assert "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor" in boosted.imports
    assert by_path["boosted/MLmodel"].format == "other"
    assert by_path["boosted/MLmodel"].imports == ()


def test_every_file_is_hashed(mlflow_models: Path) -> None:
    for file in scan_model_files(mlflow_models).files:
        content = (mlflow_models / file.path).read_bytes()
        assert file.sha256 == hashlib.sha256(content).hexdigest()
        assert file.size_bytes == len(content)


def test_a_malicious_pickle_is_flagged_without_being_loaded(tmp_path: Path) -> None:
    proof = tmp_path / "loaded"
    payload = pickle.dumps(_RunsACommand(f"touch {proof}"))
    (tmp_path / "model.bin").write_bytes(payload)  # no pickle suffix: found by its header
    (tmp_path / "old.pkl").write_bytes(pickle.dumps(_RunsACommand("echo hi"), protocol=0))

    scan = scan_model_files(tmp_path)

    assert not proof.exists()
    system = f"{os.system.__module__}.system"
    assert system in ("os.system", "posix.system", "nt.system")
    assert scan.unsafe == [f"model.bin: {system}", f"old.pkl: {system}"]
    assert scan.files[0].format == "pickle"
    data = scan.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["unsafe"] == scan.unsafe


def test_unsafe_builtins_are_flagged_and_harmless_ones_are_not(tmp_path: Path) -> None:
    (tmp_path / "eval.pkl").write_bytes(pickle.dumps(eval))
    (tmp_path / "len.pkl").write_bytes(pickle.dumps(len))
    scan = scan_model_files(tmp_path)
    assert scan.unsafe == ["eval.pkl: builtins.eval"]
    assert scan.files[1].imports == ("builtins.len",)


def test_bytes_after_the_pickle_are_ignored(tmp_path: Path) -> None:
    array = io.BytesIO()
    np.save(array, np.arange(1000, dtype=np.int64))
    payload = pickle.dumps({"classes": [0, 1]}, protocol=4) + array.getvalue()
    (tmp_path / "model.joblib").write_bytes(payload)
    (file,) = scan_model_files(tmp_path).files
    assert (file.format, file.imports, file.unsafe) == ("joblib", (), ())


def test_files_that_are_no_pickle_are_other_and_never_raise(tmp_path: Path) -> None:
    (tmp_path / "broken.pkl").write_bytes(b"\x80\x04not really a pickle")
    (tmp_path / "notes.pickle").write_text("hello, this is text")
    (tmp_path / "empty.pkl").write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "weights.bin").write_bytes(bytes(range(256)))
    scan = scan_model_files(tmp_path)
    assert [(file.path, file.format, file.imports) for file in scan.files] == [
        ("broken.pkl", "other", ()),
        ("empty.pkl", "other", ()),
        ("notes.pickle", "other", ()),
        ("sub/weights.bin", "other", ()),
    ]
    assert scan.unsafe == []
