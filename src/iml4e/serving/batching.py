"""Adaptive micro-batching: concurrent requests answered by one ``predict`` call.

A request that arrives while the model is idle is predicted at once (no added latency). Requests
that arrive while a ``predict`` is running wait for it and are then predicted together, up to
``max_rows`` rows per call: under load, batches grow by themselves, and the wait of any request
is bounded by the duration of the call in progress. ``predict`` runs on one worker thread, so
the event loop keeps reading requests meanwhile. When a batch fails, its requests are predicted
one by one, so a bad request gets its own error and the others their answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

MAX_BATCH_ROWS = 1024

Predict = Callable[[pd.DataFrame], list[Any]]


class MicroBatcher:
    """Collects prepared frames and predicts them in batches on one thread."""

    def __init__(
        self,
        predict: Predict,
        *,
        max_rows: int = MAX_BATCH_ROWS,
        on_batch: Callable[[int], None] = lambda rows: None,
    ) -> None:
        self.predict = predict
        self.max_rows = max_rows
        self.on_batch = on_batch
        self._pending: list[tuple[pd.DataFrame, asyncio.Future[list[Any]]]] = []
        self._running = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="iml4e-predict")

    @property
    def busy(self) -> bool:
        """Whether a batch is being predicted or requests are waiting for one."""
        return self._running or bool(self._pending)

    async def submit(self, frame: pd.DataFrame) -> list[Any]:
        """The predictions for ``frame``, possibly computed together with other requests."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._pending.append((frame, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._take()
                await loop.run_in_executor(self._thread, self._predict_batch, batch, loop)
        finally:
            self._running = False

    def _take(self) -> list[tuple[pd.DataFrame, asyncio.Future[list[Any]]]]:
        taken, rows = [], 0
        while self._pending and (not taken or rows + len(self._pending[0][0]) <= self.max_rows):
            item = self._pending.pop(0)
            taken.append(item)
            rows += len(item[0])
        return taken

    def _predict_batch(
        self,
        batch: list[tuple[pd.DataFrame, asyncio.Future[list[Any]]]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        frames = [frame for frame, _ in batch]
        try:
            joined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            outputs = self.predict(joined)
            self.on_batch(len(joined))
        except Exception as failure:
            if len(batch) == 1:
                _settle(loop, batch[0][1], error=failure)
                return
            for frame, future in batch:  # find the request at fault; answer the others
                try:
                    answer = self.predict(frame)
                    self.on_batch(len(frame))
                    _settle(loop, future, result=answer)
                except Exception as exc:
                    _settle(loop, future, error=exc)
            return
        start = 0
        for frame, future in batch:
            _settle(loop, future, result=outputs[start : start + len(frame)])
            start += len(frame)

    def close(self) -> None:
        """Stop the worker thread once the current batch is done."""
        self._thread.shutdown(wait=True)


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[list[Any]],
    *,
    result: list[Any] | None = None,
    error: BaseException | None = None,
) -> None:
    def apply() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result or [])

    loop.call_soon_threadsafe(apply)
