"""Prometheus metrics of one model server, on a registry owned by the app (not the global one).

Label values stay bounded: ``route`` is the route template, and predicted labels are counted
only for classification outputs (text, integer or boolean), at most ``MAX_LABELS`` distinct
values per server; later new labels are counted as ``__other__``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

MAX_LABELS = 50
OTHER_LABEL = "__other__"
CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ROW_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class ServingMetrics:
    """The metrics of one deployment (one or more model versions), rendered by
    :meth:`exposition`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._request_children: dict[tuple[str, int, str], Any] = {}
        self._latency_children: dict[str, Any] = {}
        self._labels_seen: set[str] = set()
        self._requests = Counter(
            "iml4e_requests_total",
            "Answered requests by route template, HTTP status and model version.",
            ["route", "status", "model_version"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "iml4e_request_latency_seconds",
            "Time from request to answer, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batch_rows = Histogram(
            "iml4e_batch_rows",
            "Rows scored per predict call.",
            buckets=ROW_BUCKETS,
            registry=self.registry,
        )
        self._predictions = Counter(
            "iml4e_predictions_total",
            f"Predicted labels (classification outputs; at most {MAX_LABELS} distinct labels, "
            f"the rest as {OTHER_LABEL}).",
            ["model_version", "prediction"],
            registry=self.registry,
        )
        self._model_info = Gauge(
            "iml4e_model_info",
            "The model versions served, by role (champion, challenger, shadow, fallback); "
            "always 1.",
            ["model_name", "model_version", "role"],
            registry=self.registry,
        )

    def set_served(self, served: Iterable[tuple[str, str, str]]) -> None:
        """Replace the ``iml4e_model_info`` series by ``(model_name, model_version, role)``."""
        self._model_info.clear()
        for model_name, model_version, role in served:
            self._model_info.labels(
                model_name=model_name, model_version=model_version, role=role
            ).set(1)

    def observe_request(self, route: str, status: int, seconds: float, model_version: str) -> None:
        """Count one answered request (any status, 4xx included) and its latency;
        ``model_version`` is empty when no model answered (e.g. a 404)."""
        key = (route, status, model_version)
        counter = self._request_children.get(key)
        if counter is None:  # label lookups cost more than the increment: keep the children
            counter = self._requests.labels(
                route=route, status=str(status), model_version=model_version
            )
            self._request_children[key] = counter
        counter.inc()
        histogram = self._latency_children.get(route)
        if histogram is None:
            histogram = self._latency_children[route] = self._latency.labels(route=route)
        histogram.observe(seconds)

    def observe_batch(self, rows: int) -> None:
        """Record one ``predict`` call of ``rows`` rows (several requests when batched)."""
        self._batch_rows.observe(rows)

    def observe_predictions(self, outputs: Iterable[Any], model_version: str) -> None:
        """Count the predicted labels of one request (classification outputs only)."""
        counts: dict[str, int] = {}
        for value in outputs:
            label = self._label_of(value)
            if label is not None:
                counts[label] = counts.get(label, 0) + 1
        for label, count in counts.items():
            self._predictions.labels(model_version=model_version, prediction=label).inc(count)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

    def _label_of(self, value: Any) -> str | None:
        if isinstance(value, bool):
            label = str(value).lower()
        elif isinstance(value, int | str):
            label = str(value)
        else:
            return None  # a score or a structured output is not a class label
        if label in self._labels_seen:
            return label
        if len(self._labels_seen) < MAX_LABELS:
            self._labels_seen.add(label)
            return label
        return OTHER_LABEL
