"""``iml4e model …`` through the command's entry point, on a SQLite home with two versions."""

from __future__ import annotations

import json
from pathlib import Path

from iml4e.config import load_settings
from iml4e.platform import initialize
from iml4e.store import open_store
from iml4e.tracking import connect_tracking
from tests.conftest import run_iml4e_here
from tests.registry.conftest import MODEL, Registry, log_tiny_model


def _home_with_two_versions(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    settings = load_settings({"home": str(home)}, environ={}, cwd=tmp_path).settings
    initialize(settings)
    store = open_store(settings)
    client = connect_tracking(settings, store)
    registry = Registry(settings, store, client, *log_tiny_model(settings, client))
    registry.add_version({"roc_auc": 0.80})
    registry.add_version({"roc_auc": 0.70})
    store.close()
    return home


def _model(home: Path, *args: str):
    return run_iml4e_here("--home", str(home), "model", *args)


def test_promote_approve_rollback_and_history_exit_codes(tmp_path: Path) -> None:
    home = _home_with_two_versions(tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"model: {MODEL}\nthresholds: ['roc_auc>=0.75']\napprovals: 1\n")

    refused = _model(home, "promote", MODEL, "1", "--policy", str(policy))
    assert refused.returncode == 1, refused.stderr
    assert "approvals >= 1" in refused.stderr

    approved = _model(home, "approve", MODEL, "1", "--by", "alice", "--note", "looks good")
    assert approved.returncode == 0, approved.stderr
    promoted = _model(home, "promote", MODEL, "1", "--policy", str(policy), "--json")
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(promoted.stdout)["alias"] == "champion"

    _model(home, "approve", MODEL, "2", "--by", "alice")
    weak = _model(home, "promote", MODEL, "2", "--policy", str(policy))
    assert weak.returncode == 1
    assert "roc_auc >= 0.75 (got 0.7000)" in weak.stderr

    shown = json.loads(_model(home, "show", MODEL, "--json").stdout)
    assert [v["aliases"] for v in shown["versions"]] == [["champion"], []]
    assert _model(home, "rollback", MODEL).returncode == 0
    history = json.loads(_model(home, "history", MODEL, "--alias", "champion", "--json").stdout)
    assert [event["kind"] for event in history] == [
        "rejected",
        "promoted",
        "rejected",
        "rolled_back",
    ]
    assert _model(home, "list").returncode == 0


def test_unknown_model_version_or_policy_exit_2(tmp_path: Path) -> None:
    home = _home_with_two_versions(tmp_path)
    missing_model = _model(home, "show", "nope")
    assert missing_model.returncode == 2
    assert "'nope'" in missing_model.stderr
    missing_version = _model(home, "approve", MODEL, "7")
    assert missing_version.returncode == 2
    assert "version '7'" in missing_version.stderr
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text(f"model: {MODEL}\napprovalz: 1\n")
    refused = _model(home, "promote", MODEL, "1", "--policy", str(bad_policy))
    assert refused.returncode == 2
    assert "approvalz" in refused.stderr
