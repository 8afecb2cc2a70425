"""The scoring path every protocol shares: predict, count, append to the inference log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from iml4e.serving.batching import MicroBatcher
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord
from iml4e.serving.metrics import ServingMetrics
from iml4e.serving.payloads import ParsedRows
from iml4e.serving.served_model import ServedModel
from iml4e.serving.signature import PreparedRows


@dataclass
class Scorer:
    """One served model with its deployment name, inference log and metrics.

    Requests are checked one by one against the signature (so a bad one gets its own 4xx)
    and predicted in micro batches (:class:`~iml4e.serving.batching.MicroBatcher`), one
    DataFrame per batch.
    """

    model: ServedModel
    deployment: str
    log: InferenceLogWriter
    metrics: ServingMetrics
    batcher: MicroBatcher[PreparedRows] = field(init=False)

    def __post_init__(self) -> None:
        # A failing batch is retried request by request, so a bad request still gets its
        # own error.
        self.batcher = MicroBatcher(self.model.predict_batch, on_batch=self.metrics.observe_batch)

    def serves(self, name: str) -> bool:
        """Whether ``name`` (the deployment's or the model's) addresses this server."""
        return name in (self.deployment, self.model.name)

    async def predict_and_log(
        self,
        parsed: ParsedRows,
        *,
        protocol: str,
        request_id: str,
        started: float,
        caller: str | None,
        role: str = "champion",
    ) -> list[Any]:
        """Predict ``parsed`` and append the record before returning; bad values raise
        :class:`~iml4e.serving.errors.PayloadError`."""
        outputs = await self.batcher.submit(self.model.prepare(parsed))
        self.metrics.observe_predictions(outputs, self.model.version)
        self.log.append(
            InferenceRecord(
                request_id=request_id,
                timestamp=time.time(),
                deployment=self.deployment,
                model_name=self.model.name,
                model_version=self.model.version,
                protocol=protocol,
                inputs=parsed.records(),
                outputs=outputs,
                latency_ms=(time.perf_counter() - started) * 1000,
                caller=caller,
                role=role,
            )
        )
        return outputs
