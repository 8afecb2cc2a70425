"""Record which dataset version a run used, as an MLflow dataset input."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# MLflow's datasets table holds digests of at most 36 characters.
MLFLOW_DIGEST_LENGTH = 36


def log_dataset_input(
    frame: pd.DataFrame,
    *,
    name: str,
    content_hash: str,
    source: str,
    target: str | None = None,
    context: str = "training",
) -> None:
    """Log ``frame`` as an input of the active MLflow run.

    ``name`` is the catalog reference (``NAME@VERSION``), the digest is the start of the
    catalog's content hash, and ``source`` where the data lives (its snapshot URI, which
    carries the full hash), so the MLflow UI and client lead back to the exact version.
    """
    import mlflow
    import mlflow.data

    with warnings.catch_warnings():
        # MLflow registers one local-file source per scheme ("" and "file") and warns that a
        # file:// URI matches both; they are the same class of source.
        warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways.*")
        # The recorded schema describes the data as it is; integer columns are fine there.
        warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
        dataset = mlflow.data.from_pandas(
            frame,
            source=source,
            targets=target,
            name=name,
            digest=content_hash[:MLFLOW_DIGEST_LENGTH],
        )
        mlflow.log_input(dataset, context=context)  # infers the schema here
