"""Micro-batching: concurrent requests share predict calls; a bad one fails alone."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from iml4e.serving.batching import MicroBatcher
from iml4e.serving.errors import PayloadError


class SlowModel:
    """Doubles every value of the requests' rows; takes 20 ms per call; refuses negatives."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.threads: set[str] = set()

    def predict(self, batch: list[list[float]]) -> list[float]:
        values = [value for rows in batch for value in rows]
        self.calls.append(len(values))
        self.threads.add(threading.current_thread().name)
        time.sleep(0.02)
        if any(value < 0 for value in values):
            raise PayloadError("negative x", where="x")
        return [value * 2 for value in values]


def _run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_requests_are_predicted_together_and_answered_in_order() -> None:
    model = SlowModel()
    batches: list[int] = []
    batcher = MicroBatcher(model.predict, on_batch=batches.append)

    async def main() -> list[list[float]]:
        requests = [[float(i), float(i) + 0.5] for i in range(20)]
        return await asyncio.gather(*(batcher.submit(rows) for rows in requests))

    answers = _run(main())
    batcher.close()
    assert answers == [[2.0 * i, 2.0 * i + 1.0] for i in range(20)]
    # Submitted at once, they are predicted in far fewer calls than requests.
    assert len(model.calls) < 20 and sum(model.calls) == 40
    assert batches == model.calls
    assert model.threads == {next(iter(model.threads))} and "iml4e-predict" in str(model.threads)


def test_a_bad_request_fails_alone_and_the_batch_is_still_answered() -> None:
    model = SlowModel()
    batcher = MicroBatcher(model.predict)

    async def main() -> list[object]:
        requests = [[value] for value in (1.0, 2.0, -1.0, 3.0)]
        return await asyncio.gather(
            *(batcher.submit(rows) for rows in requests), return_exceptions=True
        )

    answers = _run(main())
    batcher.close()
    assert answers[0] == [2.0] and answers[1] == [4.0] and answers[3] == [6.0]
    assert isinstance(answers[2], PayloadError) and answers[2].where == "x"


def test_batches_stay_under_the_row_cap() -> None:
    model = SlowModel()
    batcher = MicroBatcher(model.predict, max_rows=5)

    async def main() -> None:
        await asyncio.gather(*(batcher.submit([1.0, 2.0]) for _ in range(9)))

    _run(main())
    batcher.close()
    assert max(model.calls) <= 5 and sum(model.calls) == 18


@pytest.mark.parametrize("rows", [1, 3])
def test_single_request_is_not_delayed(rows: int) -> None:
    model = SlowModel()
    batcher = MicroBatcher(model.predict)
    started = time.perf_counter()
    answer = _run(batcher.submit([1.0] * rows))
    batcher.close()
    assert answer == [2.0] * rows
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("linger_share", "most_calls"), [(0.5, 6), (0.0, 20)])
def test_answered_clients_coming_back_share_the_next_call(
    linger_share: float, most_calls: int
) -> None:
    """Eight busy clients, each sending again shortly after its answer: with lingering, one
    call per round; without, the first one back starts a call of its own."""
    model = SlowModel()
    batcher = MicroBatcher(model.predict, linger_share=linger_share)

    async def client(number: int) -> None:
        for _ in range(5):
            await batcher.submit([float(number)])
            await asyncio.sleep(0.0005 * number)  # the client's own turnaround

    async def main() -> None:
        await asyncio.gather(*(client(number) for number in range(8)))

    _run(main())
    batcher.close()
    assert sum(model.calls) == 40
    assert len(model.calls) <= most_calls
    if linger_share == 0.0:
        assert len(model.calls) > 6


def test_the_predict_thread_runs_native_libraries_on_one_thread() -> None:
    import sklearn.ensemble  # noqa: F401  (loads OpenMP, as a gradient boosting model does)
    from threadpoolctl import threadpool_info

    seen: list[list[int]] = []

    def predict(batches: list[list[int]]) -> list[int]:
        seen.append([pool["num_threads"] for pool in threadpool_info()])
        return [value for batch in batches for value in batch]

    batcher = MicroBatcher(predict)
    try:
        assert asyncio.run(batcher.submit([1, 2])) == [1, 2]
    finally:
        batcher.close()
    assert seen and seen[0] and set(seen[0]) == {1}
