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
    DeploymentPaused,
    DeploymentRunning,
    InvalidDeploymentSpec,
    ModelLoadError,
    PayloadError,
    ServingError,
    UnknownDeploymentState,
    UnknownRequest,
)
from iml4e.serving.inference_log import (
    InferenceLogWriter,
    InferenceRecord,
    find_inference_records,
    read_inference_log,
)
from iml4e.serving.operator import (
    OverrideRecord,
    list_overrides,
    pause_deployment,
    record_override,
    resume_deployment,
)
from iml4e.serving.spec import ServeSpec

__all__ = [
    "STATES",
    "DeploymentFailed",
    "DeploymentInfo",
    "DeploymentNotFound",
    "DeploymentNotManaged",
    "DeploymentPaused",
    "DeploymentRunning",
    "InferenceLogWriter",
    "InferenceRecord",
    "InvalidDeploymentSpec",
    "ModelLoadError",
    "OverrideRecord",
    "PayloadError",
    "ServeSpec",
    "ServingError",
    "UnknownDeploymentState",
    "UnknownRequest",
    "add_deployment_event",
    "deployment_events",
    "find_inference_records",
    "get_deployment",
    "list_deployments",
    "list_overrides",
    "pause_deployment",
    "read_inference_log",
    "record_deployment",
    "record_override",
    "resume_deployment",
    "set_deployment_state",
]
