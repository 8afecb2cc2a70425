"""A tiny diamond-shaped pipeline for the KFP export tests: cheap steps, every parameter type.

``source`` feeds ``total`` and ``make_label`` (independent branches), ``report`` joins them and,
when ``result_path`` is set, writes its result there as JSON so a test can read it back.
"""

from __future__ import annotations

import json
from pathlib import Path

from iml4e.pipelines import pipeline, step


@step
def source(rows: int, scale: float) -> list[float]:
    """The numbers 0..rows-1, scaled."""
    return [index * scale for index in range(rows)]


@step(retries=2, retry_backoff_s=0.5)
def total(values: list[float]) -> float:
    """Their sum."""
    return sum(values)


@step(cache=False)
def make_label(values: list[float], prefix: str, tags: list[str] | None) -> str:
    """A label naming how many values there are, and the tags."""
    return "-".join([f"{prefix}{len(values)}", *(tags or [])])


@step
def report(amount: float, label: str, shout: bool, result_path: str) -> dict[str, object]:
    """Join both branches; write the result as JSON when ``result_path`` is set."""
    result: dict[str, object] = {"total": amount, "label": label.upper() if shout else label}
    if result_path:
        Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return result


@pipeline(name="KFP Sample_Pipeline")
def kfp_sample(
    rows: int = 4,
    scale: float = 0.5,
    prefix: str = "n",
    shout: bool = False,
    tags: list[str] | None = None,
    result_path: str = "",
) -> None:
    """A diamond: one source, two independent branches, one join."""
    values = source(rows=rows, scale=scale)
    amount = total(values)
    label = make_label(values, prefix=prefix, tags=tags)
    report(amount, label, shout=shout, result_path=result_path)
