"""Approve, promote and roll back against a real MLflow registry on SQLite."""

from __future__ import annotations

import pytest

from iml4e.registry import (
    HeadToHead,
    ModelNotFound,
    NothingToRollBack,
    PolicyInvalid,
    PromotionPolicy,
    PromotionRejected,
    alias_history,
    approve,
    list_models,
    model_versions,
    parse_policy,
    promote,
    remove_alias,
    resolve_policy,
    rollback,
    set_alias,
)
from tests.registry.conftest import MODEL, Registry


def _policy(**overrides: object) -> PromotionPolicy:
    return parse_policy({"model": MODEL, "to": "champion", **overrides}, source="test")


def _champion(registry: Registry) -> str:
    return str(registry.client.get_model_version_by_alias(MODEL, "champion").version)


def test_versions_and_models_are_listed_with_metrics_and_aliases(registry: Registry) -> None:
    first = registry.add_version({"roc_auc": 0.8})
    registry.add_version({"roc_auc": 0.9})
    set_alias(registry.client, MODEL, "champion", first, store=registry.store, actor="ops")
    versions = model_versions(registry.client, registry.store, MODEL)
    assert [(v.version, v.aliases, v.metrics) for v in versions] == [
        ("1", ("champion",), {"roc_auc": 0.8}),
        ("2", (), {"roc_auc": 0.9}),
    ]
    [summary] = list_models(registry.client)
    assert (summary.name, summary.latest_version, summary.n_versions) == (MODEL, "2", 2)
    assert summary.aliases == {"champion": "1"}
    kinds = [event.kind for event in alias_history(registry.store, MODEL)]
    assert kinds == ["registered", "registered", "alias_set"]


def test_removing_an_alias_is_recorded_once(registry: Registry) -> None:
    first = registry.add_version({})
    set_alias(registry.client, MODEL, "challenger", first, store=registry.store, actor="ops")
    assert remove_alias(registry.client, MODEL, "challenger", store=registry.store, actor="ops")
    assert (
        remove_alias(registry.client, MODEL, "challenger", store=registry.store, actor="ops")
        is None
    )
    assert registry.client.get_registered_model(MODEL).aliases == {}
    removed = alias_history(registry.store, MODEL, "challenger")[-1]
    assert (removed.kind, removed.previous_version, removed.model_version) == (
        "alias_removed",
        first,
        None,
    )
    assert [e.kind for e in alias_history(registry.store, MODEL)].count("alias_removed") == 1


def test_unknown_model_and_version_are_named(registry: Registry) -> None:
    registry.add_version({})
    with pytest.raises(ModelNotFound, match="'nope'"):
        model_versions(registry.client, registry.store, "nope")
    with pytest.raises(ModelNotFound, match="version '9'"):
        approve(registry.client, registry.store, MODEL, "9", actor="alice")


def test_promote_passes_thresholds_and_records_the_previous_version(registry: Registry) -> None:
    first = registry.add_version({"roc_auc": 0.80, "accuracy": 0.75})
    second = registry.add_version({"roc_auc": 0.85, "accuracy": 0.76})
    policy = _policy(thresholds=["roc_auc>=0.75", "accuracy>=0.70"])
    promote(registry.client, registry.store, MODEL, first, policy=policy, actor="alice")
    result = promote(registry.client, registry.store, MODEL, second, policy=policy, actor="bob")
    assert result.previous_version == first
    assert _champion(registry) == second
    promoted = alias_history(registry.store, MODEL, "champion")[-1]
    assert (promoted.kind, promoted.previous_version, promoted.actor) == ("promoted", first, "bob")


def test_a_head_to_head_on_the_same_rows_decides_and_must_be_against_the_holder(
    registry: Registry,
) -> None:
    first = registry.add_version({"roc_auc": 0.90})
    second = registry.add_version({"roc_auc": 0.80})  # worse on its own hold-out
    policy = _policy(must_beat={"metric": "roc_auc", "margin": 0.01})
    set_alias(registry.client, MODEL, "champion", first, store=registry.store, actor="ops")
    with pytest.raises(PromotionRejected):
        promote(registry.client, registry.store, MODEL, second, policy=policy, actor="bob")
    fresh = HeadToHead(
        candidate={"roc_auc": 0.84}, holder={"roc_auc": 0.71}, holder_version=first, on="fresh"
    )
    result = promote(
        registry.client,
        registry.store,
        MODEL,
        second,
        policy=policy,
        actor="bob",
        head_to_head=fresh,
    )
    assert (result.previous_version, _champion(registry)) == (first, second)
    promoted = alias_history(registry.store, MODEL, "champion")[-1]
    assert promoted.detail["compared_on"] == "fresh"
    stale = HeadToHead(
        candidate={"roc_auc": 0.99}, holder={"roc_auc": 0.5}, holder_version=first, on="x"
    )
    third = registry.add_version({"roc_auc": 0.95})
    with pytest.raises(PromotionRejected, match="now " + second):
        promote(
            registry.client,
            registry.store,
            MODEL,
            third,
            policy=policy,
            actor="bob",
            head_to_head=stale,
        )


