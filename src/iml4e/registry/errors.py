"""Errors of the registry room."""

from iml4e.errors import BadInput, CheckFailed, Iml4eError


class RegistryError(Iml4eError):
    """The model registry refused an operation."""


class GateFailed(CheckFailed):
    """A model did not meet the thresholds required to register or promote it."""

    def __init__(self, message: str, *, failures: list[str], where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.failures = failures


class ModelNotFound(BadInput):
    """A model name or version that the registry does not hold (CLI exit 2)."""


class InvalidModelName(BadInput):
    """A model name MLflow's registry or iml4e's records cannot hold (CLI exit 2)."""


class RegistryBusy(RegistryError):
    """Another promotion, rollback or alias move of the same model held its lock too long."""


class PolicyInvalid(BadInput):
    """A promotion policy file that cannot be used; ``where`` names the file and the key."""


class PromotionRejected(CheckFailed):
    """A promotion policy was not met; ``failures`` lists every failed check."""

    def __init__(self, message: str, *, failures: list[str], where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.failures = failures


class NothingToRollBack(CheckFailed):
    """An alias has no promotion left to undo."""
