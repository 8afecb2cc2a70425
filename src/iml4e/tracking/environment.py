"""Environment defaults for MLflow: no phoning home, no chatter.

MLflow reads these only from the environment, so they are set (without overriding a value
the user chose) by the edges that start work: the CLI, the servers, and the tracking client,
and handed to the child processes they start.
"""

from __future__ import annotations

import os

MLFLOW_ENVIRONMENT_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",  # MLflow's usage telemetry
    "DO_NOT_TRACK": "true",  # the cross-tool convention MLflow also honours
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # MLflow's INFO lines would drown the CLI's output
    "GIT_PYTHON_REFRESH": "quiet",  # MLflow probes for git; do not warn when it is absent
}


def apply_mlflow_environment_defaults() -> None:
    """Set the defaults in this process's environment unless the user set them already."""
    for name, value in MLFLOW_ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
