"""Model names: what the registry refuses, and quotes that must not break MLflow's filters."""

from __future__ import annotations

import pytest

from iml4e.errors import BadInput
from iml4e.registry import (
    InvalidModelName,
    ModelNotFound,
    PromotionPolicy,
    alias_history,
    alias_versions,
    check_model_name,
    list_models,
    model_versions,
    promote,
    resolve_policy,
    rollback,
)
from tests.registry.conftest import MODEL, Registry

# MLflow registers each of these; a filter built as name='{name}' breaks on, or is steered
# by, the quotes. The last two are found by LIKE (both quote kinds), with a look-alike beside.
QUOTED = [
    "it's",
    'say "hi"',
    "x' OR name LIKE '%",
    "back\\slash's",
    'o\'brien "the" model',
    'o_brien "the" model',
]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("team/model", "'/' or ':'"),
        ("models:credit", "'/' or ':'"),
        (".", "start with '..'"),
        ("..hidden", "start with '..'"),
        ("m" * 201, "at most 200 characters"),
    ],
)
def test_names_the_registry_cannot_hold_are_refused(name: str, problem: str) -> None:
    with pytest.raises(InvalidModelName, match=problem) as caught:
        check_model_name(name)
    assert isinstance(caught.value, BadInput)  # exit 2 on the command line


def test_quotes_spaces_and_percent_are_fine() -> None:
    for name in [*QUOTED, "credit default", "50% off_", "m" * 200]:
        assert check_model_name(name) == name


def test_api_refuses_a_bad_name_before_touching_the_registry(registry: Registry) -> None:
    with pytest.raises(InvalidModelName):
        model_versions(registry.client, registry.store, "team/model")
    with pytest.raises(InvalidModelName):  # the name would become a policy file path
        resolve_policy(registry.settings.home, "../../elsewhere", "champion", None)
    with pytest.raises(InvalidModelName):
        alias_versions(registry.client, "a:b", ["champion"])


def test_quoted_names_find_their_own_versions_only(registry: Registry) -> None:
    registry.add_version({"roc_auc": 0.8}, name=MODEL)
    for count, name in enumerate(QUOTED, start=1):
        for _ in range(count):
            registry.add_version({"roc_auc": 0.8}, name=name)
    for count, name in enumerate(QUOTED, start=1):
        versions = model_versions(registry.client, registry.store, name)
        assert [v.version for v in versions] == [str(n) for n in range(1, count + 1)], name
        assert {v.name for v in versions} == {name}
    summaries = {summary.name: summary.n_versions for summary in list_models(registry.client)}
    assert summaries == {MODEL: 1, **{name: n for n, name in enumerate(QUOTED, start=1)}}
    with pytest.raises(ModelNotFound):
        model_versions(registry.client, registry.store, "o'brien")


def test_a_quoted_name_is_promoted_rolled_back_and_followed(registry: Registry) -> None:
    name = 'o\'brien "the" model'
    first = registry.add_version({}, name=name)
    second = registry.add_version({}, name=name)
    policy = PromotionPolicy(model=name, to="champion")
    for version in (first, second):
        promote(registry.client, registry.store, name, version, policy=policy, actor="alice")
    assert alias_versions(registry.client, name, ["champion", "challenger"]) == {
        "champion": second,
        "challenger": None,
    }
    rollback(registry.client, registry.store, name, actor="bob")
    assert alias_versions(registry.client, name, ["champion"]) == {"champion": first}
    kinds = [event.kind for event in alias_history(registry.store, name, "champion")]
    assert kinds == ["promoted", "promoted", "rolled_back"]


def test_alias_versions_of_an_unknown_model_is_model_not_found(registry: Registry) -> None:
    with pytest.raises(ModelNotFound, match="'nope'"):
        alias_versions(registry.client, "nope", ["champion"])
