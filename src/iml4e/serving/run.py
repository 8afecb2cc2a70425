"""Run the model server for one deployment, in this process or in several worker processes.

With one worker the app runs here. With more, uvicorn starts that many worker processes on one
listening socket; each loads the model itself (through :func:`create_worker_app`) and writes
its own inference log segment, so no two processes ever append to the same file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable

from starlette.applications import Starlette

from iml4e.config import Settings, load_settings, prepare_home
from iml4e.errors import BadInput
from iml4e.ports import ensure_port_free, is_loopback
from iml4e.serving.app import create_model_app
from iml4e.serving.deployments import get_deployment, record_deployment, set_deployment_state
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.model_refs import ResolvedModel, resolve_model
from iml4e.serving.router import Router
from iml4e.serving.routes_operator import OperatorGuard
from iml4e.serving.served_model import ServedModel, load_served_model
from iml4e.serving.spec import ServeSpec
from iml4e.serving.watcher import DeploymentWatcher
from iml4e.store import Store, open_store

WORKER_SPEC_VARIABLE = "_IML4E_SERVE_WORKER_SPEC"
"""Where the parent hands a worker its model URI and deployment (JSON), beside its settings."""

MAX_WORKERS = 64


def serve_model(
    settings: Settings,
    spec: ServeSpec,
    *,
    host: str,
    port: int,
    workers: int = 1,
) -> None:
    """Load ``spec``'s models, record the deployment, and serve it on ``host:port`` (blocking).

    The deployment is marked ``serving`` once the models are loaded and ``stopped`` when the
    server shuts down (SIGINT/SIGTERM); every worker closes its inference log segment on the
    way out. Operator routes are mounted on a loopback address, and on any other behind API
    tokens and roles (``server_auth``; ``auto`` asks for them off loopback).
    """
    import uvicorn

    if not 1 <= workers <= MAX_WORKERS:
        raise BadInput(f"must be between 1 and {MAX_WORKERS}", where="--workers")
    spec.check()
    ensure_port_free(host, port, "--port")
    prepare_home(settings)
    from iml4e.server.access import auth_required

    guarded = auth_required(settings, host)
    spec = dataclasses.replace(
        spec, operator_routes=is_loopback(host) or guarded, operator_auth=guarded
    )
    store = open_store(settings)
    # With several workers the parent only checks the URIs (each worker loads its own copy):
    # a model held here would cost a worker's memory for nothing.
    models = _load_models(settings, spec) if workers == 1 else {}
    champion = _resolve_models(settings, spec)["champion"]
    record_deployment(
        store,
        spec.deployment,
        model_name=champion.name,
        model_version=str(champion.version),
        url=f"http://{host}:{port}",
        actor=settings.user,
    )
    try:
        if workers == 1:
            # uvicorn re-raises SIGTERM once it has shut down, so the app's shutdown (not this
            # function's ``finally``) is where the deployment is marked stopped.
            app = _build_app(
                settings,
                store,
                spec,
                models,
                on_shutdown=lambda: _mark_stopped(settings, store, spec),
            )
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    host=host,
                    port=port,
                    log_level="warning",
                    access_log=False,
                    limit_concurrency=settings.serving_max_connections,
                )
            ).run()
        else:
            os.environ.update(settings.as_environment())
            os.environ[WORKER_SPEC_VARIABLE] = json.dumps(dataclasses.asdict(spec))
            uvicorn.run(
                "iml4e.serving.run:create_worker_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                access_log=False,
                limit_concurrency=settings.serving_max_connections,
            )
    finally:
        _mark_stopped(settings, store, spec)
        store.close()


def create_worker_app() -> Starlette:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    spec = ServeSpec(**json.loads(os.environ[WORKER_SPEC_VARIABLE]))
    settings = load_settings(
        environ={k: v for k, v in os.environ.items() if k != WORKER_SPEC_VARIABLE}
    ).settings
    store = open_store(settings)
    return _build_app(settings, store, spec, _load_models(settings, spec))


def _resolve_models(settings: Settings, spec: ServeSpec) -> dict[str, ResolvedModel]:
    """The version of every role; a challenger or shadow alias not set yet is left out (the
    watcher loads it once it is set); the champion's and the fallback's must be set."""
    from mlflow import MlflowClient

    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    resolved = {}
    for role, uri in spec.follow().items():
        optional = role in ("challenger", "shadow")
        found = resolve_model(client, uri, where=uri, alias_may_be_unset=optional)
        if found.version is None:
            print(f"iml4e serve: {uri} is not set yet; {role} follows it", file=sys.stderr)
            continue
        resolved[role] = found
    return resolved


def _load_models(settings: Settings, spec: ServeSpec) -> dict[str, ServedModel]:
    return {
        role: load_served_model(settings, f"models:/{found.name}/{found.version}")
        for role, found in _resolve_models(settings, spec).items()
    }


def _mark_stopped(settings: Settings, store: Store, spec: ServeSpec) -> None:
    if get_deployment(store, spec.deployment).state != "stopped":
        set_deployment_state(store, spec.deployment, "stopped", actor=settings.user)


def _build_app(
    settings: Settings,
    store: Store,
    spec: ServeSpec,
    models: dict[str, ServedModel],
    *,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    log = InferenceLogWriter(store, settings.inference_log_root, spec.deployment)
    router = Router.for_models(
        spec.deployment,
        log,
        models["champion"],
        challenger=models.get("challenger"),
        split=spec.split or 0.0,
        shadow=models.get("shadow"),
        fallback=models.get("fallback"),
    )
    watcher = DeploymentWatcher(settings, store, router, follow=spec.follow())
    return create_model_app(
        router,
        log=log,
        store=store,
        watcher=watcher,
        operator_routes=spec.operator_routes,
        operator_guard=_operator_guard(store) if spec.operator_auth else None,
        on_shutdown=on_shutdown,
    )


def _operator_guard(store: Store) -> OperatorGuard:
    from iml4e.server.access import bearer_guard

    return bearer_guard(store)
