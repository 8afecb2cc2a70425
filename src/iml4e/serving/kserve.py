"""A recorded deployment as a KServe ``InferenceService`` manifest (YAML), for a cluster.

The same model version that ``iml4e deploy`` serves on one machine runs on KServe's MLflow
runtime (``modelFormat: mlflow``, Open Inference Protocol v2) from its artifact location. A
canary deployment becomes KServe's canary rollout: the challenger is the latest revision and
gets ``canaryTrafficPercent`` of the traffic, the previously rolled-out revision (the champion)
the rest. Shadow and fallback models have no KServe equivalent and are named in comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml

from iml4e.config import Settings
from iml4e.serving.deployments import DeploymentInfo, get_deployment
from iml4e.serving.errors import ModelLoadError
from iml4e.serving.model_refs import resolve_model
from iml4e.store import open_store

if TYPE_CHECKING:
    from mlflow import MlflowClient

API_VERSION = "serving.kserve.io/v1beta1"
MAX_NAME_LENGTH = 45
"""KServe derives ``{name}-predictor-00001`` and such from the name; those must fit in 63."""
RESOURCES = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "1", "memory": "2Gi"},
}
"""Per replica; a replica is one model server process, as one ``--workers`` worker is."""
CLUSTER_SCHEMES = ("s3", "gs", "pvc", "hdfs", "webhdfs", "http", "https", "oci", "hf")
LABEL_VALUE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ModelArtifact:
    """A registry model version and where its files are."""

    name: str
    version: str
    storage_uri: str

    @property
    def on_cluster_storage(self) -> bool:
        """Whether a KServe storage initializer can fetch it (not a local file)."""
        return urlparse(self.storage_uri).scheme in CLUSTER_SCHEMES


def render_inference_service(settings: Settings, name: str) -> str:
    """The ``InferenceService`` YAML for recorded deployment ``name``, with explaining comments.

    Storage URIs are the model versions' artifact locations as MLflow resolves them now; a local
    folder is written as ``file://`` and must be copied to ``s3://`` or ``pvc://`` first.
    """
    from iml4e.tracking import connect_tracking

    store = open_store(settings)
    try:
        info = get_deployment(store, name)
        client = connect_tracking(settings, store)
        champion = model_artifact(client, info.model_name, info.model_version)
        challenger = None
        if info.spec.get("challenger_uri"):
            found = resolve_model(
                client, info.spec["challenger_uri"], where="challenger", alias_may_be_unset=True
            )
            if found.version is not None:  # a challenger alias not set yet has no canary
                challenger = model_artifact(client, found.name, found.version)
    finally:
        store.close()
    manifest = inference_service_manifest(info, champion, challenger)
    header = _comments(info, champion, challenger)
    body = yaml.safe_dump(manifest, sort_keys=False, default_flow_style=False)
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + body


def model_artifact(client: MlflowClient, name: str, version: str) -> ModelArtifact:
    """Where model ``name`` version ``version``'s files are (a ``models:/m-…`` or ``runs:/``
    source resolved to the artifact store's URI; a plain path as ``file://``)."""
    from mlflow.exceptions import MlflowException

    try:
        uri = client.get_model_version_download_uri(name, version)
    except MlflowException:
        raise ModelLoadError(
            "no such model version in the registry", where=f"model {name!r} version {version}"
        ) from None
    if not urlparse(uri).scheme:
        uri = Path(uri).resolve().as_uri()
    return ModelArtifact(name, str(version), uri)


def inference_service_manifest(
    info: DeploymentInfo, champion: ModelArtifact, challenger: ModelArtifact | None = None
) -> dict[str, Any]:
    """The ``InferenceService`` of ``info`` as plain data (``challenger``: its canary)."""
    served = challenger or champion
    labels = {
        "app.kubernetes.io/name": kubernetes_name(info.name),
        "app.kubernetes.io/managed-by": "iml4e",
        "iml4e.io/model-name": _label_value(served.name),
        "iml4e.io/model-version": _label_value(served.version),
    }
    annotations = {
        "iml4e.io/deployment": info.name,
        "iml4e.io/model": f"models:/{champion.name}/{champion.version}",
        "iml4e.io/model-storage-uri": champion.storage_uri,
    }
    predictor: dict[str, Any] = {"minReplicas": int(info.spec.get("workers") or 1)}
    if challenger is not None:
        annotations["iml4e.io/challenger"] = f"models:/{challenger.name}/{challenger.version}"
        annotations["iml4e.io/split"] = str(info.spec["split"])
        predictor["canaryTrafficPercent"] = canary_traffic_percent(float(info.spec["split"]))
    predictor["model"] = {
        "modelFormat": {"name": "mlflow"},
        "protocolVersion": "v2",
        "storageUri": served.storage_uri,
        "resources": {kind: dict(values) for kind, values in RESOURCES.items()},
    }
    return {
        "apiVersion": API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": kubernetes_name(info.name),
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {"predictor": predictor},
    }


def canary_traffic_percent(split: float) -> int:
    """KServe's whole-number percentage for a split fraction: at least 1, at most 99."""
    return min(99, max(1, round(split * 100)))


def kubernetes_name(name: str) -> str:
    """``name`` as a KServe resource name: lowercase letters, digits and ``-``, starting with a
    letter, at most :data:`MAX_NAME_LENGTH` characters."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if not text or not text[0].isalpha():
        text = f"m-{text}".rstrip("-")
    return text[:MAX_NAME_LENGTH].rstrip("-")


def _label_value(value: str) -> str:
    return LABEL_VALUE.sub("-", value).strip("-._")[:63].rstrip("-._")


def _comments(
    info: DeploymentInfo, champion: ModelArtifact, challenger: ModelArtifact | None
) -> list[str]:
    lines = [
        f"KServe InferenceService for iml4e deployment {info.name!r}, rendered by iml4e.",
        f"Model {champion.name} version {champion.version} on KServe's MLflow runtime (V2).",
    ]
    if challenger is not None:
        lines += [
            "",
            f"Canary: {canary_traffic_percent(float(info.spec['split']))}% of requests go to the "
            f"latest revision (this storageUri, {challenger.name} version {challenger.version});",
            "KServe sends the rest to the previously rolled-out revision, which must be the",
            f"champion: apply it first with storageUri {champion.storage_uri}",
            "and no canaryTrafficPercent. Remove canaryTrafficPercent to promote the canary.",
        ]
    for option in ("shadow_uri", "fallback_uri"):
        if info.spec.get(option):
            lines += [
                "",
                f"Not rendered: {option.removesuffix('_uri')} {info.spec[option]} "
                "(KServe has no equivalent; it serves locally only).",
            ]
    local = [a for a in (champion, challenger) if a is not None and not a.on_cluster_storage]
    if local:
        lines += [
            "",
            "A local path cannot be read from a cluster: copy the model folder to s3:// or",
            "pvc:// (or another storage KServe reads) and set storageUri to the copy.",
        ]
    return lines
