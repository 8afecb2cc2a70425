"""What can go wrong with a pipeline, as types the CLI and HTTP edges turn into messages."""

from __future__ import annotations

from iml4e.errors import BadInput, CheckFailed, Iml4eError
from iml4e.store.errors import NotFound


class PipelineError(Iml4eError):
    """Base class of the pipelines room's errors."""


class PipelineDefinitionError(BadInput):
    """The pipeline cannot run as written: a missing input, a type mismatch, a cycle.

    Raised while the graph is built, before any step runs; ``where`` names the step (and the
    argument) at fault.
    """


class CycleError(PipelineDefinitionError):
    """The steps depend on each other in a circle; ``steps`` lists the circle in order."""

    def __init__(self, steps: list[str]) -> None:
        super().__init__(
            "the steps form a cycle: " + " -> ".join([*steps, steps[0]]), where=steps[0]
        )
        self.steps = steps


class InvalidParameter(BadInput):
    """A pipeline or step parameter has the wrong name, type or value."""


class StepFailed(CheckFailed):
    """A step raised (after its retries), timed out or returned something unusable.

    The run is recorded as failed; ``run_id`` resumes it with ``iml4e pipeline resume``.
    """

    def __init__(self, message: str, *, step: str, run_id: str) -> None:
        super().__init__(message, where=f"step {step}")
        self.step = step
        self.run_id = run_id


class UnknownRun(BadInput):
    """No pipeline run has this id (or id prefix)."""


class UnknownExecutor(BadInput):
    """No executor is registered under this name or URI scheme."""


class ExecutorUnavailable(BadInput):
    """The executor's engine could not be reached or started (``where`` names the address)."""


class KfpExportError(BadInput):
    """The pipeline cannot be written as a KFP pipeline; ``where`` says what is at fault."""


class PipelineNotFound(BadInput):
    """A ``module:attribute`` reference does not name a pipeline."""


class NotInStep(PipelineError):
    """:func:`current_step` was called outside a running step."""


class ScheduleInvalid(BadInput):
    """A pipeline schedule cannot be added as given: its name or its interval is unusable."""


class ScheduleExists(BadInput):
    """A pipeline schedule of this name exists already."""


class UnknownSchedule(NotFound):
    """No pipeline schedule has this name."""
