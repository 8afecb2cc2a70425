"""The main job's training as a pipeline: collect → version → split → train → evaluate → register
→ reference profile (what monitoring compares the version's live traffic with).

Run it with ``iml4e pipeline run iml4e.scenarios.training:train_case -p case=wine`` or as
the first half of ``iml4e demo``. Run again with the same parameters it is answered from the
cache in well under a second, and registers nothing new: same data, same code, same model.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd

from iml4e.data.catalog import DatasetVersionInfo
from iml4e.pipelines import current_step, pipeline, step
from iml4e.registry.versions import ModelVersionInfo
from iml4e.scenarios.cases import demo_case

ALIAS = "champion"


class Split(NamedTuple):
    """Rows to train on and rows held out for evaluation (features and label together)."""

    train: pd.DataFrame
    test: pd.DataFrame


@step
def collect(source: str) -> pd.DataFrame:
    """Read the training data through its connector."""
    from iml4e.data.connectors import open_source

    frame = open_source(source).read()
    print(f"{len(frame)} rows from {source}")
    return frame


@step
def version_dataset(
    frame: pd.DataFrame, case: str, source: str, evolved_contract: bool = False
) -> DatasetVersionInfo:
    """Check the data against the case's contract and register it in the catalog."""
    from iml4e.data.ingest import register_frame

    context = current_step()
    chosen = demo_case(case)
    dataset = register_frame(
        context.settings,
        context.store,
        frame,
        name=chosen.dataset_name,
        source=source,
        contract=chosen.contract(evolved=evolved_contract),
        target=chosen.target,
    )
    context.record_dataset(dataset, role="output")
    print(f"contract holds; {dataset.name} v{dataset.version} ({dataset.content_hash[:12]})")
    return dataset


@step
def split_data(frame: pd.DataFrame, case: str, test_size: float = 0.25, seed: int = 7) -> Split:
    """Hold out ``test_size`` of the rows, stratified on the label."""
    from iml4e.pipelines.training import split_frame

    chosen = demo_case(case)
    # Serve-time inputs may miss values: the model takes numeric features as floats, so its
    # signature accepts NaN in any of them.
    features = frame.astype({column: "float64" for column in chosen.numeric_features})
    parts = split_frame(features, chosen.target, test_size=test_size, seed=seed)
    return Split(
        train=parts.x_train.assign(**{chosen.target: parts.y_train}),
        test=parts.x_test.assign(**{chosen.target: parts.y_test}),
    )


@step
def train(train_rows: pd.DataFrame, dataset: DatasetVersionInfo, case: str, seed: int = 7) -> Any:
    """Fit the case's preprocessing and classifier on the training rows."""
    from iml4e.pipelines.training import build_tabular_classifier

    chosen = demo_case(case)
    current_step().record_dataset(dataset, role="input")
    model = build_tabular_classifier(
        chosen.numeric_features,
        chosen.categorical_features,
        estimator=chosen.estimator,
        seed=seed,
    )
    model.fit(train_rows.drop(columns=[chosen.target]), train_rows[chosen.target])
    classifier = model.named_steps["classifier"]
    current_step().log_params(
        {
            f"classifier.{key}": value
            for key, value in classifier.get_params().items()
            if isinstance(value, int | float | str | bool) or value is None
        }
    )
    print(f"{len(train_rows)} rows, {chosen.estimator.replace('_', ' ')}")
    return model


@step
def evaluate(
    model: Any, test_rows: pd.DataFrame, case: str, gate: list[str] | None = None
) -> dict[str, float]:
    """Measure the model on the held-out rows and require the gate (the case's by default)."""
    from iml4e.pipelines.training import classification_metrics
    from iml4e.registry import parse_threshold, require_gate

    chosen = demo_case(case)
    metrics = classification_metrics(
        model, test_rows.drop(columns=[chosen.target]), test_rows[chosen.target]
    )
    current_step().log_metrics(metrics)
    print(", ".join(f"{key} {value:.3f}" for key, value in metrics.items()))
    thresholds = [parse_threshold(text) for text in gate] if gate is not None else chosen.gate
    require_gate(metrics, list(thresholds), what=f"{chosen.model_name} candidate")
    print("gate passed: " + "; ".join(map(str, thresholds)))
    return metrics


