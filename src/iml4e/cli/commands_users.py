"""``iml4e user …`` and ``iml4e token …``: people, roles and API tokens of the platform server.

Thin over :mod:`iml4e.server.users` and :mod:`iml4e.server.tokens`; the acting user recorded in
the audit trail is the settings' ``user``. Every argument is checked before a password is asked
for or anything is written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from iml4e.cli.context import cli_state
from iml4e.cli.output import console, errors, print_json, print_table

if TYPE_CHECKING:
    from iml4e.config import Settings
    from iml4e.store import Store

user_app = typer.Typer(
    name="user",
    help="People of the platform server: add, list, disable, enable, change role or password.",
    no_args_is_help=True,
)
token_app = typer.Typer(
    name="token",
    help="API tokens for scripts and the CLI: create (shown once), list, revoke.",
    no_args_is_help=True,
)


def _checked_name(name: str) -> str:
    from iml4e.server.users import check_user_name

    return check_user_name(name)  # InvalidUserInput: exit 2 before anything is opened


def _checked_role(role: str) -> str:
    from iml4e.server.users import check_role

    return check_role(role)


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UserArgument = Annotated[str, typer.Argument(help="User name.", callback=_checked_name)]
RoleHelp = "viewer, developer, approver, compliance_officer or admin"
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (for scripts)."
    ),
]


@contextmanager
def _store(ctx: typer.Context) -> Iterator[tuple[Settings, Store]]:
    from iml4e.store import open_store

    settings = cli_state(ctx).resolve().settings
    with open_store(settings) as store:
        yield settings, store


def _read_password(from_stdin: bool) -> str:
    from iml4e.server.users import check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return check_password(password)


@user_app.command("add")
def add_command(
    ctx: typer.Context,
    name: UserArgument,
    role: Annotated[
        str, typer.Option("--role", help=f"One of {RoleHelp}.", callback=_checked_role)
    ],
    display_name: Annotated[str, typer.Option("--display-name", help="Full name.")] = "",
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Add a user (the password is asked twice, hidden, unless --password-stdin)."""
    from iml4e.server.users import add_user

    password = _read_password(password_stdin)
    with _store(ctx) as (settings, store):
        info = add_user(
            store,
            name,
            role=role,
            password=password,
            actor=settings.user,
            display_name=display_name,
        )
    console.print(f"added user {info.name} ({info.role})")


@user_app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List users with their role and whether they are disabled."""
    from iml4e.server.users import list_users

    with _store(ctx) as (_, store):
        users = list_users(store)
    if json_output:
        print_json([user.as_dict() for user in users])
        return
    print_table(
        "users",
        ("name", "display name", "role", "disabled", "created"),
        [
            [
                u.name,
                u.display_name,
                u.role,
                "yes" if u.disabled else "",
                u.created_at.isoformat(timespec="seconds"),
            ]
            for u in users
        ],
    )


@user_app.command("disable")
def disable_command(ctx: typer.Context, name: UserArgument) -> None:
    """Disable a user: no more logins; its API tokens and sessions are revoked."""
    from iml4e.server.users import disable_user

    with _store(ctx) as (settings, store):
        disable_user(store, name, actor=settings.user)
    console.print(f"disabled user {name}; its tokens and sessions are revoked")


@user_app.command("enable")
def enable_command(ctx: typer.Context, name: UserArgument) -> None:
    """Enable a disabled user again (revoked tokens stay revoked)."""
    from iml4e.server.users import enable_user

    with _store(ctx) as (settings, store):
        enable_user(store, name, actor=settings.user)
    console.print(f"enabled user {name}")


@user_app.command("role")
def role_command(
    ctx: typer.Context,
    name: UserArgument,
    role: Annotated[str, typer.Argument(help=f"One of {RoleHelp}.", callback=_checked_role)],
) -> None:
    """Give a user another role."""
    from iml4e.server.users import set_role

    with _store(ctx) as (settings, store):
        info = set_role(store, name, role, actor=settings.user)
    console.print(f"user {info.name} is now {info.role}")


@user_app.command("password")
def password_command(
    ctx: typer.Context, name: UserArgument, password_stdin: PasswordStdinOption = False
) -> None:
    """Set a user's password (ends its login sessions, clears a lockout)."""
    from iml4e.server.users import get_user, set_password

    with _store(ctx) as (_, store):
        get_user(store, name)  # UnknownUser before the prompt
    password = _read_password(password_stdin)
    with _store(ctx) as (settings, store):
        set_password(store, name, password, actor=settings.user)
    console.print(f"password of {name} changed; its login sessions are ended")


@token_app.command("create")
def token_create_command(
    ctx: typer.Context,
    user: UserArgument,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="Days until it expires (default: never).")
    ] = None,
) -> None:
    """Create an API token for USER and print it once."""
    from iml4e.server.tokens import create_token

    with _store(ctx) as (settings, store):
        created = create_token(
            store, user, name=name, actor=settings.user, expires_in_days=expires_days
        )
    sys.stdout.write(created.token + "\n")
    errors.print(
        f"token {created.info.prefix} for {user}: copy it now, it is not shown again",
        soft_wrap=True,
    )


@token_app.command("list")
def token_list_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List API tokens (prefix, user, name, dates); never their secrets."""
    from iml4e.server.tokens import list_tokens

    with _store(ctx) as (_, store):
        tokens = list_tokens(store, user)
    if json_output:
        print_json([token.as_dict() for token in tokens])
        return
    print_table(
        "API tokens",
        ("prefix", "user", "name", "created", "expires", "last used", "revoked"),
        [
            [
                t.prefix,
                t.user_name,
                t.name,
                _when(t.created_at),
                _when(t.expires_at),
                _when(t.last_used_at),
                _when(t.revoked_at),
            ]
            for t in tokens
        ],
    )


@token_app.command("revoke")
def token_revoke_command(
    ctx: typer.Context, prefix: Annotated[str, typer.Argument(help="The token's prefix.")]
) -> None:
    """Revoke an API token at once."""
    from iml4e.server.tokens import revoke_token

    with _store(ctx) as (settings, store):
        info = revoke_token(store, prefix, actor=settings.user)
    console.print(f"revoked token {info.prefix} ({info.name}) of {info.user_name}")


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat(timespec="seconds")


def register(app: typer.Typer) -> None:
    """Add ``iml4e user`` and ``iml4e token`` to the root command."""
    app.add_typer(user_app)
    app.add_typer(token_app)
