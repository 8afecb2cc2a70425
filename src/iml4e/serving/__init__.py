"""The serving room: the model server, its protocols, the inference log and deployments."""

from iml4e.serving.deployments import (
    STATES,
    DeploymentInfo,
    add_deployment_event,
    deployment_events,
    get_deployment,
    list_deployments,
    record_deployment,
    set_deployment_state,
)
from iml4e.serving.errors import (
    DeploymentFailed,
    DeploymentNotFound,
    DeploymentNotManaged,
    DeploymentRunning,
    InvalidDeploymentSpec,
    ModelLoadError,
    PayloadError,
    ServingError,
    UnknownDeploymentState,
)
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log

__all__ = [
    "STATES",
    "DeploymentFailed",
    "DeploymentInfo",
    "DeploymentNotFound",
    "DeploymentNotManaged",
    "DeploymentRunning",
    "InferenceLogWriter",
    "InferenceRecord",
    "InvalidDeploymentSpec",
    "ModelLoadError",
    "PayloadError",
    "ServingError",
    "UnknownDeploymentState",
    "add_deployment_event",
    "deployment_events",
    "get_deployment",
    "list_deployments",
    "read_inference_log",
    "record_deployment",
    "set_deployment_state",
]
