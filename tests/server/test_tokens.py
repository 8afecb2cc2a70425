"""API tokens: shown once, kept as a hash, refused with a reason, on both backends."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from iml4e.audit import list_audit, verify_audit
from iml4e.server.errors import (
    InvalidToken,
    InvalidUserInput,
    UnknownToken,
    UnknownUser,
    UserDisabled,
)
from iml4e.server.tokens import (
    TOKEN_PATTERN,
    authenticate_token,
    create_token,
    list_tokens,
    revoke_token,
)
from iml4e.server.users import add_user, disable_user, enable_user
from iml4e.store import Store
from iml4e.store.models import ApiToken, utcnow

PASSWORD = "correct horse battery staple"


@pytest.fixture
def people(store: Store) -> Store:
    add_user(store, "root", role="admin", password=PASSWORD, actor="setup")
    add_user(store, "dev", role="developer", password=PASSWORD, actor="root")
    return store


def _denials(store: Store) -> list[str]:
    return [e.detail["reason"] for e in list_audit(store, action="token.use", outcome="denied")]


def test_a_token_is_shown_once_and_only_its_hash_is_kept(people: Store) -> None:
    created = create_token(people, "dev", name="ci", actor="root", expires_in_days=30)
    match = TOKEN_PATTERN.fullmatch(created.token)
    assert match is not None
    prefix, secret = match.groups()
    assert prefix == created.info.prefix and len(prefix) == 8
    with people.session() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in row.token_hash and row.prefix == prefix
    [listed] = list_tokens(people)
    assert listed == created.info
    assert secret not in str(listed.as_dict())
    assert list_tokens(people, "root") == []
    [event] = list_audit(people, action="token.create")
    assert (event.actor, event.target) == ("root", f"token:{prefix}")
    assert secret not in str(event.as_dict())

    user = authenticate_token(people, created.token)
    assert (user.name, user.role) == ("dev", "developer")
    assert list_tokens(people, "dev")[0].last_used_at is not None
    assert verify_audit(people).ok


def test_tokens_get_unique_prefixes(people: Store) -> None:
    tokens = [create_token(people, "dev", name=f"t{i}", actor="root") for i in range(5)]
    assert len({t.info.prefix for t in tokens}) == 5
    assert {authenticate_token(people, t.token).name for t in tokens} == {"dev"}


@pytest.mark.parametrize(
    "token",
    ["", "hello", "iml4e_short_secret", "iml4e_ABCDEFGH_" + "x" * 42, "x" * 10_000],
)
def test_malformed_tokens_are_refused(people: Store, token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed") as refused:
        authenticate_token(people, token)
    assert refused.value.reason == "malformed" and refused.value.status == 401
    assert _denials(people) == ["malformed"]


def test_unknown_and_wrong_secrets_are_refused_alike(people: Store) -> None:
    created = create_token(people, "dev", name="ci", actor="root")
    prefix = created.info.prefix
    with pytest.raises(InvalidToken, match="unknown"):
        authenticate_token(people, f"iml4e_{prefix}_" + "A" * 43)
    with pytest.raises(InvalidToken, match="unknown"):
        authenticate_token(people, "iml4e_ZZZZZZZZ_" + "A" * 43)
    assert _denials(people) == ["unknown", "unknown"]
    assert list_audit(people, action="token.use")[0].actor == "anonymous"


def test_revoked_tokens_are_refused(people: Store) -> None:
    created = create_token(people, "dev", name="ci", actor="root")
    info = revoke_token(people, created.info.prefix, actor="root")
    assert info.revoked_at is not None and not info.active()
    assert revoke_token(people, created.info.prefix, actor="root") == info  # no second event
    with pytest.raises(InvalidToken, match="revoked"):
        authenticate_token(people, created.token)
    with pytest.raises(UnknownToken):
        revoke_token(people, "nothing1", actor="root")
    assert len(list_audit(people, action="token.revoke")) == 1
    assert _denials(people) == ["revoked"]
    assert list_audit(people, action="token.use")[0].actor == "dev"


def test_expired_tokens_are_refused(people: Store) -> None:
    start = utcnow()
    created = create_token(people, "dev", name="ci", actor="root", expires_in_days=1, now=start)
    assert created.info.expires_at == start + timedelta(days=1)
    assert authenticate_token(people, created.token, now=start + timedelta(hours=23)).name == "dev"
    with pytest.raises(InvalidToken, match="expired"):
        authenticate_token(people, created.token, now=start + timedelta(days=1))
    assert _denials(people) == ["expired"]


def test_a_disabled_users_tokens_are_refused_and_stay_revoked(people: Store) -> None:
    created = create_token(people, "dev", name="ci", actor="root")
    disable_user(people, "dev", actor="root")
    with pytest.raises(InvalidToken, match="revoked"):
        authenticate_token(people, created.token)
    with pytest.raises(UserDisabled):
        create_token(people, "dev", name="again", actor="root")
    enable_user(people, "dev", actor="root")
    with pytest.raises(InvalidToken, match="revoked"):
        authenticate_token(people, created.token)
    assert list_audit(people, action="user.disable")[0].detail["tokens_revoked"] == 1
    assert verify_audit(people).ok


def test_a_disabled_user_is_refused_even_with_an_unrevoked_token(people: Store) -> None:
    created = create_token(people, "dev", name="ci", actor="root")
    with people.session() as session:  # as if the user was disabled without revoking
        from iml4e.store.models import User

        session.scalars(select(User).where(User.name == "dev")).one().disabled = True
    with pytest.raises(InvalidToken, match="user disabled"):
        authenticate_token(people, created.token)


def test_bad_token_requests_write_nothing(people: Store) -> None:
    with pytest.raises(UnknownUser):
        create_token(people, "ghost", name="ci", actor="root")
    with pytest.raises(InvalidUserInput):
        create_token(people, "dev", name=" ", actor="root")
    with pytest.raises(InvalidUserInput):
        create_token(people, "dev", name="ci", actor="root", expires_in_days=0)
    with pytest.raises(UnknownUser):
        list_tokens(people, "ghost")
    assert list_tokens(people) == []
    assert list_audit(people, action="token.") == []