@step
def register(
    model: Any,
    test_rows: pd.DataFrame,
    metrics: dict[str, float],
    dataset: DatasetVersionInfo,
    case: str,
    alias: str = ALIAS,
) -> ModelVersionInfo:
    """Log the model in MLflow format, register a version and point ``alias`` at it."""
    from iml4e.registry import register_model_version, set_alias
    from iml4e.tracking import connect_tracking, log_dataset_input, log_sklearn_model

    chosen = demo_case(case)
    context = current_step()
    features = test_rows.drop(columns=[chosen.target])
    with context.mlflow_run() as run_id:
        log_dataset_input(
            features.assign(**{chosen.target: test_rows[chosen.target]}),
            name=f"{dataset.name}@{dataset.version}",
            content_hash=dataset.content_hash,
            source=dataset.snapshot_uri or dataset.source,
            target=chosen.target,
        )
        logged = log_sklearn_model(model, features)
    client = connect_tracking(context.settings, context.store)
    version = register_model_version(
        client,
        context.store,
        name=chosen.model_name,
        source=logged.model_uri,
        run_id=run_id,
        metrics=metrics,
        pipeline_run_id=context.pipeline_run_id,
        dataset_version_id=dataset.id,
        actor=context.settings.user,
    )
    aliased = set_alias(
        client,
        chosen.model_name,
        alias,
        version.version,
        store=context.store,
        actor=context.settings.user,
    )
    context.record_model(chosen.model_name, version.version)
    context.set_tags({"iml4e.dataset": f"{dataset.name}@{dataset.version}"})
    print(f"{chosen.model_name} version {version.version} is {alias}")
    return aliased


@step
def reference_profile(
    model: Any,
    train_rows: pd.DataFrame,
    registered: ModelVersionInfo,
    dataset: DatasetVersionInfo,
    case: str,
) -> str:
    """Store the monitoring reference of the new version: its training rows and predictions."""
    from iml4e.monitoring.reference import build_reference
    from iml4e.monitoring.reference_store import save_reference

    chosen = demo_case(case)
    context = current_step()
    features = train_rows.drop(columns=[chosen.target])
    reference = build_reference(features, predictions=model.predict(features))
    path = save_reference(
        context.settings,
        context.store,
        reference,
        model_name=registered.name,
        model_version=registered.version,
        dataset_version_id=dataset.id,
    )
    print(f"monitoring reference of version {registered.version}: {len(features)} rows")
    return str(path)


@pipeline(name="train-case")
def train_case(
    case: str = "credit",
    rows: int = 20_000,
    seed: int = 7,
    test_size: float = 0.25,
    gate: list[str] | None = None,
    alias: str = ALIAS,
    drift: float = 0.0,
    evolved_contract: bool = False,
    source: str | None = None,
) -> None:
    """Train, evaluate and register the model of a training case as ``alias``; ``drift``
    trains on newer data whose distribution has moved (the retraining loop's newest data), which
    ``evolved_contract`` lets through the contract agreed for it. ``source`` reads the case's
    data from another connector source (a file with the same columns) instead of generating
    it."""
    source = source or demo_case(case).source(rows, seed, drift)
    frame = collect(source=source)
    dataset = version_dataset(frame, case=case, source=source, evolved_contract=evolved_contract)
    split = split_data(frame, case=case, test_size=test_size, seed=seed)
    model = train(split.train, dataset, case=case, seed=seed)
    metrics = evaluate(model, split.test, case=case, gate=gate)
    registered = register(model, split.test, metrics, dataset, case=case, alias=alias)
    reference_profile(model, split.train, registered, dataset, case=case)
