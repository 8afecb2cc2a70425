"""MLflow wiring: the tracking client, experiments, and batched logging.

MLflow stores runs, params, metrics, models and the registry in the same database as iml4e
(its own tables); the plain MLflow client and UI work on them unchanged.
"""

from iml4e.tracking.batch import log_run_data
from iml4e.tracking.client import (
    TrackingError,
    activate_tracking,
    connect_tracking,
    ensure_experiment,
)
from iml4e.tracking.datasets import log_dataset_input
from iml4e.tracking.environment import apply_mlflow_environment_defaults
from iml4e.tracking.models import log_sklearn_model

__all__ = [
    "TrackingError",
    "activate_tracking",
    "apply_mlflow_environment_defaults",
    "connect_tracking",
    "ensure_experiment",
    "log_dataset_input",
    "log_run_data",
    "log_sklearn_model",
]
