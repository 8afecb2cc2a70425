"""A pipeline that versions a dataset and "registers" a model, for lineage tests."""

from __future__ import annotations

import pandas as pd

from iml4e.data.catalog import DatasetVersionInfo
from iml4e.pipelines import current_step, pipeline, step


@step
def load(rows: int = 20) -> pd.DataFrame:
    return pd.DataFrame({"x": range(rows), "label": [i % 2 for i in range(rows)]})


@step
def version(frame: pd.DataFrame, name: str = "toy") -> DatasetVersionInfo:
    from iml4e.data.ingest import register_frame

    context = current_step()
    info = register_frame(context.settings, context.store, frame, name=name, source="test")
    context.record_dataset(info, role="output")
    return info


@step
def fit(frame: pd.DataFrame, dataset: DatasetVersionInfo, scale: float = 1.0) -> dict[str, float]:
    current_step().record_dataset(dataset, role="input")
    return {"weight": float(frame["x"].mean()) * scale}


@step
def publish(weights: dict[str, float], model: str = "toy-model", tag: str = "1") -> str:
    current_step().record_model(model, tag)
    return f"{model}@{tag}"


@pipeline
def toy(rows: int = 20, scale: float = 1.0, tag: str = "1") -> None:
    frame = load(rows=rows)
    dataset = version(frame)
    weights = fit(frame, dataset, scale=scale)
    publish(weights, tag=tag)
