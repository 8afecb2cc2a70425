"""Log params, metrics and tags in batches, never one call per value."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow's documented per-request limits for log_batch.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000


def log_run_data(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
    step: int = 0,
) -> int:
    """Log everything given to run ``run_id`` in as few ``log_batch`` calls as MLflow allows.

    Returns the number of calls made.
    """
    from mlflow.entities import Metric, Param, RunTag

    timestamp = int(time.time() * 1000)
    metric_items = [Metric(k, float(v), timestamp, step) for k, v in (metrics or {}).items()]
    param_items = [Param(k, str(v)) for k, v in (params or {}).items()]
    tag_items = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
    calls = 0
    while metric_items or param_items or tag_items:
        batch_params = param_items[:MAX_PARAMS_PER_BATCH]
        room = MAX_ENTITIES_PER_BATCH - len(batch_params)
        batch_metrics = metric_items[: min(room, MAX_METRICS_PER_BATCH)]
        room -= len(batch_metrics)
        batch_tags = tag_items[:room]
        client.log_batch(run_id, metrics=batch_metrics, params=batch_params, tags=batch_tags)
        del param_items[: len(batch_params)]
        del metric_items[: len(batch_metrics)]
        del tag_items[: len(batch_tags)]
        calls += 1
    return calls
