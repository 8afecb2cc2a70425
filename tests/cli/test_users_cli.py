"""``iml4e user …`` and ``iml4e token …`` through the command's entry point, on both backends."""

from __future__ import annotations

import json
import subprocess

from iml4e.audit import list_audit, verify_audit
from iml4e.config import Settings
from iml4e.server.tokens import authenticate_token
from iml4e.server.users import authenticate, list_users
from iml4e.store import Store
from tests.conftest import run_iml4e_here

PASSWORD = "correct horse battery staple"


def _iml4e(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_iml4e_here(
        "--home",
        str(settings.home),
        "--database-url",
        settings.database_url,
        *args,
        env={"IML4E_USER": "operator"},
        stdin=stdin,
    )


def test_users_and_tokens_from_the_command_line(backend_settings: Settings, store: Store) -> None:
    added = _iml4e(
        backend_settings,
        "user",
        "add",
        "alice",
        "--role",
        "admin",
        "--display-name",
        "Alice A",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert authenticate(store, "alice", PASSWORD).role == "admin"
    assert list_audit(store, action="user.add")[0].actor == "operator"

    listed = _iml4e(backend_settings, "user", "list", "--json")
    assert [(u["name"], u["role"]) for u in json.loads(listed.stdout)] == [("alice", "admin")]

    created = _iml4e(backend_settings, "token", "create", "alice", "--name", "ci")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert "not shown again" in created.stderr
    assert authenticate_token(store, token).name == "alice"
    tokens = json.loads(_iml4e(backend_settings, "token", "list", "--json").stdout)
    assert [t["name"] for t in tokens] == ["ci"] and token not in json.dumps(tokens)

    revoked = _iml4e(backend_settings, "token", "revoke", tokens[0]["prefix"])
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(_iml4e(backend_settings, "token", "list", "--json").stdout)[0]["revoked_at"]

    _iml4e(
        backend_settings,
        "user",
        "add",
        "bob",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert _iml4e(backend_settings, "user", "role", "bob", "approver").returncode == 0
    assert _iml4e(backend_settings, "user", "disable", "bob").returncode == 0
    assert [(u.name, u.role, u.disabled) for u in list_users(store)] == [
        ("alice", "admin", False),
        ("bob", "approver", True),
    ]
    assert _iml4e(backend_settings, "user", "enable", "bob").returncode == 0
    assert verify_audit(store).ok


def test_bad_input_exits_2_and_writes_nothing(backend_settings: Settings, store: Store) -> None:
    first = _iml4e(
        backend_settings,
        "user",
        "add",
        "carol",
        "--role",
        "viewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert first.returncode == 0, first.stderr
    events = len(list_audit(store))
    cases = {
        ("user", "add", "dave", "--role", "boss", "--password-stdin"): "unknown role",
        ("user", "add", "dave", "--role", "viewer", "--password-stdin"): "12 to 1024",
        ("user", "add", "carol", "--role", "viewer", "--password-stdin"): "exists already",
        ("user", "add", "bad name", "--role", "viewer", "--password-stdin"): "user name",
        ("user", "role", "carol", "boss"): "unknown role",
        ("user", "disable", "ghost"): "no user",
        ("token", "create", "ghost", "--name", "ci"): "no user",
        ("token", "revoke", "nothing1"): "no API token",
    }
    for args, message in cases.items():
        stdin = "short\n" if "dave" in args and "viewer" in args else PASSWORD + "\n"
        result = _iml4e(backend_settings, *args, stdin=stdin)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert [u.name for u in list_users(store)] == ["carol"]
    assert len(list_audit(store)) == events
