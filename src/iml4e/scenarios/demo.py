"""The main job: a model from data to a served, released, logged model.

The training pipeline (collect → version → split → train → evaluate (gate) → register,
alias ``champion``; :mod:`iml4e.scenarios.training`) → deploy (``iml4e deploy``: a managed
server on loopback) → requests, including a drifted batch → a second training run registered
as ``challenger`` and served to a canary share → promotion through the policy, hot-swapped →
rollback (:mod:`iml4e.scenarios.release`) → inference log read back and summarised → the AI
system assessed against the AI Act controls and its Annex IV documentation written
(:mod:`iml4e.scenarios.assurance`). The case
(``credit`` by default, or ``wine``) decides the data, contract, model and gate.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from iml4e.config import Settings, mask_url
from iml4e.data.catalog import DatasetVersionInfo
from iml4e.errors import CheckFailed
from iml4e.pipelines import PipelineRunResult, run_pipeline
from iml4e.platform import initialize
from iml4e.registry import Threshold
from iml4e.scenarios.assurance import ComplianceSummary, assess_and_document, ensure_policy
from iml4e.scenarios.cases import DemoCase, demo_case
from iml4e.scenarios.release import Release, ReleaseSummary, deploy_and_release
from iml4e.scenarios.traffic import SentRequest, send_rows
from iml4e.scenarios.training import ALIAS, train_case
from iml4e.serving import InferenceRecord, read_inference_log
from iml4e.store import open_store
from iml4e.tracking import connect_tracking, ensure_experiment, log_run_data

DRIFTED_WINDOW_ROWS = 300


@dataclass(frozen=True)
class DemoOptions:
    """Knobs of the main job; ``gate=None`` uses the case's own thresholds."""

    case: str = "credit"
    rows: int = 20_000
    requests: int = 300
    drifted_share: float = 0.2
    drift: float = 0.8
    seed: int = 7
    gate: tuple[Threshold, ...] | None = None
    executor: str | None = None


@dataclass
class DemoSummary:
    """What the main job did, read back from the stores it wrote to."""

    case: str
    pipeline_run_id: str
    mlflow_run_id: str
    pipeline_mlflow_run_id: str
    experiment: str
    experiment_id: str
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
    release: ReleaseSummary | None = None
    compliance: ComplianceSummary | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    cache_hits: int = 0
    total_seconds: float = 0.0
    where_to_look: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return asdict(self)


@dataclass(frozen=True)
class _Trained:
    """What the training pipeline hands to the summary."""

    experiment_id: str
    run_id: str
    pipeline_mlflow_run_id: str
    dataset: DatasetVersionInfo
    model_version: str
    metrics: dict[str, float]

    @classmethod
    def from_run(cls, result: PipelineRunResult, experiment_id: str) -> _Trained:
        version = result.output("register")
        return cls(
            experiment_id=experiment_id,
            run_id=version.run_id,
            pipeline_mlflow_run_id=result.record.mlflow_run_id or "",
            dataset=result.output("version_dataset"),
            model_version=version.version,
            metrics=result.output("evaluate"),
        )


def run_demo(
    settings: Settings,
    options: DemoOptions | None = None,
    *,
    on_step: Callable[[str, str], None] = lambda step, detail: None,
) -> DemoSummary:
    """Run the main job end to end on ``settings``' stores; returns the summary.

    Training is the pipeline :data:`iml4e.scenarios.training.train_case`: a second run with
    the same options is answered from its cache. Raises :class:`iml4e.pipelines.StepFailed`
    (nothing registered or served) when a step fails — the model misses the gate, the data
    breaks its contract — and :class:`iml4e.errors.CheckFailed` when a request goes
    unanswered or an answer is missing from the inference log.
    """
    options = options or DemoOptions()
    case = demo_case(options.case)
    started = time.perf_counter()
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    initialize(settings)
    ensure_policy(settings, case.name)  # thresholds fixed before the evaluation (Art. 9(8))
    params: dict[str, Any] = {"case": case.name, "rows": options.rows, "seed": options.seed}
    if options.gate is not None:
        params["gate"] = [str(threshold).replace(" ", "") for threshold in options.gate]

    def report(step: str, status: str, detail: str) -> None:
        if status in ("succeeded", "cached", "reused", "failed"):
            on_step(step, f"{status} {detail}".strip())

    result = run_pipeline(
        train_case,
        params,
        settings=settings,
        executor=options.executor,
        experiment=case.model_name,
        on_event=report,
    )
    serve_started = time.perf_counter()
    store = open_store(settings)
    try:
        client = connect_tracking(settings, store)
        trained = _Trained.from_run(result, ensure_experiment(client, settings, case.model_name))

        def train_challenger() -> str:
            second = run_pipeline(
                train_case,
                {**params, "rows": options.rows * 2, "alias": "challenger"},
                settings=settings,
                executor=options.executor,
                experiment=case.model_name,
                on_event=report,
            )
            return str(second.output("register").version)

        released, sent = deploy_and_release(
            Release(
                settings=settings,
                store=store,
                case=case,
                champion_version=trained.model_version,
                train_challenger=train_challenger,
                send=_sender(case, options),
                on_step=on_step,
                rows=options.rows,
                seed=options.seed,
                drift=options.drift,
            )
        )
        serve_seconds = time.perf_counter() - serve_started
        records = read_inference_log(store, case.model_name, since=since)
        summary = _summarise(settings, case, result.run_id, trained, sent, records)
        summary.release = released
        summary.compliance = assess_and_document(
            settings, store, case.name, released.deployment, on_step=on_step
        )
        log_run_data(
            client,
            trained.run_id,
            metrics={
                "live_accuracy_reference": summary.live_accuracy_reference,
                "live_accuracy_drifted": summary.live_accuracy_drifted,
                "live_latency_p50_ms": summary.latency_p50_ms,
                "live_requests_logged": summary.requests_logged,
            },
        )
    finally:
        store.close()
    on_step(
        "log",
        f"{summary.requests_logged} of {summary.requests_answered} "
        "answered requests read back from the inference log",
    )
    _require_complete(summary, sent)
    summary.step_seconds = {step.name: step.duration_s or 0.0 for step in result.record.steps}
    summary.step_seconds["serve"] = serve_seconds
    summary.cache_hits = result.record.cache_hits
    summary.total_seconds = time.perf_counter() - started
    return summary


