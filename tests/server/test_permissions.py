"""The permission table: complete, documented, and enforced with an audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest

from iml4e.audit import list_audit, verify_audit
from iml4e.errors import CheckFailed
from iml4e.server.errors import PermissionDenied, UnknownAction
from iml4e.server.permissions import (
    PERMISSIONS,
    ROLES,
    allowed,
    check_not_sole_approver,
    permission_table_markdown,
    require,
    roles_allowed,
)
from iml4e.server.users import add_user, disable_user
from iml4e.store import Store

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"

REQUIRED_ACTIONS = {
    "read",
    "data.write",
    "pipeline.run",
    "model.register",
    "model.approve",
    "model.promote",
    "model.rollback",
    "deployment.create",
    "deployment.stop",
    "deployment.pause",
    "deployment.override",
    "monitor.acknowledge",
    "compliance.register",
    "compliance.assess",
    "compliance.attest",
    "compliance.incident",
    "compliance.override_freeze",
    "audit.read",
    "audit.verify",
    "user.manage",
    "token.manage_own",
}


def _documented_table() -> str:
    text = (ROOT / "docs" / "rooms" / "server.md").read_text(encoding="utf-8")
    section = text.split("## Users, roles and credentials", 1)[1].split("\n## ", 1)[0]
    return "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))


def test_the_documented_table_is_the_table_in_code() -> None:
    assert _documented_table() == permission_table_markdown(), (
        "docs/rooms/server.md is stale: paste permission_table_markdown() into its "
        "'Users, roles and credentials' section"
    )


def test_every_required_action_has_a_rule() -> None:
    assert set(PERMISSIONS) >= REQUIRED_ACTIONS


@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_admin_may_do_every_action_and_rules_name_known_roles(action: str) -> None:
    assert "admin" in PERMISSIONS[action]
    assert PERMISSIONS[action] <= set(ROLES)


def test_roles_are_ordered_from_least_to_most_trusted() -> None:
    assert ROLES == ("viewer", "developer", "approver", "compliance_officer", "admin")


def test_an_unknown_action_is_a_bug_not_a_no() -> None:
    with pytest.raises(UnknownAction, match=r"model\.approv"):
        allowed("admin", "model.approv")
    with pytest.raises(UnknownAction):
        roles_allowed("nope")


def test_roles_get_their_duties_and_nothing_else() -> None:
    assert all(allowed(role, "read") for role in ROLES)
    assert allowed("viewer", "token.manage_own")
    assert not allowed("viewer", "data.write")
    assert allowed("developer", "model.register")
    assert not allowed("developer", "model.approve")
    assert not allowed("developer", "user.manage")
    assert allowed("approver", "model.promote")
    assert not allowed("approver", "compliance.attest")
    assert allowed("compliance_officer", "audit.verify")
    assert not allowed("compliance_officer", "model.approve")
    assert not allowed("stranger", "read")  # an unknown role may do nothing


def test_require_denies_and_records_the_refusal(store: Store) -> None:
    viewer = add_user(store, "vera", role="viewer", password=PASSWORD, actor="root")
    require(viewer, "read", store=store, target="model:m")
    assert list_audit(store, action="read") == []  # allowing is not an event
    with pytest.raises(PermissionDenied) as denied:
        require(viewer, "model.approve", store=store, target="model:m@1")
    assert denied.value.status == 403
    assert isinstance(denied.value, CheckFailed)
    assert "approver" in str(denied.value)
    [event] = list_audit(store, action="model.approve")
    assert (event.actor, event.target, event.outcome) == ("vera", "model:m@1", "denied")
    assert event.detail["role"] == "viewer"
    assert verify_audit(store).ok


def test_require_refuses_a_disabled_user_whatever_the_role(store: Store) -> None:
    add_user(store, "root", role="admin", password=PASSWORD, actor="setup")
    admin = add_user(store, "ada", role="admin", password=PASSWORD, actor="root")
    disabled = disable_user(store, "ada", actor="root")
    assert admin.disabled is False and disabled.disabled is True
    with pytest.raises(PermissionDenied, match="disabled"):
        require(disabled, "read", store=store, target="model:m")
    assert list_audit(store, action="read", outcome="denied")


def test_whoever_registered_a_version_may_not_approve_it() -> None:
    check_not_sole_approver("dev", [], "approver1")
    check_not_sole_approver(None, ["approver1"], "approver2")
    with pytest.raises(PermissionDenied, match="segregation of duties"):
        check_not_sole_approver("dev", [], "dev")
    with pytest.raises(PermissionDenied, match="already"):
        check_not_sole_approver("dev", ["approver1"], "approver1")
