"""Run the model server for one deployment in this process, until it is told to stop."""

from __future__ import annotations

from iml4e.config import Settings, prepare_home
from iml4e.ports import ensure_port_free
from iml4e.serving.app import create_model_app
from iml4e.serving.deployments import record_deployment, set_deployment_state
from iml4e.serving.inference_log import InferenceLogWriter
from iml4e.serving.served_model import load_served_model
from iml4e.store import open_store


def serve_model(
    settings: Settings, model_uri: str, *, deployment: str, host: str, port: int
) -> None:
    """Load ``model_uri``, record the deployment, and serve it on ``host:port`` (blocking).

    The deployment is marked ``serving`` once the model is loaded and ``stopped`` when the
    server shuts down (SIGINT/SIGTERM); the inference log segment is closed on the way out.
    """
    import uvicorn

    ensure_port_free(host, port, "--port")
    prepare_home(settings)
    store = open_store(settings)
    model = load_served_model(settings, model_uri)
    log = InferenceLogWriter(store, settings.inference_log_root, deployment)
    app = create_model_app(model, deployment, log)
    record_deployment(
        store,
        deployment,
        model_name=model.name,
        model_version=model.version,
        url=f"http://{host}:{port}",
        actor=settings.user,
    )
    try:
        uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        ).run()
    finally:
        log.close()
        set_deployment_state(store, deployment, "stopped", actor=settings.user)
        store.close()