def _sender(case: DemoCase, options: DemoOptions) -> Callable[[str, str], list[SentRequest]]:
    """Sends the batch called ``batch`` (reference, drifted, canary…) to a server URL."""
    drifted_count = round(options.requests * options.drifted_share)
    batches = {
        "reference": (options.requests - drifted_count, 1, 0.0),
        "drifted": (drifted_count, 2, options.drift),
        "canary": (options.requests, 3, 0.0),
        "promoted": (max(options.requests // 3, 1), 4, 0.0),
        "rolled-back": (max(options.requests // 3, 1), 5, 0.0),
        # enough rows for the drift tests to see a moved population in one window
        "drifted-live": (max(options.requests, DRIFTED_WINDOW_ROWS), 6, options.drift),
        "retrained": (max(options.requests // 3, 1), 7, options.drift),
    }

    run = uuid.uuid4().hex[:8]  # request ids of one demo run never meet another run's labels

    def send(url: str, batch: str) -> list[SentRequest]:
        rows, seed_offset, drift = batches[batch]
        frame = case.traffic(rows, options.seed + seed_offset, drift)
        if not len(frame):
            return []
        return send_rows(
            url,
            case.model_name,
            frame.drop(columns=[case.target]),
            frame[case.target].tolist(),
            batch=batch,
            id_prefix=run,
        )

    return send


def _summarise(
    settings: Settings,
    case: DemoCase,
    pipeline_run_id: str,
    trained: _Trained,
    sent: list[SentRequest],
    records: list[InferenceRecord],
) -> DemoSummary:
    by_id = {record.request_id: record for record in records}
    answered = [request for request in sent if request.status == 200]
    logged = [request for request in answered if request.request_id in by_id]

    def accuracy(batch: str) -> float:
        rows = [r for r in logged if r.batch == batch]
        hits = sum(1 for r in rows if by_id[r.request_id].outputs[0] == r.label)
        return hits / len(rows) if rows else float("nan")

    latencies = [by_id[r.request_id].latency_ms for r in logged]
    p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) > 1 else float("nan")
    return DemoSummary(
        case=case.name,
        pipeline_run_id=pipeline_run_id,
        mlflow_run_id=trained.run_id,
        pipeline_mlflow_run_id=trained.pipeline_mlflow_run_id,
        experiment=case.model_name,
        experiment_id=trained.experiment_id,
        dataset=case.dataset_name,
        dataset_version=trained.dataset.version,
        dataset_hash=trained.dataset.content_hash,
        model_name=case.model_name,
        model_version=trained.model_version,
        alias=ALIAS,
        metrics=trained.metrics,
        requests_sent=len(sent),
        requests_answered=len(answered),
        requests_logged=len(logged),
        live_accuracy_reference=accuracy("reference"),
        live_accuracy_drifted=accuracy("drifted"),
        latency_p50_ms=statistics.median(latencies) if latencies else float("nan"),
        latency_p95_ms=p95,
        where_to_look={
            "web_ui": f"iml4e up, then http://{settings.server_host}:{settings.server_port}/ui/",
            "mlflow_ui": (
                f"iml4e up, then http://{settings.server_host}:{settings.server_port}/mlflow/"
            ),
            "mlflow_cli": (
                f"MLFLOW_TRACKING_URI={mask_url(settings.mlflow_tracking_uri)} "
                f"mlflow runs list --experiment-id {trained.experiment_id}"
            ),
            "inference_log": str(settings.inference_log_root / case.model_name),
            "database": mask_url(settings.database_url),
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
