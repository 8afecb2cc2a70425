"""Errors of the serving room."""

from iml4e.errors import BadInput, Iml4eError


class ServingError(Iml4eError):
    """The model server or a deployment misbehaved."""


class PayloadError(BadInput):
    """A request body the model cannot take; ``where`` names the field (HTTP 400/422)."""

    def __init__(self, message: str, *, where: str | None = None, status: int = 400) -> None:
        super().__init__(message, where=where)
        self.status = status


class ModelLoadError(BadInput, ServingError):
    """The model URI does not resolve to a loadable model."""


class DeploymentNotFound(BadInput, ServingError):
    """No deployment with that name."""


class DeploymentPaused(ServingError):
    """An operator paused the deployment and it has no fallback model (HTTP 503)."""


class UnknownRequest(BadInput, ServingError):
    """No logged request with that id in the deployment's inference log."""


class UnknownDeploymentState(BadInput, ServingError):
    """A deployment state that is not one of :data:`iml4e.serving.deployments.STATES`."""


class InvalidDeploymentSpec(BadInput, ServingError):
    """Options of a new deployment that cannot work together; ``where`` names the option."""


class DeploymentRunning(BadInput, ServingError):
    """A deployment of that name is already running; nothing new was started."""


class DeploymentFailed(ServingError):
    """A deployment's server exited or never answered ``/health``; the message has its log tail."""


class DeploymentNotManaged(BadInput, ServingError):
    """A deployment whose server was started by hand (``iml4e serve``): no pid to signal."""
