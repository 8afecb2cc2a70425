"""How the MLflow child is started: command line and environment."""

from __future__ import annotations

import sys
from collections.abc import Callable

from iml4e.config import Settings
from iml4e.server.mlflow_ui import (
    mlflow_server_command,
    mlflow_server_environment,
    mlflow_ui_url,
)
from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS


def test_command_runs_one_worker_beside_the_platform(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(mlflow_port=18766)

    command = mlflow_server_command(settings)

    assert command[:4] == [sys.executable, "-m", "mlflow", "server"]
    options = dict(zip(command[4::2], command[5::2], strict=True))
    artifacts = settings.artifact_location_uri + "/mlflow"
    assert options == {
        "--default-artifact-root": artifacts,
        "--artifacts-destination": artifacts,
        "--host": "127.0.0.1",
        "--port": "18766",
        "--workers": "1",
    }
    assert mlflow_ui_url(settings) == "http://127.0.0.1:18766"


def test_store_uris_travel_in_the_environment_not_the_command_line(
    make_settings: Callable[..., Settings],
) -> None:
    url = "postgresql+psycopg://alice:s3cret@db.example/iml4e"
    settings = make_settings(database_url=url)

    environment = mlflow_server_environment(settings)

    assert not any("s3cret" in part for part in mlflow_server_command(settings))
    assert environment["MLFLOW_BACKEND_STORE_URI"] == url
    assert environment["MLFLOW_REGISTRY_STORE_URI"] == url
    for name in MLFLOW_ENVIRONMENT_DEFAULTS:
        assert name in environment
