"""Browse models, approve versions, promote them under a policy, and roll promotions back.

MLflow holds the versions and where each alias points; iml4e's model records hold the
metrics and lineage, and registry events hold every change (who, when, from which version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from iml4e.audit import record_audit
from iml4e.registry.checks import run_promotion_checks
from iml4e.registry.errors import (
    ModelNotFound,
    NothingToRollBack,
    PolicyInvalid,
    PromotionRejected,
)
from iml4e.registry.events import RegistryChange, record_event, registry_events
from iml4e.registry.locking import model_lock
from iml4e.registry.names import check_model_name, search_versions
from iml4e.registry.policy import PromotionEvaluation, PromotionPolicy, evaluate_promotion
from iml4e.registry.versions import current_alias_version
from iml4e.store import Store
from iml4e.store.models import ModelRecord

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class ModelSummary:
    """A registered model: how many versions it has and where its aliases point."""

    name: str
    latest_version: str | None
    n_versions: int
    aliases: dict[str, str]


@dataclass(frozen=True)
class VersionDetail:
    """One version of a model with its aliases, metrics and what it was made from."""

    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    dataset_version_id: int | None = None
    pipeline_run_id: str | None = None


@dataclass(frozen=True)
class PromotionResult:
    """A promotion that went ahead: the alias, the new and previous version, the checks."""

    name: str
    version: str
    alias: str
    previous_version: str | None
    evaluation: PromotionEvaluation


@dataclass(frozen=True)
class HeadToHead:
    """A candidate and the current alias holder measured on the same rows."""

    candidate: Mapping[str, float]
    holder: Mapping[str, float]
    holder_version: str
    on: str
    """What the rows were, e.g. ``credit-applications@4 hold-out, 5000 rows``."""


@dataclass(frozen=True)
class RollbackResult:
    """The alias moved back: from ``undone_version`` to ``restored_version`` (None: removed)."""

    name: str
    alias: str
    undone_version: str
    restored_version: str | None


def list_models(client: MlflowClient) -> list[ModelSummary]:
    """Every registered model, by name."""
    summaries = []
    for model in _all_registered_models(client):
        versions = [int(v.version) for v in search_versions(client, model.name)]
        summaries.append(
            ModelSummary(
                name=model.name,
                latest_version=str(max(versions)) if versions else None,
                n_versions=len(versions),
                aliases={alias: str(version) for alias, version in model.aliases.items()},
            )
        )
    return summaries


def _all_registered_models(client: MlflowClient) -> list[Any]:
    models: list[Any] = []
    token: str | None = None
    while True:
        page = client.search_registered_models(order_by=["name ASC"], page_token=token)
        models += page
        token = page.token
        if not token:
            return models


def _registered_model(client: MlflowClient, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    check_model_name(name)
    try:
        return client.get_registered_model(name)
    except MlflowException:
        raise ModelNotFound("no such registered model", where=f"model {name!r}") from None


def _records(store: Store, name: str) -> dict[str, ModelRecord]:
    with store.session() as session:
        rows = session.scalars(select(ModelRecord).where(ModelRecord.model_name == name)).all()
        session.expunge_all()
        return {row.model_version: row for row in rows}


def model_versions(client: MlflowClient, store: Store, name: str) -> list[VersionDetail]:
    """Every version of ``name``, oldest first, joined with iml4e's model records."""
    model = _registered_model(client, name)
    # search_model_versions leaves aliases empty; the registered model has them all.
    aliases_of: dict[str, list[str]] = {}
    for alias, aliased in model.aliases.items():
        aliases_of.setdefault(str(aliased), []).append(alias)
    records = _records(store, name)
    details = []
    for found in search_versions(client, name):
        version = str(found.version)
        record = records.get(version)
        details.append(
            VersionDetail(
                name=name,
                version=version,
                aliases=tuple(sorted(aliases_of.get(version, []))),
                run_id=found.run_id,
                metrics=dict(record.metrics) if record else {},
                dataset_version_id=record.dataset_version_id if record else None,
                pipeline_run_id=record.pipeline_run_id if record else None,
            )
        )
    return sorted(details, key=lambda detail: int(detail.version))


def model_version(client: MlflowClient, store: Store, name: str, version: str) -> VersionDetail:
    """One version of ``name`` with its aliases and record; :class:`ModelNotFound` if unknown."""
    for detail in model_versions(client, store, name):
        if detail.version == str(version):
            return detail
    raise ModelNotFound("no such model version", where=f"model {name!r} version {version!r}")


def approvers(store: Store, name: str, version: str) -> list[str]:
    """The distinct people who approved ``name`` version ``version``, in approval order."""
    seen: dict[str, None] = {}
    for event in registry_events(store, name, kinds=("approved",), version=str(version)):
        seen.setdefault(event.actor, None)
    return list(seen)


def approve(
    client: MlflowClient, store: Store, name: str, version: str, *, actor: str, note: str = ""
) -> list[str]:
    """Record that ``actor`` approves ``version``; returns the distinct approvers so far.

    Approving twice is recorded twice but counts once.
    """
    model_version(client, store, name, version)
    record_event(
        store,
        model_name=name,
        model_version=str(version),
        kind="approved",
        actor=actor,
        detail={"note": note} if note else {},
    )
    record_audit(
        store,
        actor=actor,
        action="registry.approve",
        target=f"model:{name}@{version}",
        detail={"note": note} if note else {},
    )
    return approvers(store, name, version)


