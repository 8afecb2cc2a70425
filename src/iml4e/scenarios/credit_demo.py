"""The main job: credit-default model from data to served, logged predictions.

collect → validate → version → train → evaluate (gate) → register (alias ``champion``) →
serve (a real model server process on loopback) → requests, including a drifted batch →
inference log read back and summarised. Every stage is recorded as a step of a pipeline run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from iml4e.config import Settings
from iml4e.data.catalog import register_dataset_version
from iml4e.data.contracts import credit_application_schema, validate_frame
from iml4e.data.synthetic import CATEGORICAL_FEATURES, NUMERIC_FEATURES, TARGET, credit_applications
from iml4e.errors import CheckFailed
from iml4e.pipelines import PipelineRecorder
from iml4e.pipelines.training import build_tabular_classifier, classification_metrics, split_frame
from iml4e.platform import initialize
from iml4e.ports import find_free_port
from iml4e.registry import Threshold, register_model_version, require_gate, set_alias
from iml4e.scenarios.traffic import SentRequest, send_rows
from iml4e.serving import read_inference_log
from iml4e.serving.process import ModelServerProcess
from iml4e.store import open_store
from iml4e.tracking import (
    activate_tracking,
    connect_tracking,
    ensure_experiment,
    log_run_data,
    log_sklearn_model,
)

MODEL_NAME = "credit-default"
DATASET_NAME = "credit-applications"
DEFAULT_GATE = (Threshold("roc_auc", ">=", 0.75), Threshold("accuracy", ">=", 0.70))


@dataclass(frozen=True)
class DemoOptions:
    """Knobs of the main job."""

    rows: int = 20_000
    requests: int = 300
    drifted_share: float = 0.2
    drift: float = 0.8
    seed: int = 7
    gate: tuple[Threshold, ...] = DEFAULT_GATE


@dataclass
class DemoSummary:
    """What the main job did, read back from the stores it wrote to."""

    pipeline_run_id: str
    mlflow_run_id: str
    experiment: str
    dataset: str
    dataset_version: int
    dataset_hash: str
    model_name: str
    model_version: str
    alias: str
    metrics: dict[str, float]
    requests_sent: int
    requests_answered: int
    requests_logged: int
    live_accuracy_reference: float
    live_accuracy_drifted: float
    latency_p50_ms: float
    latency_p95_ms: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    where_to_look: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


def run_credit_demo(
    settings: Settings,
    options: DemoOptions | None = None,
    *,
    on_step: Callable[[str, str], None] = lambda step, detail: None,
) -> DemoSummary:
    """Run the main job end to end on ``settings``' stores; returns the summary.

    Raises :class:`iml4e.registry.GateFailed` (nothing registered or served) when the model
    does not meet ``options.gate``, and :class:`iml4e.data.errors.ContractViolation` when the
    training data breaks its contract.
    """
    options = options or DemoOptions()
    started = time.perf_counter()
    demo_started_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    initialize(settings)
    store = open_store(settings)
    client = connect_tracking(settings, store)
    activate_tracking(settings)
    import mlflow

    experiment_id = ensure_experiment(client, settings, MODEL_NAME)
    params = {
        "rows": options.rows,
        "seed": options.seed,
        "estimator": "hist_gradient_boosting",
        "test_size": 0.25,
    }
    try:
        with PipelineRecorder(store, "credit-demo", params) as pipeline:
            with pipeline.step("collect"):
                frame = credit_applications(options.rows, seed=options.seed)
                on_step("collect", f"{len(frame)} synthetic credit applications")
            with pipeline.step("validate"):
                validate_frame(frame, credit_application_schema(), source=DATASET_NAME)
                dataset = register_dataset_version(
                    store,
                    DATASET_NAME,
                    frame,
                    source=f"iml4e.data.synthetic.credit_applications(seed={options.seed})",
                )
                on_step(
                    "validate",
                    f"contract holds; {DATASET_NAME} v{dataset.version} "
                    f"({dataset.content_hash[:12]})",
                )
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=f"credit-demo-{pipeline.run_id[:8]}"
            ) as run:
                run_id = run.info.run_id
                pipeline.link_mlflow_run(run_id)
                with pipeline.step("train"):
                    # Serve-time inputs may miss values: the model takes numeric features as
                    # floats, so its signature accepts NaN in any of them.
                    features = frame.astype({column: "float64" for column in NUMERIC_FEATURES})
                    split = split_frame(features, TARGET, seed=options.seed)
                    model = build_tabular_classifier(
                        NUMERIC_FEATURES, CATEGORICAL_FEATURES, seed=options.seed
                    )
                    model.fit(split.x_train, split.y_train)
                    log_run_data(
                        client,
                        run_id,
                        params={**params, **_estimator_params(model)},
                        tags={
                            "iml4e.pipeline_run": pipeline.run_id,
                            "iml4e.dataset": f"{DATASET_NAME}@{dataset.version}",
                            "iml4e.dataset_hash": dataset.content_hash,
                        },
                    )
                    on_step("train", f"{len(split.x_train)} rows, gradient boosting")
                with pipeline.step("evaluate"):
                    metrics = classification_metrics(model, split.x_test, split.y_test)
                    log_run_data(client, run_id, metrics=metrics)
                    on_step("evaluate", ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()))
                    require_gate(metrics, list(options.gate), what=f"{MODEL_NAME} candidate")
                    on_step("evaluate", "gate passed: " + "; ".join(map(str, options.gate)))
                with pipeline.step("register"):
                    logged = log_sklearn_model(model, split.x_test)
                    version = register_model_version(
                        client,
                        store,
                        name=MODEL_NAME,
                        source=logged.model_uri,
                        run_id=run_id,
                        metrics=metrics,
                        pipeline_run_id=pipeline.run_id,
                        dataset_version_id=dataset.id,
                    )
                    set_alias(client, MODEL_NAME, "champion", version.version)
                    on_step("register", f"{MODEL_NAME} version {version.version} is champion")
            with pipeline.step("serve"):
                sent = _serve_and_send(settings, options, on_step)
            with pipeline.step("log"):
                records = read_inference_log(store, MODEL_NAME, since=demo_started_at)
                summary = _summarise(
                    settings,
                    pipeline,
                    run_id,
                    dataset,
                    version.version,
                    metrics,
                    sent,
                    records,
                    started,
                )
                log_run_data(
                    client,
                    run_id,
                    metrics={
                        "live_accuracy_reference": summary.live_accuracy_reference,
                        "live_accuracy_drifted": summary.live_accuracy_drifted,
                        "live_latency_p50_ms": summary.latency_p50_ms,
                        "live_requests_logged": summary.requests_logged,
                    },
                )
                on_step(
                    "log",
                    f"{summary.requests_logged} of {summary.requests_answered} "
                    "answered requests read back from the inference log",
                )
                _require_complete(summary, sent)
    finally:
        store.close()
    summary.step_seconds = dict(pipeline.durations)
    summary.total_seconds = time.perf_counter() - started
    return summary


def _serve_and_send(
    settings: Settings, options: DemoOptions, on_step: Callable[[str, str], None]
) -> list[SentRequest]:
    drifted_count = round(options.requests * options.drifted_share)
    reference = credit_applications(options.requests - drifted_count, seed=options.seed + 1)
    drifted = credit_applications(drifted_count, seed=options.seed + 2, drift=options.drift)
    host = "127.0.0.1"
    with ModelServerProcess(
        settings,
        f"models:/{MODEL_NAME}@champion",
        deployment=MODEL_NAME,
        host=host,
        port=find_free_port(host),
    ) as server:
        on_step("serve", f"model server ready at {server.url}")
        sent = send_rows(
            server.url,
            MODEL_NAME,
            reference.drop(columns=[TARGET]),
            reference[TARGET].tolist(),
            batch="reference",
        )
        sent += send_rows(
            server.url,
            MODEL_NAME,
            drifted.drop(columns=[TARGET]),
            drifted[TARGET].tolist(),
            batch="drifted",
        )
        on_step(
            "serve", f"sent {len(sent)} requests ({drifted_count} drifted, drift={options.drift})"
        )
    return sent


def _summarise(
    settings: Settings,
    pipeline: PipelineRecorder,
    run_id: str,
    dataset: Any,
    model_version: str,
    metrics: dict[str, float],
    sent: list[SentRequest],
    records: list[Any],
    started: float,
) -> DemoSummary:
    by_id = {record.request_id: record for record in records}
    answered = [request for request in sent if request.status == 200]
    logged = [request for request in answered if request.request_id in by_id]

    def accuracy(batch: str) -> float:
        rows = [r for r in logged if r.batch == batch]
        hits = sum(1 for r in rows if by_id[r.request_id].outputs[0] == r.label)
        return hits / len(rows) if rows else float("nan")

    latencies = [by_id[r.request_id].latency_ms for r in logged]
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [0.0] * 19
    return DemoSummary(
        pipeline_run_id=pipeline.run_id,
        mlflow_run_id=run_id,
        experiment=MODEL_NAME,
        dataset=DATASET_NAME,
        dataset_version=dataset.version,
        dataset_hash=dataset.content_hash,
        model_name=MODEL_NAME,
        model_version=model_version,
        alias="champion",
        metrics=metrics,
        requests_sent=len(sent),
        requests_answered=len(answered),
        requests_logged=len(logged),
        live_accuracy_reference=accuracy("reference"),
        live_accuracy_drifted=accuracy("drifted"),
        latency_p50_ms=statistics.median(latencies) if latencies else float("nan"),
        latency_p95_ms=quantiles[18],
        step_seconds=dict(pipeline.durations),
        total_seconds=time.perf_counter() - started,
        where_to_look={
            "mlflow_ui": f"iml4e up, then http://{settings.server_host}:{settings.mlflow_port}",
            "mlflow_cli": f"MLFLOW_TRACKING_URI={settings.mlflow_tracking_uri} "
            f"mlflow runs list --experiment-id <id>",
            "inference_log": str(settings.inference_log_root / MODEL_NAME),
            "database": settings.database_url,
        },
    )


def _require_complete(summary: DemoSummary, sent: list[SentRequest]) -> None:
    """Fail the job when a request went unanswered or an answer is missing from the log."""
    if summary.requests_answered < summary.requests_sent:
        failed = next(request for request in sent if request.status != 200)
        raise CheckFailed(
            f"{summary.requests_sent - summary.requests_answered} of {summary.requests_sent} "
            f"requests were not answered (first: {failed.request_id} got HTTP {failed.status})",
            where="serve",
        )
    if summary.requests_logged < summary.requests_answered:
        raise CheckFailed(
            f"{summary.requests_answered - summary.requests_logged} answered requests are "
            "missing from the inference log",
            where="log",
        )


def _estimator_params(model: Any) -> dict[str, Any]:
    classifier = model.named_steps["classifier"]
    return {
        f"classifier.{k}": v
        for k, v in classifier.get_params().items()
        if isinstance(v, int | float | str | bool) or v is None
    }
