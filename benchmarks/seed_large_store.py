"""A platform home at the size of a busy team: many pipeline runs, model versions and requests.

The home first holds the real demo's whole story (``run_demo`` with 3,000 rows and 60 requests
per phase: a dataset and its drifted version, pipeline runs, model versions with approvals and
aliases, a deployment with its inference log, monitor reports and alerts, the AI system
``credit-scoring`` with an assessment and documents). The bulk is then added on top, each
kind through the room's own Python API, in a loop:

- pipeline runs: :class:`iml4e.pipelines.records.RunRecorder` (``start_run``, three steps with
  ``start_step``/``finish_step``, ``finish_run``), each linked to an MLflow run created with
  ``MlflowClient`` (a few params and metrics), as a real run would be; running 1,000 real
  pipelines would take hours;
- model versions: :func:`iml4e.registry.versions.register_model_version` on the demo's model
  ``credit-default``, every new version from the demo's first version's run and artifacts
  (MLflow registry versions, iml4e model records, registry events and audit events);
- inference requests: :class:`iml4e.serving.inference_log.InferenceLogWriter` appending to the
  demo's deployment ``credit-default`` (segments of 100,000 records, indexed in the store),
  spread over the seven days before seeding.

The home has server auth on and one admin user (:data:`ADMIN`, :data:`PASSWORD`). A marker
file ``seeded.json`` in the folder holds the sizes; a rerun with the same sizes reuses the
home, any other size starts again in a fresh one.

    .venv/bin/python benchmarks/seed_large_store.py --home /tmp/bench-ui
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from iml4e.config import Settings, load_settings

ADMIN = "bench-admin"
PASSWORD = "bench password 1"
MARKER = "seeded.json"
MODEL = "credit-default"
DEPLOYMENT = "credit-default"
STEPS = ("load", "train", "evaluate")
SPREAD_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Sizes:
    """How much the seeded home holds (totals, the demo's own records included)."""

    runs: int = 1_000
    versions: int = 100
    requests: int = 1_000_000


@dataclass(frozen=True)
class SeededHome:
    """A seeded home: its settings, sizes, the names the pages need and how long seeding took."""

    settings: Settings
    sizes: Sizes
    facts: dict[str, Any]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="folder of the seeded home")
    add_size_options(parser)
    args = parser.parse_args(argv)
    seeded = seed_home(args.home, sizes_of(args), log=print, reseed=args.reseed)
    print(json.dumps(seeded.facts, indent=2))


def add_size_options(parser: argparse.ArgumentParser) -> None:
    """``--runs``, ``--versions``, ``--requests`` (shared with ``ui_pages.py``)."""
    default = Sizes()
    parser.add_argument("--runs", type=int, default=default.runs, help="pipeline runs in all")
    parser.add_argument(
        "--versions", type=int, default=default.versions, help=f"versions of {MODEL} in all"
    )
    parser.add_argument(
        "--requests", type=int, default=default.requests, help="logged requests to add"
    )
    parser.add_argument(
        "--reseed",
        action="store_true",
        help="seed a fresh home even if one with these sizes exists",
    )


def sizes_of(args: argparse.Namespace) -> Sizes:
    return Sizes(runs=args.runs, versions=args.versions, requests=args.requests)


def home_settings(folder: Path, *, mlflow_port: int | None = None) -> Settings:
    """Settings of the home in ``folder`` (auth on), ignoring ``IML4E_*`` of the shell."""
    values: dict[str, Any] = {"home": str(folder / "home"), "server_auth": "on"}
    values["mlflow_port"] = mlflow_port or _free_port()
    return load_settings(values, environ={}, cwd=folder).settings


def seed_home(
    folder: Path, sizes: Sizes, *, log: Any = lambda message: None, reseed: bool = False
) -> SeededHome:
    """The seeded home in ``folder``: reused when its marker has these sizes, else made anew."""
    marker = folder / MARKER
    if marker.exists() and not reseed:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        if recorded.get("sizes") == asdict(sizes):
            log(f"reusing the seeded home in {folder}")
            return SeededHome(home_settings(folder), sizes, recorded["facts"])
        log(f"{folder} was seeded with other sizes; seeding again")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = home_settings(folder)
    facts = _seed(settings, sizes, log)
    marker.write_text(
        json.dumps({"sizes": asdict(sizes), "facts": facts}, indent=2), encoding="utf-8"
    )
    return SeededHome(settings, sizes, facts)


def _seed(settings: Settings, sizes: Sizes, log: Any) -> dict[str, Any]:
    from iml4e.scenarios.demo import DemoOptions, run_demo
    from iml4e.server.users import add_user
    from iml4e.store import open_store

    seconds: dict[str, float] = {}
    with open_store(settings) as store:
        # the demo's actor pauses and overrides through the model server's guarded routes
        add_user(store, settings.user, role="approver", password=PASSWORD, actor="setup")
        add_user(store, ADMIN, role="admin", password=PASSWORD, actor="setup")
    start = time.perf_counter()
    log("running the demo (3,000 rows, 60 requests per phase)")
    summary = run_demo(settings, DemoOptions(rows=3000, requests=60))
    seconds["demo"] = time.perf_counter() - start
    with open_store(settings) as store:
        start = time.perf_counter()
        runs = add_pipeline_runs(settings, store, sizes.runs, log)
        seconds["pipeline_runs"] = time.perf_counter() - start
        start = time.perf_counter()
        versions = add_model_versions(settings, store, sizes.versions, log)
        seconds["model_versions"] = time.perf_counter() - start
        start = time.perf_counter()
        add_inference_requests(settings, store, sizes.requests, log)
        seconds["requests"] = time.perf_counter() - start
    compliance = summary.compliance
    return {
        "deployment": DEPLOYMENT,
        "model": MODEL,
        "model_version": versions[-1] if versions else summary.model_version,
        "dataset": summary.dataset,
        "dataset_version": summary.dataset_version,
        "pipeline_run_id": summary.pipeline_run_id,
        "pipeline": runs[0] if runs else None,
        "system": compliance.system if compliance else None,
        "assessment_id": compliance.assessment_id if compliance else None,
        "seconds": {key: round(value, 1) for key, value in seconds.items()},
    }