def promote(
    client: MlflowClient,
    store: Store,
    name: str,
    version: str,
    *,
    policy: PromotionPolicy,
    actor: str,
    to: str = "champion",
    head_to_head: HeadToHead | None = None,
) -> PromotionResult:
    """Point alias ``to`` at ``version`` if ``policy`` is met; otherwise record and refuse.

    With ``head_to_head`` the policy is checked on metrics of the candidate and the current
    holder measured on the same rows (a fresh hold-out) instead of each version's own
    evaluation; a comparison made against another holder than the current one is refused.

    Raises :class:`PromotionRejected` listing every failed check (a ``rejected`` event is
    recorded first), or :class:`PolicyInvalid` when the policy is for another model or alias.
    Promotions, rollbacks and alias moves of one model take turns (:func:`model_lock`), so the
    holder checked against is the one replaced and ``previous_version`` is always right.
    """
    if policy.model != name or policy.to != to:
        raise PolicyInvalid(
            f"the policy is for {policy.model} -> {policy.to}, not {name} -> {to}",
            where="policy",
        )
    candidate = model_version(client, store, name, version)
    with model_lock(store, name):
        holder = current_alias_version(client, name, to)
        holder_metrics = model_version(client, store, name, holder).metrics if holder else None
        metrics = candidate.metrics
        if head_to_head is not None:
            if head_to_head.holder_version != holder:
                record_audit(
                    store,
                    actor=actor,
                    action="registry.promote",
                    target=f"model:{name}@{version}",
                    outcome="denied",
                    detail={
                        "alias": to,
                        "previous_version": holder,
                        "failures": ["stale comparison"],
                    },
                )
                raise PromotionRejected(
                    f"the comparison was made against version {head_to_head.holder_version}, "
                    f"but {to} is now {holder}",
                    failures=["stale comparison"],
                    where=f"{name} version {version} -> {to}",
                )
            metrics, holder_metrics = dict(head_to_head.candidate), dict(head_to_head.holder)
        evaluation = evaluate_promotion(
            policy,
            metrics=metrics,
            holder_version=holder,
            holder_metrics=holder_metrics,
            approvers=approvers(store, name, version),
        )
        evaluation = PromotionEvaluation(
            evaluation.checks + run_promotion_checks(store, name, version, to)
        )
        detail: dict[str, Any] = {"checks": [vars(check) for check in evaluation.checks]}
        if head_to_head is not None:
            detail["compared_on"] = head_to_head.on
        if evaluation.ok:
            client.set_registered_model_alias(name, to, str(version))
        record_event(
            store,
            model_name=name,
            model_version=str(version),
            kind="promoted" if evaluation.ok else "rejected",
            alias=to,
            previous_version=holder,
            actor=actor,
            detail=detail,
        )
    failures = [f"{check.name} ({check.detail})" for check in evaluation.failed]
    record_audit(
        store,
        actor=actor,
        action="registry.promote",
        target=f"model:{name}@{version}",
        outcome="ok" if evaluation.ok else "denied",
        detail={"alias": to, "previous_version": holder, "failures": failures}
        if failures
        else {"alias": to, "previous_version": holder},
    )
    if not evaluation.ok:
        raise PromotionRejected(
            "promotion policy not met: " + "; ".join(failures),
            failures=failures,
            where=f"{name} version {version} -> {to}",
        )
    return PromotionResult(name, str(version), to, holder, evaluation)


def rollback(
    client: MlflowClient, store: Store, name: str, *, actor: str, alias: str = "champion"
) -> RollbackResult:
    """Undo the last promotion to ``alias`` not yet rolled back.

    The alias moves back to the version it pointed at before that promotion (or is removed
    when nothing held it). Rolling back again undoes the promotion before that one.
    """
    _registered_model(client, name)
    with model_lock(store, name):
        pending: list[RegistryChange] = []
        for event in registry_events(store, name, alias=alias, kinds=("promoted", "rolled_back")):
            if event.kind == "promoted":
                pending.append(event)
            elif pending:
                pending.pop()
        if not pending:
            raise NothingToRollBack("no promotion to roll back", where=f"{name} alias {alias!r}")
        undone = pending[-1]
        current = current_alias_version(client, name, alias)
        restored = undone.previous_version
        if restored is None:
            client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, restored)
        record_event(
            store,
            model_name=name,
            model_version=restored,
            kind="rolled_back",
            alias=alias,
            previous_version=current,
            actor=actor,
            detail={"undid_event": undone.id, "undid_version": undone.model_version},
        )
    record_audit(
        store,
        actor=actor,
        action="registry.rollback",
        target=f"model:{name}@{undone.model_version}",
        detail={"alias": alias, "restored_version": restored, "undid_event": undone.id},
    )
    return RollbackResult(name, alias, str(undone.model_version), restored)


def alias_history(store: Store, name: str, alias: str | None = None) -> list[RegistryChange]:
    """Every recorded change of ``name`` (or only those touching ``alias``), oldest first."""
    return registry_events(store, name, alias=alias)


def resolve_policy(home: Path, name: str, to: str, path: Path | None) -> PromotionPolicy:
    """The policy at ``path``, else ``<home>/policies/<name>.yaml``, else none (no checks)."""
    from iml4e.registry.policy import default_policy_path, load_policy

    check_model_name(name)  # the name becomes part of a file path
    if path is not None:
        return load_policy(path)
    default = default_policy_path(home, name)
    if default.is_file():
        return load_policy(default)
    return PromotionPolicy(model=name, to=to)
