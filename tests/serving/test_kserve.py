"""KServe InferenceService manifests rendered from recorded deployments.

No Kubernetes cluster exists where these tests run: the YAML is parsed and its fields checked
against what KServe's v1beta1 API expects, and the storage URI against the real MLflow registry.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from iml4e.serving.deployments import DeploymentInfo, record_deployment_start
from iml4e.serving.errors import DeploymentNotFound
from iml4e.serving.kserve import (
    ModelArtifact,
    canary_traffic_percent,
    inference_service_manifest,
    kubernetes_name,
    render_inference_service,
)
from iml4e.store import open_store
from tests.serving.conftest import RegisteredModel


def _record(model: RegisteredModel, name: str, **spec: object) -> None:
    store = open_store(model.settings)
    try:
        record_deployment_start(
            store,
            name,
            model_name=model.name,
            model_version=model.version,
            host="127.0.0.1",
            port=8080,
            url="http://127.0.0.1:8080",
            log_path="unused.log",
            spec={"model_uri": f"models:/{model.name}@champion", "workers": 3, **spec},
            actor="alice",
        )
    finally:
        store.close()


def test_render_names_the_model_version_and_its_artifact_folder(
    registered_model: RegisteredModel,
) -> None:
    _record(registered_model, "Tiny_Classifier.Prod")
    text = render_inference_service(registered_model.settings, "Tiny_Classifier.Prod")
    manifest = yaml.safe_load(text)
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest["kind"] == "InferenceService"
    metadata = manifest["metadata"]
    assert metadata["name"] == "tiny-classifier-prod"
    assert metadata["labels"]["iml4e.io/model-name"] == registered_model.name
    assert metadata["labels"]["iml4e.io/model-version"] == registered_model.version
    assert metadata["annotations"]["iml4e.io/deployment"] == "Tiny_Classifier.Prod"
    predictor = manifest["spec"]["predictor"]
    assert predictor["minReplicas"] == 3
    assert "canaryTrafficPercent" not in predictor
    model = predictor["model"]
    assert model["modelFormat"] == {"name": "mlflow"}
    assert model["protocolVersion"] == "v2"
    assert set(model["resources"]) == {"requests", "limits"}
    storage = urlparse(model["storageUri"])
    assert storage.scheme == "file"
    assert (Path(storage.path) / "MLmodel").is_file()  # the real model folder
    assert "copy the model folder to s3:// or" in text  # a local path is flagged


def test_a_canary_becomes_canary_traffic_percent_on_the_challenger(
    registered_model: RegisteredModel,
) -> None:
    challenger = f"models:/{registered_model.name}/{registered_model.version}"
    _record(registered_model, "canary", challenger_uri=challenger, split=0.25)
    text = render_inference_service(registered_model.settings, "canary")
    predictor = yaml.safe_load(text)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 25
    assert "previously rolled-out revision" in text


def test_shadow_and_fallback_are_named_as_not_rendered(registered_model: RegisteredModel) -> None:
    _record(registered_model, "shadowed", shadow_uri="models:/other@x", fallback_uri="models:/o/1")
    text = render_inference_service(registered_model.settings, "shadowed")
    assert "Not rendered: shadow models:/other@x" in text
    assert "Not rendered: fallback models:/o/1" in text
    assert "canaryTrafficPercent" not in yaml.safe_load(text)["spec"]["predictor"]


def test_an_unknown_deployment_is_bad_input(registered_model: RegisteredModel) -> None:
    with pytest.raises(DeploymentNotFound):
        render_inference_service(registered_model.settings, "never-created")


def test_cluster_storage_is_not_flagged_and_labels_follow_the_served_model() -> None:
    info = DeploymentInfo(
        name="fraud",
        model_name="fraud",
        model_version="4",
        state="serving",
        url=None,
        updated_at=datetime(2026, 1, 1),
        spec={"workers": 1, "split": 0.004, "challenger_uri": "models:/fraud@challenger"},
    )
    champion = ModelArtifact("fraud", "4", "s3://models/fraud/4")
    challenger = ModelArtifact("fraud", "5", "s3://models/fraud/5")
    assert champion.on_cluster_storage
    manifest = inference_service_manifest(info, champion, challenger)
    predictor = manifest["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "s3://models/fraud/5"
    assert predictor["canaryTrafficPercent"] == 1  # never 0: that would be no canary
    assert manifest["metadata"]["labels"]["iml4e.io/model-version"] == "5"
    assert manifest["metadata"]["annotations"]["iml4e.io/model"] == "models:/fraud/4"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Credit_Default", "credit-default"),
        ("2024.model", "m-2024-model"),
        ("--x--", "x"),
        ("a" * 80, "a" * 45),
    ],
)
def test_kubernetes_names_are_dns_labels_starting_with_a_letter(name: str, expected: str) -> None:
    assert kubernetes_name(name) == expected


@pytest.mark.parametrize(("split", "percent"), [(0.1, 10), (0.999, 99), (0.5, 50)])
def test_canary_percent(split: float, percent: int) -> None:
    assert canary_traffic_percent(split) == percent
