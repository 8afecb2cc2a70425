"""The interface every executor implements: run step attempts somewhere, hand back futures."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from iml4e.pipelines.execute import StepOutcome, StepTask


class Executor(Protocol):
    """Runs :class:`StepTask` attempts; the runner decides what runs when and records it.

    ``submit`` must not block on the step; ``abandon`` is called for an attempt that ran past
    its timeout (cancel it if the engine can, and never deliver its outcome as the step's).
    An executor whose futures turn ``running()`` when the attempt really starts sets
    ``reports_running = True``, so timeouts do not count the time an attempt waits.
    """

    name: str

    def submit(self, task: StepTask) -> Future[StepOutcome]: ...

    def abandon(self, future: Future[StepOutcome]) -> None: ...

    def close(self) -> None: ...
