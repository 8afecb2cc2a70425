"""Small pipelines the pipeline tests run: chains, branches, failures, retries."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from iml4e.pipelines import current_step, pipeline, step


class Halves(NamedTuple):
    left: pd.DataFrame
    right: pd.DataFrame


@step
def make_frame(rows: int = 10, seed: int = 0) -> pd.DataFrame:
    """A frame of ``rows`` random numbers."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=rows), "y": np.arange(rows)})


@step
def halve(frame: pd.DataFrame) -> Halves:
    middle = len(frame) // 2
    return Halves(
        frame.iloc[:middle].reset_index(drop=True), frame.iloc[middle:].reset_index(drop=True)
    )


@step
def column_sum(frame: pd.DataFrame, column: str = "y") -> float:
    current_step().log_metrics({f"sum_{column}": float(frame[column].sum())})
    return float(frame[column].sum())


@step
def as_array(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy()


@step
def total(left: float, right: float) -> dict[str, float]:
    print(f"adding {left} and {right}")
    return {"total": left + right}


@pipeline
def branching(rows: int = 10, seed: int = 0) -> None:
    frame = make_frame(rows=rows, seed=seed)
    halves = halve(frame)
    left = column_sum(halves.left)
    right = column_sum(halves.right)
    total(left, right)
    as_array(frame)


@step
def explode(value: float, message: str = "boom") -> float:
    print("about to fail")
    raise ValueError(message)


@pipeline
def failing(rows: int = 4) -> None:
    frame = make_frame(rows=rows)
    value = column_sum(frame)
    exploded = explode(value)
    total(exploded, value)


@step
def flaky(marker: str, failures: int = 2) -> int:
    """Fails ``failures`` times (counted in the marker file), then succeeds."""
    path = Path(marker)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < failures:
        raise RuntimeError(f"attempt {count + 1} fails")
    return count + 1


@pipeline
def retrying(marker: str, failures: int = 2) -> None:
    flaky.with_options(retries=3, retry_backoff_s=0.01)(marker, failures=failures)


@step(timeout_s=0.5)
def sleepy(seconds: float = 5.0) -> float:
    time.sleep(seconds)
    return seconds


@pipeline
def slow(seconds: float = 5.0) -> None:
    sleepy(seconds=seconds)


@step
def worker_pid(tag: int) -> int:
    time.sleep(0.3)
    return os.getpid() * 0 + tag


@step
def not_storable() -> object:
    return object()


@pipeline
def unstorable() -> None:
    not_storable()


@step
def wrong_type() -> int:
    return "not an int"  # type: ignore[return-value]


@pipeline
def lying() -> None:
    wrong_type()


@step
def sleep_then(tag: int, seconds: float = 0.4) -> float:
    started = time.perf_counter()
    time.sleep(seconds)
    return started


@pipeline
def parallel(branches: int = 4, seconds: float = 0.4) -> None:
    for tag in range(branches):
        sleep_then(tag, seconds=seconds)


@step
def take(frame: pd.DataFrame, count: int) -> int:
    return len(frame) + count


@pipeline
def retrying_without_retries(marker: str, rows: int = 6) -> None:
    frame = make_frame(rows=rows)
    count = flaky(marker, failures=1)
    take(frame, count)


@pipeline
def queued(seconds: float = 0.4, timeout: float = 0.7) -> None:
    bounded = sleep_then.with_options(timeout_s=timeout)
    bounded(1, seconds=seconds)
    bounded(2, seconds=seconds)
