"""The audit trail on both backends: appending, filtering, verifying, and finding tampering."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from iml4e.audit import list_audit, record_audit, verify_audit
from iml4e.audit.trail import GENESIS
from iml4e.config import Settings
from iml4e.store import Store
from iml4e.store.models import utcnow


def _fill(store: Store) -> list[int]:
    events = [
        ("alice", "registry.promote", "model:credit-default@3", "ok", {"alias": "champion"}),
        ("bob", "registry.promote", "model:credit-default@4", "denied", {"failures": ["auc"]}),
        ("alice", "deployment.pause", "deployment:credit", "ok", {"reason": "drift"}),
        ("carol", "compliance.attest", "system:credit-scoring", "ok", {"control": "HO-1"}),
        ("bob", "registry.approve", "model:credit-default@4", "ok", {}),
    ]
    return [
        record_audit(store, actor=a, action=x, target=t, outcome=o, detail=d).id
        for a, x, t, o, d in events
    ]


def _sql(store: Store, statement: str, **values: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement), values)


def test_append_and_list_with_filters(store: Store) -> None:
    ids = _fill(store)
    everything = list_audit(store)
    assert [record.id for record in everything] == ids[::-1]  # newest first
    first = everything[-1]
    assert first.previous_hash == GENESIS
    assert all(newer.previous_hash == older.hash for newer, older in itertools.pairwise(everything))
    assert {r.id for r in list_audit(store, actor="alice")} == {ids[0], ids[2]}
    assert {r.id for r in list_audit(store, action="registry.")} == {ids[0], ids[1], ids[4]}
    assert {r.id for r in list_audit(store, action="registry.promote")} == {ids[0], ids[1]}
    assert {r.id for r in list_audit(store, target="model:credit-default@4")} == {ids[1], ids[4]}
    denied = list_audit(store, outcome="denied")
    assert [r.id for r in denied] == [ids[1]]
    assert denied[0].detail == {"failures": ["auc"]}
    assert [r.id for r in list_audit(store, limit=2)] == [ids[4], ids[3]]
    assert list_audit(store, since=utcnow() + timedelta(minutes=1)) == []
    assert len(list_audit(store, since=utcnow() - timedelta(minutes=1))) == 5
    assert list_audit(store, actor="bob", action="registry.approve")[0].id == ids[4]


def test_an_empty_and_an_intact_trail_verify(store: Store) -> None:
    empty = verify_audit(store)
    assert (empty.ok, empty.checked, empty.head) == (True, 0, GENESIS)
    ids = _fill(store)
    result = verify_audit(store)
    assert result.ok, result.problem
    assert result.checked == len(ids)
    assert result.head == list_audit(store, limit=1)[0].hash
    assert result.first_broken is None
    assert verify_audit(store, expected_head=result.head).ok


def test_a_resumed_walk_checks_only_new_rows_and_still_finds_their_tampering(
    store: Store,
) -> None:
    ids = _fill(store)
    full = verify_audit(store)
    assert (full.last_id, full.resumed_after) == (ids[-1], None)
    newer = record_audit(store, actor="dave", action="x.y", target="t:1").id
    resumed = verify_audit(store, resume=full)
    assert resumed.ok and resumed.resumed_after == ids[-1]
    assert (resumed.checked, resumed.last_id) == (len(ids) + 1, newer)
    assert resumed.head == verify_audit(store).head

    # a row edited after the checkpoint is found by the resumed walk
    _sql(store, "UPDATE iml4e_audit_event SET actor = 'mallory' WHERE id = :id", id=newer)
    broken = verify_audit(store, resume=full)
    assert broken.first_broken == newer and broken.resumed_after == ids[-1]
    # the checkpoint row itself edited: the walk starts again from the first row
    _sql(store, "UPDATE iml4e_audit_event SET actor = 'mallory' WHERE id = :id", id=ids[-1])
    again = verify_audit(store, resume=full)
    assert again.resumed_after is None and again.first_broken == ids[-1]


def test_an_unknown_outcome_is_a_programming_error(store: Store) -> None:
    with pytest.raises(ValueError, match="outcome"):
        record_audit(store, actor="a", action="x.y", target="t", outcome="maybe")


@pytest.mark.parametrize(
    ("column", "value"),
    [("detail", '{"alias": "challenger"}'), ("actor", "mallory")],
)
def test_an_edited_row_is_named(store: Store, column: str, value: str) -> None:
    ids = _fill(store)
    _sql(
        store,
        f"UPDATE iml4e_audit_event SET {column} = :value WHERE id = :id",
        value=value,
        id=ids[0],
    )
    result = verify_audit(store)
    assert not result.ok
    assert result.first_broken == ids[0]
    assert result.checked == 0
    assert result.problem == f"row {ids[0]} was changed after it was written"


def test_a_deleted_middle_row_breaks_the_link_of_the_next(store: Store) -> None:
    ids = _fill(store)
    _sql(store, "DELETE FROM iml4e_audit_event WHERE id = :id", id=ids[2])
    result = verify_audit(store)
    assert not result.ok
    assert result.first_broken == ids[3]
    assert result.checked == 2
    assert "does not link to the row before it" in (result.problem or "")


def test_a_deleted_newest_row_is_found_by_the_head(store: Store) -> None:
    ids = _fill(store)
    kept_head = verify_audit(store).head
    _sql(store, "DELETE FROM iml4e_audit_event WHERE id = :id", id=ids[-1])
    if store.dialect == "postgresql":
        # no head file beside a server database: the chain alone still looks whole
        assert verify_audit(store).ok
        result = verify_audit(store, expected_head=kept_head)
    else:
        result = verify_audit(store)  # the head file <db>.audit-head remembers the newest row
    assert not result.ok
    assert result.checked == len(ids) - 1
    assert result.first_broken is None
    assert "rows at the end were deleted" in (result.problem or "")
    assert kept_head[:12] in (result.problem or "")


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from iml4e.audit import record_audit
    from iml4e.config import load_settings
    from iml4e.store import open_store

    home, url, worker, go = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
    values = {"home": home, "database_url": url}
    settings = load_settings(values, environ={}, cwd=Path(home)).settings
    store = open_store(settings, migrate=False)
    while not go.exists():
        time.sleep(0.01)
    for i in range(100):
        record_audit(store, actor=worker, action="test.append", target=f"n:{i}",
                     detail={"i": i})
    store.close()
    """
)


def test_two_processes_appending_at_once_leave_one_chain(
    store: Store, backend_settings: Settings, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(backend_settings.home),
                backend_settings.database_url,
                f"worker-{n}",
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    try:
        time.sleep(0.5)
        go.touch()  # both start appending at the same moment
        outcomes = [child.communicate(timeout=180) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    for child, (_, errors) in zip(children, outcomes, strict=True):
        assert child.returncode == 0, errors
    result = verify_audit(store)
    assert result.ok, result.problem
    assert result.checked == 200
    for n in range(2):
        assert len(list_audit(store, actor=f"worker-{n}", limit=500)) == 100
