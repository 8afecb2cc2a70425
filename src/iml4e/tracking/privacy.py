"""Opt-outs that keep MLflow and its dependencies from phoning home.

MLflow reads these only from the environment, so they are set (without overriding a value
the user chose) by the edges that start work: the CLI, the servers, and the tracking client.
"""

from __future__ import annotations

import os

PRIVACY_ENVIRONMENT = {
    "MLFLOW_DISABLE_TELEMETRY": "true",  # MLflow's usage telemetry
    "DO_NOT_TRACK": "true",  # the cross-tool convention MLflow also honours
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GIT_PYTHON_REFRESH": "quiet",  # MLflow probes for git; do not warn when it is absent
}


def apply_privacy_defaults() -> None:
    """Set the opt-outs in this process's environment unless the user set them already."""
    for name, value in PRIVACY_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
