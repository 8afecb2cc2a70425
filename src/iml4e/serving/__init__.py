"""The serving room: the model server, its protocols, the inference log and deployments."""

from iml4e.serving.deployments import (
    DeploymentInfo,
    deployment_events,
    get_deployment,
    record_deployment,
    set_deployment_state,
)
from iml4e.serving.errors import DeploymentNotFound, ModelLoadError, PayloadError, ServingError
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log

__all__ = [
    "DeploymentInfo",
    "DeploymentNotFound",
    "InferenceLogWriter",
    "InferenceRecord",
    "ModelLoadError",
    "PayloadError",
    "ServingError",
    "deployment_events",
    "get_deployment",
    "read_inference_log",
    "record_deployment",
    "set_deployment_state",
]
