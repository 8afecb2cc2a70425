"""Users, passwords, lockout and login sessions on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from iml4e.audit import list_audit, verify_audit
from iml4e.errors import BadInput
from iml4e.server.errors import (
    CsrfRejected,
    InvalidCredentials,
    InvalidSession,
    InvalidUserInput,
    LastAdmin,
    UnknownUser,
    UserDisabled,
    UserExists,
    UserLocked,
)
from iml4e.server.sessions import check_csrf, end_session, session_user, start_session
from iml4e.server.users import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    add_user,
    authenticate,
    disable_user,
    enable_user,
    get_user,
    list_users,
    set_password,
    set_role,
)
from iml4e.store import Store
from iml4e.store.models import LoginSession, User, utcnow

PASSWORD = "correct horse battery staple"


def _row(store: Store, name: str) -> User:
    with store.session() as session:
        row = session.scalars(select(User).where(User.name == name)).one()
        session.expunge(row)
        return row


def test_add_user_stores_an_argon2_hash_never_the_password(store: Store) -> None:
    info = add_user(
        store,
        "alice@example.org",
        role="developer",
        password=PASSWORD,
        actor="root",
        display_name="Alice",
    )
    assert (info.name, info.role, info.display_name, info.disabled) == (
        "alice@example.org",
        "developer",
        "Alice",
        False,
    )
    row = _row(store, "alice@example.org")
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in repr(vars(row))
    assert get_user(store, "alice@example.org") == info
    assert list_users(store) == [info]
    [event] = list_audit(store, action="user.add")
    assert (event.actor, event.target, event.detail) == (
        "root",
        "user:alice@example.org",
        {"role": "developer"},
    )
    assert PASSWORD not in str(event.as_dict())


@pytest.mark.parametrize(
    ("name", "role", "password", "error"),
    [
        ("", "viewer", PASSWORD, InvalidUserInput),
        ("x" * 65, "viewer", PASSWORD, InvalidUserInput),
        ("bad name", "viewer", PASSWORD, InvalidUserInput),
        ("bob", "boss", PASSWORD, InvalidUserInput),
        ("bob", "viewer", "short", InvalidUserInput),
        ("taken", "viewer", PASSWORD, UserExists),
    ],
)
def test_bad_users_are_refused_before_anything_is_written(
    store: Store, name: str, role: str, password: str, error: type[BadInput]
) -> None:
    add_user(store, "taken", role="viewer", password=PASSWORD, actor="root")
    with pytest.raises(error):
        add_user(store, name, role=role, password=password, actor="root")
    assert [user.name for user in list_users(store)] == ["taken"]
    assert len(list_audit(store, action="user.add")) == 1


def test_unknown_user_and_wrong_password_look_the_same(store: Store) -> None:
    add_user(store, "bob", role="viewer", password=PASSWORD, actor="root")
    with pytest.raises(InvalidCredentials) as wrong:
        authenticate(store, "bob", "not the password at all")
    with pytest.raises(InvalidCredentials) as unknown:
        authenticate(store, "nobody", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "invalid user name or password"
    assert wrong.value.status == unknown.value.status == 401
    denied = list_audit(store, action="user.login", outcome="denied")
    assert {(e.actor, e.detail["reason"]) for e in denied} == {
        ("bob", "wrong password"),
        ("nobody", "unknown user"),
    }
    assert authenticate(store, "bob", PASSWORD).name == "bob"
    assert list_audit(store, action="user.login", outcome="ok")[0].actor == "bob"
    assert verify_audit(store).ok


def test_five_failures_lock_the_user_for_five_minutes(store: Store) -> None:
    add_user(store, "carol", role="approver", password=PASSWORD, actor="root")
    start = utcnow()
    for attempt in range(MAX_FAILED_LOGINS):
        with pytest.raises(InvalidCredentials):
            authenticate(store, "carol", f"wrong password {attempt}", now=start)
    assert _row(store, "carol").locked_until == start + LOCKOUT
    # locked: even the right password is refused, with a clear message
    with pytest.raises(UserLocked, match="locked until") as locked:
        authenticate(store, "carol", PASSWORD, now=start + LOCKOUT - timedelta(seconds=1))
    assert locked.value.until == start + LOCKOUT
    [lock_event] = list_audit(store, action="user.locked")
    assert lock_event.outcome == "denied"
    assert len(list_audit(store, action="user.login", outcome="denied")) == MAX_FAILED_LOGINS + 1
    # after the window the right password works and clears the count
    assert authenticate(store, "carol", PASSWORD, now=start + LOCKOUT).name == "carol"
    row = _row(store, "carol")
    assert (row.failed_logins, row.locked_until) == (0, None)
    assert verify_audit(store).ok


def test_a_success_resets_the_failure_count(store: Store) -> None:
    add_user(store, "dan", role="viewer", password=PASSWORD, actor="root")
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(InvalidCredentials):
            authenticate(store, "dan", "wrong wrong wrong")
    authenticate(store, "dan", PASSWORD)
    with pytest.raises(InvalidCredentials):
        authenticate(store, "dan", "wrong wrong wrong")
    assert _row(store, "dan").locked_until is None


def test_disable_refuses_logins_and_enable_allows_them_again(store: Store) -> None:
    add_user(store, "root", role="admin", password=PASSWORD, actor="setup")
    add_user(store, "erin", role="developer", password=PASSWORD, actor="root")
    cookie, _, _ = start_session(store, authenticate(store, "erin", PASSWORD))
    assert disable_user(store, "erin", actor="root").disabled
    with pytest.raises(UserDisabled, match="disabled"):
        authenticate(store, "erin", PASSWORD)
    with pytest.raises(InvalidSession, match="session ended"):
        session_user(store, cookie)
    [event] = list_audit(store, action="user.disable")
    assert event.detail == {"tokens_revoked": 0, "sessions_ended": 1}
    assert list_audit(store, action="user.login", outcome="denied")[0].detail["reason"] == (
        "disabled"
    )
    assert not enable_user(store, "erin", actor="root").disabled
    assert authenticate(store, "erin", PASSWORD).name == "erin"
    assert list_audit(store, action="user.enable")[0].actor == "root"
    assert verify_audit(store).ok


def test_role_and_password_changes_are_recorded(store: Store) -> None:
    add_user(store, "root", role="admin", password=PASSWORD, actor="setup")
    add_user(store, "finn", role="viewer", password=PASSWORD, actor="root")
    assert set_role(store, "finn", "approver", actor="root").role == "approver"
    [event] = list_audit(store, action="user.role")
    assert event.detail == {"from": "viewer", "to": "approver"}
    with pytest.raises(InvalidUserInput):
        set_role(store, "finn", "boss", actor="root")
    with pytest.raises(UnknownUser):
        set_role(store, "ghost", "viewer", actor="root")

    new_password = "another long password"
    cookie, _, _ = start_session(store, authenticate(store, "finn", PASSWORD))
    with pytest.raises(InvalidUserInput):
        set_password(store, "finn", "short", actor="root")
    set_password(store, "finn", new_password, actor="finn")
    with pytest.raises(InvalidCredentials):
        authenticate(store, "finn", PASSWORD)
    assert authenticate(store, "finn", new_password).role == "approver"
    with pytest.raises(InvalidSession):
        session_user(store, cookie)
    [changed] = list_audit(store, action="user.password")
    assert changed.detail == {"sessions_ended": 1}
    assert new_password not in str(changed.as_dict())
    assert new_password not in _row(store, "finn").password_hash
    assert verify_audit(store).ok


def test_the_last_enabled_admin_cannot_be_removed(store: Store) -> None:
    add_user(store, "root", role="admin", password=PASSWORD, actor="setup")
    with pytest.raises(LastAdmin):
        disable_user(store, "root", actor="root")
    with pytest.raises(LastAdmin):
        set_role(store, "root", "viewer", actor="root")
    add_user(store, "second", role="admin", password=PASSWORD, actor="root")
    assert set_role(store, "root", "viewer", actor="second").role == "viewer"


def test_sessions_keep_only_a_hash_and_expire(store: Store) -> None:
    add_user(store, "gina", role="compliance_officer", password=PASSWORD, actor="root")
    user = authenticate(store, "gina", PASSWORD)
    start = utcnow()
    cookie, csrf, info = start_session(store, user, lifetime_s=60, now=start)
    assert info.expires_at == start + timedelta(seconds=60)
    with store.session() as session:
        row = session.scalars(select(LoginSession)).one()
        assert cookie not in (row.session_hash, row.csrf_token)
    found, found_csrf = session_user(store, cookie, now=start + timedelta(seconds=59))
    assert (found.name, found_csrf) == ("gina", csrf)
    with pytest.raises(InvalidSession, match="expired") as expired:
        session_user(store, cookie, now=start + timedelta(seconds=60))
    assert expired.value.status == 401
    with pytest.raises(InvalidSession, match="unknown"):
        session_user(store, "not-a-session")
    reasons = [e.detail["reason"] for e in list_audit(store, action="session.use")]
    assert sorted(reasons) == ["session expired", "unknown"]
    assert list_audit(store, action="session.start")[0].actor == "gina"


def test_end_session_logs_out_once(store: Store) -> None:
    add_user(store, "hal", role="viewer", password=PASSWORD, actor="root")
    cookie, _, _ = start_session(store, authenticate(store, "hal", PASSWORD))
    assert end_session(store, cookie, actor="hal") is True
    assert end_session(store, cookie, actor="hal") is False
    with pytest.raises(InvalidSession, match="ended"):
        session_user(store, cookie)
    assert len(list_audit(store, action="session.end")) == 1
    assert verify_audit(store).ok


def test_csrf_tokens_are_compared_exactly() -> None:
    check_csrf("abc123", "abc123")
    for given in (None, "", "abc124", "abc1234", "ä"):
        with pytest.raises(CsrfRejected):
            check_csrf("abc123", given)
    assert CsrfRejected().status == 403
