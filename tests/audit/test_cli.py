"""``iml4e audit list|verify`` as a user runs them, on both backends."""

from __future__ import annotations

import json
import subprocess

from sqlalchemy import text

from iml4e.audit import record_audit
from iml4e.config import Settings
from iml4e.store import Store
from tests.conftest import run_iml4e_here


def _audit(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_iml4e_here(
        "--home",
        str(settings.home),
        "--database-url",
        settings.database_url,
        "audit",
        *args,
        env={"COLUMNS": "200"},  # wide enough that table cells are not folded
    )


def _fill(store: Store) -> list[int]:
    return [
        record_audit(store, actor="alice", action="registry.promote", target="model:m@2").id,
        record_audit(
            store,
            actor="bob",
            action="registry.promote",
            target="model:m@3",
            outcome="denied",
            detail={"failures": ["auc"]},
        ).id,
        record_audit(store, actor="alice", action="deployment.pause", target="deployment:d").id,
    ]


def test_list_filters_and_prints_json(store: Store, backend_settings: Settings) -> None:
    ids = _fill(store)
    listed = _audit(backend_settings, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [event["id"] for event in json.loads(listed.stdout)] == ids[::-1]
    denied = _audit(backend_settings, "list", "--outcome", "denied", "--json")
    assert [(e["actor"], e["detail"]) for e in json.loads(denied.stdout)] == [
        ("bob", {"failures": ["auc"]})
    ]
    mine = _audit(backend_settings, "list", "--actor", "alice", "--action", "registry.", "--json")
    assert [e["target"] for e in json.loads(mine.stdout)] == ["model:m@2"]
    targeted = _audit(
        backend_settings, "list", "--target", "deployment:d", "--limit", "1", "--json"
    )
    assert [e["action"] for e in json.loads(targeted.stdout)] == ["deployment.pause"]
    later = _audit(backend_settings, "list", "--since", "2999-01-01T00:00:00+00:00", "--json")
    assert json.loads(later.stdout) == []
    table = _audit(backend_settings, "list", "--since", "2000-01-01")
    assert table.returncode == 0, table.stderr
    assert "deployment.pause" in table.stdout and "denied" in table.stdout


def test_bad_options_exit_2(store: Store, backend_settings: Settings) -> None:
    bad_since = _audit(backend_settings, "list", "--since", "last tuesday")
    assert bad_since.returncode == 2
    assert "--since" in bad_since.stderr
    assert _audit(backend_settings, "list", "--outcome", "maybe").returncode == 2
    assert _audit(backend_settings, "list", "--limit", "0").returncode == 2


def test_verify_exits_0_when_intact_and_1_naming_the_broken_row(
    store: Store, backend_settings: Settings
) -> None:
    ids = _fill(store)
    intact = _audit(backend_settings, "verify")
    assert intact.returncode == 0, intact.stderr
    assert "3 rows checked" in intact.stdout
    head = json.loads(_audit(backend_settings, "verify", "--json").stdout)["head"]
    assert head in intact.stdout
    assert _audit(backend_settings, "verify", "--head", head).returncode == 0

    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE iml4e_audit_event SET actor = 'mallory' WHERE id = :id"), {"id": ids[1]}
        )
    broken = _audit(backend_settings, "verify")
    assert broken.returncode == 1
    assert f"audit row {ids[1]}" in broken.stderr
    assert "changed after it was written" in broken.stderr
    report = _audit(backend_settings, "verify", "--json")
    assert report.returncode == 1
    assert json.loads(report.stdout) | {"head": None} == {
        "ok": False,
        "checked": 1,
        "head": None,
        "first_broken": ids[1],
        "problem": f"row {ids[1]} was changed after it was written",
    }


def test_verify_with_a_kept_head_finds_deleted_newest_rows(
    store: Store, backend_settings: Settings
) -> None:
    ids = _fill(store)
    head = json.loads(_audit(backend_settings, "verify", "--json").stdout)["head"]
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM iml4e_audit_event WHERE id = :id"), {"id": ids[-1]})
    broken = _audit(backend_settings, "verify", "--head", head)
    assert broken.returncode == 1
    assert "audit trail head" in broken.stderr
    assert "rows at the end were deleted" in broken.stderr