def add_pipeline_runs(settings: Settings, store: Any, total: int, log: Any) -> list[str]:
    """Record pipeline runs (three steps each, an MLflow run each) until ``total`` exist."""
    from sqlalchemy import func, select

    from iml4e.pipelines.records import RunDescription, RunRecorder
    from iml4e.store.models import PipelineRun
    from iml4e.tracking import connect_tracking, ensure_experiment

    with store.session() as session:
        existing = session.scalar(select(func.count()).select_from(PipelineRun)) or 0
    missing = max(0, total - existing)
    log(f"recording {missing} pipeline runs ({existing} from the demo)")
    client = connect_tracking(settings, store)
    experiment = ensure_experiment(client, settings, "bench-pipeline")
    recorder = RunRecorder(store)
    pipeline = "bench_pipeline"
    for index in range(missing):
        run_id = uuid.uuid4().hex
        params = {"rows": 1000 + index, "seed": index % 7}
        recorder.start_run(
            run_id,
            RunDescription(
                pipeline=pipeline,
                pipeline_ref=f"benchmarks.seed:{pipeline}",
                params=params,
                executor="local",
                options={"cache": True},
            ),
        )
        mlflow_run = client.create_run(experiment, run_name=f"{pipeline}-{index}")
        _log_mlflow_run(client, mlflow_run.info.run_id, params, index)
        recorder.set_mlflow_run(run_id, mlflow_run.info.run_id)
        for step in STEPS:
            step_id = recorder.start_step(
                run_id,
                name=step,
                step_ref=f"benchmarks.seed:{step}",
                code_hash=f"{step:0<64}"[:64],
                cache_key=uuid.uuid4().hex,
                params=params,
                inputs={},
            )
            recorder.finish_step(step_id, status="succeeded", duration_s=0.01, attempts=1)
        recorder.finish_run(run_id, "succeeded" if index % 20 else "failed")
        if (index + 1) % 200 == 0:
            log(f"  {index + 1}/{missing} pipeline runs")
    return [pipeline]


def _log_mlflow_run(client: Any, run_id: str, params: dict[str, Any], index: int) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric("accuracy", 0.7 + (index % 30) / 100, now, 0)],
        params=[Param(key, str(value)) for key, value in params.items()],
    )
    client.set_terminated(run_id)


def add_model_versions(settings: Settings, store: Any, total: int, log: Any) -> list[str]:
    """Register versions of :data:`MODEL` from its first version's run until ``total`` exist."""
    from iml4e.registry.names import search_versions
    from iml4e.registry.versions import register_model_version
    from iml4e.tracking import connect_tracking

    client = connect_tracking(settings, store)
    versions = sorted(search_versions(client, MODEL), key=lambda v: int(v.version))
    missing = max(0, total - len(versions))
    log(f"registering {missing} versions of {MODEL} ({len(versions)} from the demo)")
    first = versions[0]
    names = [str(v.version) for v in versions]
    for index in range(missing):
        info = register_model_version(
            client,
            store,
            name=MODEL,
            source=first.source,
            run_id=first.run_id,
            metrics={"accuracy": 0.7 + (index % 30) / 100},
            actor="bench",
        )
        names.append(info.version)
    return names


def add_inference_requests(settings: Settings, store: Any, count: int, log: Any) -> None:
    """Append ``count`` answered requests to :data:`DEPLOYMENT`'s inference log."""
    from iml4e.serving.deployments import get_deployment
    from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord

    deployment = get_deployment(store, DEPLOYMENT)
    log(f"logging {count:,} requests for deployment {DEPLOYMENT}")
    writer = InferenceLogWriter(store, settings.home / "inference", DEPLOYMENT)
    start = time.time() - SPREAD_S
    step = SPREAD_S / max(count, 1)
    row = {"age": 41, "income": 52_000.0, "debt": 3_100.0, "months": 24, "sex": "f"}
    try:
        for index in range(count):
            writer.append(
                InferenceRecord(
                    request_id=f"bench-{index}",
                    timestamp=start + index * step,
                    deployment=DEPLOYMENT,
                    model_name=deployment.model_name,
                    model_version=deployment.model_version,
                    protocol="dataframe_split",
                    inputs=[row],
                    outputs=[index % 2],
                    latency_ms=2.0 + (index % 50) / 10,
                    caller=ADMIN,
                    role="challenger" if index % 10 == 0 else "champion",
                )
            )
            if (index + 1) % 200_000 == 0:
                log(f"  {index + 1:,}/{count:,} requests")
    finally:
        writer.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