def test_failed_threshold_rejects_and_leaves_the_alias(registry: Registry) -> None:
    good = registry.add_version({"roc_auc": 0.80})
    weak = registry.add_version({"roc_auc": 0.70})
    policy = _policy(thresholds=["roc_auc>=0.75"])
    promote(registry.client, registry.store, MODEL, good, policy=policy, actor="alice")
    with pytest.raises(PromotionRejected) as caught:
        promote(registry.client, registry.store, MODEL, weak, policy=policy, actor="alice")
    assert caught.value.failures == ["threshold roc_auc >= 0.75 (got 0.7000)"]
    assert _champion(registry) == good
    rejected = alias_history(registry.store, MODEL, "champion")[-1]
    assert (rejected.kind, rejected.model_version) == ("rejected", weak)
    assert rejected.detail["checks"][0]["passed"] is False


def test_must_beat_compares_with_the_current_champion(registry: Registry) -> None:
    champion = registry.add_version({"roc_auc": 0.80})
    barely = registry.add_version({"roc_auc": 0.802})
    clearly = registry.add_version({"roc_auc": 0.81})
    policy = _policy(must_beat={"metric": "roc_auc", "margin": 0.005})
    promote(registry.client, registry.store, MODEL, champion, policy=policy, actor="alice")
    with pytest.raises(PromotionRejected, match=r"0\.8020 vs 0\.8000 \(version 1\)"):
        promote(registry.client, registry.store, MODEL, barely, policy=policy, actor="alice")
    promote(registry.client, registry.store, MODEL, clearly, policy=policy, actor="alice")
    assert _champion(registry) == clearly


def test_approvals_count_each_person_once(registry: Registry) -> None:
    version = registry.add_version({"roc_auc": 0.9})
    policy = _policy(approvals=2)
    assert approve(registry.client, registry.store, MODEL, version, actor="alice") == ["alice"]
    assert approve(registry.client, registry.store, MODEL, version, actor="alice") == ["alice"]
    with pytest.raises(PromotionRejected, match=r"approvals >= 2 \(1 \(alice\)\)"):
        promote(registry.client, registry.store, MODEL, version, policy=policy, actor="carol")
    approved = approve(registry.client, registry.store, MODEL, version, actor="bob", note="ok")
    assert approved == ["alice", "bob"]
    promote(registry.client, registry.store, MODEL, version, policy=policy, actor="carol")
    assert _champion(registry) == version


def test_policy_for_another_model_or_alias_is_refused(registry: Registry) -> None:
    version = registry.add_version({})
    other = parse_policy({"model": "other"}, source="test")
    with pytest.raises(PolicyInvalid):
        promote(registry.client, registry.store, MODEL, version, policy=other, actor="alice")
    with pytest.raises(PolicyInvalid):
        promote(
            registry.client,
            registry.store,
            MODEL,
            version,
            policy=_policy(),
            actor="alice",
            to="challenger",
        )


def test_rollback_restores_each_previous_champion_in_turn(registry: Registry) -> None:
    v1, v2, v3 = (registry.add_version({"roc_auc": auc}) for auc in (0.8, 0.85, 0.9))
    policy = _policy()
    for version in (v1, v2, v3):
        promote(registry.client, registry.store, MODEL, version, policy=policy, actor="alice")
    first = rollback(registry.client, registry.store, MODEL, actor="bob")
    assert (first.undone_version, first.restored_version) == (v3, v2)
    assert _champion(registry) == v2
    rollback(registry.client, registry.store, MODEL, actor="bob")
    assert _champion(registry) == v1
    last = rollback(registry.client, registry.store, MODEL, actor="bob")
    assert last.restored_version is None
    assert "champion" not in registry.client.get_registered_model(MODEL).aliases
    with pytest.raises(NothingToRollBack):
        rollback(registry.client, registry.store, MODEL, actor="bob")

    history = alias_history(registry.store, MODEL, "champion")
    assert [(e.kind, e.model_version, e.previous_version) for e in history] == [
        ("promoted", v1, None),
        ("promoted", v2, v1),
        ("promoted", v3, v2),
        ("rolled_back", v2, v3),
        ("rolled_back", v1, v2),
        ("rolled_back", None, v1),
    ]


def test_resolve_policy_prefers_the_given_file_then_the_home_one(registry: Registry) -> None:
    home = registry.settings.home
    assert resolve_policy(home, MODEL, "champion", None) == _policy()
    (home / "policies").mkdir()
    (home / "policies" / f"{MODEL}.yaml").write_text(f"model: {MODEL}\napprovals: 3\n")
    assert resolve_policy(home, MODEL, "champion", None).approvals == 3
