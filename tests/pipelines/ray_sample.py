"""Pipelines the Ray executor tests run: a wide one, a failing one, a slow one.

Every step reports the pid of the process it ran in, and the source step whether its worker
could have imported this module's package (it must not need to: the code travels by value).
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iml4e.pipelines import pipeline, step


def _worker_facts() -> dict[str, Any]:
    return {"pid": os.getpid(), "tests_importable": importlib.util.find_spec("tests") is not None}


@step
def numbers(count: int = 100) -> dict[str, Any]:
    """``0 … count-1``, and where this ran."""
    return {"values": list(range(count)), **_worker_facts()}


@step
def power_sum(data: dict[str, Any], power: int = 1) -> dict[str, Any]:
    """The sum of the values raised to ``power``."""
    return {"value": sum(value**power for value in data["values"]), "pid": os.getpid()}


@step
def join(first: dict[str, Any], second: dict[str, Any], third: dict[str, Any]) -> dict[str, Any]:
    """The three sums added up, and the pids of every branch and of the join."""
    return {
        "total": first["value"] + second["value"] + third["value"],
        "pids": [first["pid"], second["pid"], third["pid"], os.getpid()],
    }


@pipeline
def wide(count: int = 100) -> None:
    """One source, three independent branches, one join."""
    data = numbers(count)
    join(power_sum(data, power=1), power_sum(data, power=2), power_sum(data, power=3))


@dataclass
class Summary:
    """A dataclass output: stored as dataclass-json, which imports this module to load it."""

    count: int
    total: int


@step
def summarize(data: dict[str, Any]) -> Summary:
    return Summary(count=len(data["values"]), total=sum(data["values"]))


@pipeline
def summarized(count: int = 10) -> None:
    """A source and a step that returns a dataclass defined in this module."""
    summarize(numbers(count))


@step
def explode(data: dict[str, Any], message: str = "boom on ray") -> int:
    print(f"about to fail in process {os.getpid()}")
    raise ValueError(message)


@pipeline
def failing(count: int = 5) -> None:
    """A source, then a step that prints and raises."""
    explode(numbers(count))


@step
def die(data: dict[str, Any], code: int = 3) -> int:
    """Ends its worker process at once, as a segfault or the OOM killer would."""
    os._exit(code)


@pipeline
def dying(count: int = 3) -> None:
    """A source, then a step whose process dies."""
    die(numbers(count))


@step(timeout_s=2.0)
def sleepy(data: dict[str, Any], seconds: float = 30.0, pid_file: str = "") -> float:
    """Sleeps ``seconds``, having written its pid to ``pid_file`` (if given)."""
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(seconds)
    return seconds


@pipeline
def slow(seconds: float = 30.0, pid_file: str = "") -> None:
    """A source, then a step that sleeps far longer than its 2 s timeout.

    The source starts a worker first: the runner's clock for a timeout starts at submission,
    so a first step would also be timed while Ray starts a worker process for it.
    """
    sleepy(numbers(3), seconds, pid_file=pid_file)
