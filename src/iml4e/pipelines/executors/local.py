"""The default executor: steps run in threads of this process, independent branches at once.

Outputs stay in memory for the rest of the run (keyed by content hash), so a step reads what
its upstream step returned without loading it back from the artifact root. Worker threads are
daemons: an attempt abandoned after its timeout cannot be stopped (Python threads cannot be
killed), so a fresh thread takes its place and the stuck one never blocks the process's exit.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from typing import Any

from iml4e.pipelines.execute import StepOutcome, StepTask, execute_step

_STOP = object()


class LocalExecutor:
    """Runs up to ``workers`` steps at once in daemon threads (default: one per CPU)."""

    name = "local"
    reports_running = True  # futures turn running when a thread picks the attempt up

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._values: dict[str, Any] = {}
        self._threads: list[threading.Thread] = []
        self._abandoned: set[Future[StepOutcome]] = set()
        for _ in range(self.workers):
            self._start_thread()

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"iml4e-step-{len(self._threads)}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            task, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(execute_step(task, self._values))
            except BaseException as exc:  # execute_step catches step errors; this is a bug
                future.set_exception(exc)
            if future in self._abandoned:
                return  # a replacement thread already took this one's place

    def submit(self, task: StepTask) -> Future[StepOutcome]:
        future: Future[StepOutcome] = Future()
        self._queue.put((task, future))
        return future

    def abandon(self, future: Future[StepOutcome]) -> None:
        if future.cancel():
            return
        self._abandoned.add(future)
        self._start_thread()

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        self._values.clear()


def open_local_executor(spec: str, settings: Any) -> LocalExecutor:
    """``local`` or ``local:N``."""
    from iml4e.pipelines.errors import UnknownExecutor

    _, _, count = spec.partition(":")
    if not count:
        return LocalExecutor(settings.pipeline_workers)
    if not count.isdigit() or int(count) < 1:
        raise UnknownExecutor("local:N takes a positive number of threads", where=spec)
    return LocalExecutor(int(count))
