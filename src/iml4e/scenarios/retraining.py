"""Retraining a training case on its newest data, for the monitoring loop.

``retrain_case`` is what a deployment's retraining plan names as ``run``: it runs the case's
training pipeline on the newest data (``drift`` stands for how far that data has moved), which
registers the new version as ``challenger``; measures the challenger and the champion on the
new run's hold-out — the same fresh rows for both; and promotes the challenger through the
model's promotion policy on that head-to-head. When the policy needs an approval the
challenger waits for it; when the champion is as good, it stays.
"""

from __future__ import annotations

from typing import Any

from iml4e.config import Settings
from iml4e.monitoring.retraining import RetrainingOutcome
from iml4e.pipelines import run_pipeline
from iml4e.pipelines.training import classification_metrics
from iml4e.registry import (
    HeadToHead,
    PromotionRejected,
    current_alias_version,
    promote,
    resolve_policy,
)
from iml4e.scenarios.cases import demo_case
from iml4e.scenarios.training import train_case
from iml4e.serving.deployments import get_deployment
from iml4e.store import open_store
from iml4e.tracking import activate_tracking, connect_tracking


def retrain_case(
    settings: Settings,
    deployment: str,
    *,
    reason: str,
    case: str = "credit",
    rows: int = 20_000,
    seed: int = 7,
    drift: float = 0.0,
    evolved_contract: bool = False,
    actor: str | None = None,
) -> RetrainingOutcome:
    """Retrain ``case`` on its newest data and promote the result if it beats the champion."""
    import mlflow.sklearn

    actor = actor or settings.user
    chosen = demo_case(case)
    result = run_pipeline(
        train_case,
        {
            "case": case,
            "rows": rows,
            "seed": seed,
            "drift": drift,
            "evolved_contract": evolved_contract,
            "alias": "challenger",
        },
        settings=settings,
        experiment=chosen.model_name,
    )
    challenger = str(result.output("register").version)
    holdout = result.output("split_data", "test")
    dataset = result.output("version_dataset")
    features, target = holdout.drop(columns=[chosen.target]), holdout[chosen.target]
    with open_store(settings) as store:
        client = connect_tracking(settings, store)
        name = get_deployment(store, deployment).model_name
        champion = current_alias_version(client, name, "champion")
        outcome = RetrainingOutcome(
            reason=reason,
            pipeline_run_id=result.run_id,
            challenger_version=challenger,
            champion_version=champion,
            compared_on=f"{dataset.name}@{dataset.version} hold-out, {len(holdout)} rows",
            challenger_metrics=_metrics(result.output("train"), features, target),
        )
        if champion is None or champion == challenger:
            outcome.decision = "nothing to compare with: no other champion"
            return outcome
        activate_tracking(settings)  # a cached run set nothing up in this process
        champion_model = mlflow.sklearn.load_model(f"models:/{name}/{champion}")
        outcome.champion_metrics = _metrics(champion_model, features, target)
        head_to_head = HeadToHead(
            candidate=outcome.challenger_metrics,
            holder=outcome.champion_metrics,
            holder_version=champion,
            on=outcome.compared_on,
        )
        policy = resolve_policy(settings.home, name, "champion", None)
        try:
            promote(
                client,
                store,
                name,
                challenger,
                policy=policy,
                actor=actor,
                head_to_head=head_to_head,
            )
        except PromotionRejected as exc:
            waiting = exc.failures and all(f.startswith("approvals") for f in exc.failures)
            outcome.decision = ("waiting for approval: " if waiting else "rejected: ") + "; ".join(
                exc.failures
            )
            return outcome
        outcome.decision = f"promoted over version {champion}"
        outcome.promoted = True
        return outcome


def _metrics(model: Any, features: Any, target: Any) -> dict[str, float]:
    return {
        key: float(value) for key, value in classification_metrics(model, features, target).items()
    }
