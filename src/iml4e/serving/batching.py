"""Adaptive micro-batching: concurrent requests answered by one ``predict`` call.

A request that arrives while the model is idle is predicted at once (no added latency). Requests
that arrive while a ``predict`` is running wait for it and are then predicted together, up to
``max_rows`` rows per call: under load, batches grow by themselves.

Clients that were just answered often send their next request right away. So after a batch,
the next one waits for as many rows as are pending plus those just answered, but never longer
than ``linger_share`` of the last ``predict`` call: the wait of any request stays bounded by
about one and a half calls. Without that wait, a fixed number of busy clients splits into two
half-size batches taking turns, and each row costs twice the per-call overhead.

``predict`` takes the batch's requests as they were submitted (it builds one DataFrame for them
all) and runs on one worker thread, so the event loop keeps reading requests meanwhile. When a
batch fails, its requests are predicted one by one, so a bad request gets its own error and the
others their answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence, Sized
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

MAX_BATCH_ROWS = 1024
LINGER_SHARE = 0.5
"""How long a batch may wait for returning clients, as a share of the last predict call."""
MAX_LINGER_S = 0.005

Rows = TypeVar("Rows", bound=Sized)
"""One request's rows (anything with a length: prepared rows, a DataFrame)."""

Outcome = tuple["asyncio.Future[list[Any]]", list[Any] | None, BaseException | None]


class MicroBatcher(Generic[Rows]):
    """Collects requests' rows and predicts them in batches on one thread.

    ``predict`` gets a list of requests' rows and returns one output per row, in order.
    """

    def __init__(
        self,
        predict: Callable[[Sequence[Rows]], list[Any]],
        *,
        max_rows: int = MAX_BATCH_ROWS,
        on_batch: Callable[[int], None] = lambda rows: None,
        linger_share: float = LINGER_SHARE,
    ) -> None:
        self.predict = predict
        self.max_rows = max_rows
        self.on_batch = on_batch
        self.linger_share = linger_share
        self._pending: deque[tuple[Rows, asyncio.Future[list[Any]]]] = deque()
        self._pending_rows = 0
        self._enough: asyncio.Future[None] | None = None
        self._wanted_rows = 0
        self._running = False
        self._drainer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="iml4e-predict", initializer=_one_native_thread
        )

    @property
    def busy(self) -> bool:
        """Whether a batch is being predicted or requests are waiting for one."""
        return self._running or bool(self._pending)

    async def submit(self, rows: Rows) -> list[Any]:
        """The predictions for ``rows``, possibly computed together with other requests."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((rows, future))
        self._pending_rows += len(rows)
        if self._enough is not None and self._pending_rows >= self._wanted_rows:
            self._stop_lingering()
        if not self._running:
            self._running = True
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._take()
                started = time.perf_counter()
                outcomes = await loop.run_in_executor(self._thread, self._predict_batch, batch)
                seconds = time.perf_counter() - started
                for future, result, error in outcomes:
                    if future.done():
                        continue
                    if error is not None:
                        future.set_exception(error)
                    else:
                        future.set_result(result or [])
                answered = sum(len(rows) for rows, _ in batch)
                wanted = min(self.max_rows, self._pending_rows + answered)
                await self._linger(wanted, min(MAX_LINGER_S, self.linger_share * seconds))
        finally:
            self._running = False

    async def _linger(self, wanted_rows: int, seconds: float) -> None:
        """Wait until ``wanted_rows`` rows are pending, at most ``seconds``."""
        if self._pending_rows >= wanted_rows or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        self._wanted_rows = wanted_rows
        self._enough = loop.create_future()
        timer = loop.call_later(seconds, self._stop_lingering)
        try:
            await self._enough
        finally:
            timer.cancel()
            self._enough = None

    def _stop_lingering(self) -> None:
        if self._enough is not None and not self._enough.done():
            self._enough.set_result(None)

    def _take(self) -> list[tuple[Rows, asyncio.Future[list[Any]]]]:
        taken, rows = [], 0
        pending = self._pending
        while pending and (not taken or rows + len(pending[0][0]) <= self.max_rows):
            item = pending.popleft()
            taken.append(item)
            rows += len(item[0])
        self._pending_rows -= rows
        return taken

    def _predict_batch(self, batch: list[tuple[Rows, asyncio.Future[list[Any]]]]) -> list[Outcome]:
        """Runs on the predict thread; the event loop settles the futures with the outcomes."""
        try:
            outputs = self.predict([rows for rows, _ in batch])
            self.on_batch(sum(len(rows) for rows, _ in batch))
        except Exception as failure:
            if len(batch) == 1:
                return [(batch[0][1], None, failure)]
            outcomes: list[Outcome] = []
            for rows, future in batch:  # find the request at fault; answer the others
                try:
                    answer = self.predict([rows])
                    self.on_batch(len(rows))
                    outcomes.append((future, answer, None))
                except Exception as exc:
                    outcomes.append((future, None, exc))
            return outcomes
        outcomes, start = [], 0
        for rows, future in batch:
            outcomes.append((future, outputs[start : start + len(rows)], None))
            start += len(rows)
        return outcomes

    def close(self) -> None:
        """Stop the worker thread once the current batch is done."""
        self._thread.shutdown(wait=True)


def _one_native_thread() -> None:
    """Limit OpenMP and BLAS to one thread in the predict thread.

    Concurrency comes from micro-batching and worker processes. A model that parallelises
    each call (scikit-learn's gradient boosting runs an OpenMP region per tree) spends far
    longer synchronising threads than predicting a few rows, and under load its threads
    wait for the CPU the server needs: 600 ms per single-row call instead of 3 ms.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
