"""Errors of the registry room."""

from iml4e.errors import CheckFailed, Iml4eError


class RegistryError(Iml4eError):
    """The model registry refused an operation."""


class GateFailed(CheckFailed):
    """A model did not meet the thresholds required to register or promote it."""

    def __init__(self, message: str, *, failures: list[str], where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.failures = failures
