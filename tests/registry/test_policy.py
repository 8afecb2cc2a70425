"""Promotion policies: parsing, the errors that name file and key, and the plain evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from iml4e.errors import BadInput
from iml4e.registry import (
    PolicyInvalid,
    PromotionPolicy,
    evaluate_promotion,
    load_policy,
    parse_policy,
)

POLICY_TEXT = """\
model: credit-default
to: champion
thresholds: ["roc_auc>=0.75", "accuracy>=0.70"]
must_beat: {metric: roc_auc, margin: 0.005}
approvals: 1
"""


def test_load_policy_reads_every_key(tmp_path: Path) -> None:
    path = tmp_path / "credit-default.yaml"
    path.write_text(POLICY_TEXT)
    policy = load_policy(path)
    assert policy.model == "credit-default"
    assert policy.to == "champion"
    assert [str(t) for t in policy.parsed_thresholds()] == ["roc_auc >= 0.75", "accuracy >= 0.7"]
    assert policy.must_beat is not None and policy.must_beat.margin == 0.005
    assert policy.approvals == 1


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("model: m\nthreshold: ['a>=1']\n", "threshold: unknown key"),
        ("model: m\nmust_beat: {metric: a, margn: 0.1}\n", "must_beat.margn: unknown key"),
        ("model: m\nthresholds: ['roc_auc=0.7']\n", "thresholds"),
        ("model: m\napprovals: -1\n", "approvals"),
        ("to: champion\n", "model"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_policy_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyInvalid) as caught:
        load_policy(path)
    assert str(path) in str(caught.value)
    assert key in str(caught.value)
    assert isinstance(caught.value, BadInput)


def test_missing_and_unparseable_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyInvalid, match="not found"):
        load_policy(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model: [unclosed\n")
    with pytest.raises(PolicyInvalid, match="not valid YAML"):
        load_policy(broken)


def _policy() -> PromotionPolicy:
    return parse_policy(
        {
            "model": "m",
            "thresholds": ["roc_auc>=0.75"],
            "must_beat": {"metric": "roc_auc", "margin": 0.01},
            "approvals": 2,
        },
        source="test",
    )


def test_evaluation_passes_when_every_check_holds() -> None:
    result = evaluate_promotion(
        _policy(),
        metrics={"roc_auc": 0.82},
        holder_version="1",
        holder_metrics={"roc_auc": 0.80},
        approvers=["alice", "bob"],
    )
    assert result.ok
    assert [check.name for check in result.checks] == [
        "threshold roc_auc >= 0.75",
        "must beat current roc_auc by 0.01",
        "approvals >= 2",
    ]


def test_evaluation_reports_each_failed_check_with_detail() -> None:
    result = evaluate_promotion(
        _policy(),
        metrics={"roc_auc": 0.74},
        holder_version="1",
        holder_metrics={"roc_auc": 0.80},
        approvers=["alice", "alice"],
    )
    assert not result.ok
    details = {check.name: check.detail for check in result.failed}
    assert details["threshold roc_auc >= 0.75"] == "got 0.7400"
    assert details["must beat current roc_auc by 0.01"] == "0.7400 vs 0.8000 (version 1)"
    assert details["approvals >= 2"] == "1 (alice)"


def test_must_beat_passes_with_no_holder_and_fails_on_a_missing_metric() -> None:
    policy = parse_policy({"model": "m", "must_beat": {"metric": "roc_auc"}}, source="test")
    alone = evaluate_promotion(
        policy, metrics={"roc_auc": 0.5}, holder_version=None, holder_metrics=None, approvers=[]
    )
    assert alone.ok and alone.checks[0].detail == "no current holder"
    missing = evaluate_promotion(
        policy, metrics={}, holder_version="1", holder_metrics={"roc_auc": 0.5}, approvers=[]
    )
    assert not missing.ok
