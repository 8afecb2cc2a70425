"""Run the model server for one deployment, in this process or in several worker processes.

With one worker the app runs here. With more, uvicorn starts that many worker processes on one
listening socket; each loads the model itself (through :func:`create_worker_app`) and writes
its own inference log segment, so no two processes ever append to the same file.
"""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette

from iml4e.config import Settings, load_settings, prepare_home
from iml4e.errors import BadInput
from iml4e.ports import ensure_port_free
from iml4e.serving.app import create_model_app
from iml4e.serving.deployments import record_deployment, set_deployment_state
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.served_model import load_served_model
from iml4e.store import open_store

WORKER_SPEC_VARIABLE = "_IML4E_SERVE_WORKER_SPEC"
"""Where the parent hands a worker its model URI and deployment (JSON), beside its settings."""

MAX_WORKERS = 64


def serve_model(
    settings: Settings,
    model_uri: str,
    *,
    deployment: str,
    host: str,
    port: int,
    workers: int = 1,
) -> None:
    """Load ``model_uri``, record the deployment, and serve it on ``host:port`` (blocking).

    The deployment is marked ``serving`` once the model is loaded and ``stopped`` when the
    server shuts down (SIGINT/SIGTERM); every worker closes its inference log segment on the
    way out.
    """
    import uvicorn

    if not 1 <= workers <= MAX_WORKERS:
        raise BadInput(f"must be between 1 and {MAX_WORKERS}", where="--workers")
    ensure_port_free(host, port, "--port")
    prepare_home(settings)
    store = open_store(settings)
    model = load_served_model(settings, model_uri)
    record_deployment(
        store,
        deployment,
        model_name=model.name,
        model_version=model.version,
        url=f"http://{host}:{port}",
        actor=settings.user,
    )
    log: InferenceLogWriter | None = None
    try:
        if workers == 1:
            log = InferenceLogWriter(store, settings.inference_log_root, deployment)
            app = create_model_app(model, deployment, log)
            uvicorn.Server(
                uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
            ).run()
        else:
            del model  # each worker loads its own copy
            os.environ.update(settings.as_environment())
            os.environ[WORKER_SPEC_VARIABLE] = json.dumps(
                {"model_uri": model_uri, "deployment": deployment}
            )
            uvicorn.run(
                "iml4e.serving.run:create_worker_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                access_log=False,
            )
    finally:
        if log is not None:
            log.close()
        set_deployment_state(store, deployment, "stopped", actor=settings.user)
        store.close()


def create_worker_app() -> Starlette:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    spec = json.loads(os.environ[WORKER_SPEC_VARIABLE])
    settings = load_settings(
        environ={k: v for k, v in os.environ.items() if k != WORKER_SPEC_VARIABLE}
    ).settings
    store = open_store(settings)
    model = load_served_model(settings, spec["model_uri"])
    log = InferenceLogWriter(store, settings.inference_log_root, spec["deployment"])
    return create_model_app(model, spec["deployment"], log)
