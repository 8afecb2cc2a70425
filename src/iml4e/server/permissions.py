"""The one permission table: which roles may do which action.

Every edge (HTTP API, web UI) asks :func:`require` before acting, so who may do what is decided
here and nowhere else; ``docs/rooms/server.md`` shows :func:`permission_table_markdown` and a
test keeps the two equal. An action missing from the table is a bug, so :func:`allowed` raises
:class:`UnknownAction` instead of quietly answering no. A token or session carries its user's
role, so what a token may do is exactly what its user may do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iml4e.audit import record_audit
from iml4e.server.errors import PermissionDenied, UnknownAction

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from iml4e.server.users import UserInfo
    from iml4e.store import Store

ROLES: tuple[str, ...] = ("viewer", "developer", "approver", "compliance_officer", "admin")
"""Every role, from the least to the most trusted."""


def _roles(*roles: str) -> frozenset[str]:
    if unknown := set(roles) - set(ROLES):  # the table below is checked at import
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return frozenset((*roles, "admin"))  # admin may do everything


_OPERATORS = ("developer", "approver", "compliance_officer")

PERMISSIONS: dict[str, frozenset[str]] = {
    "read": _roles(*ROLES),
    "data.write": _roles("developer"),
    "pipeline.run": _roles("developer"),
    "model.register": _roles("developer"),
    # approvers decide what ships; whoever registered a version may not approve it
    # (check_not_sole_approver)
    "model.approve": _roles("approver"),
    "model.promote": _roles("approver"),
    "model.rollback": _roles("approver"),
    "deployment.create": _roles("developer"),
    "deployment.stop": _roles("developer"),
    # pausing is the human-oversight stop button (Art. 14): anyone who operates the platform
    "deployment.pause": _roles(*_OPERATORS),
    # correcting a served prediction is an oversight decision, not a developer's
    "deployment.override": _roles("approver", "compliance_officer"),
    "monitor.acknowledge": _roles("developer", "compliance_officer"),
    # pausing the background monitoring rounds of `iml4e up`
    "scheduler.pause": _roles(*_OPERATORS),
    "compliance.register": _roles("compliance_officer"),
    "compliance.assess": _roles("compliance_officer"),
    "compliance.attest": _roles("compliance_officer"),
    # reporting an incident must not wait for one role (Art. 73): anyone who operates
    "compliance.incident": _roles(*_OPERATORS),
    "compliance.override_freeze": _roles("compliance_officer"),
    "audit.read": _roles("compliance_officer"),
    "audit.verify": _roles("compliance_officer"),
    "user.manage": _roles(),
    # a token acts with its user's role, so every role may keep tokens of its own
    "token.manage_own": _roles(*ROLES),
}
"""Action name → the roles allowed to do it."""


def roles_allowed(action: str) -> frozenset[str]:
    """The roles that may do ``action``; :class:`UnknownAction` if not in the table."""
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise UnknownAction(f"no permission rule for action {action!r}") from None


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action`` (an unknown role may do nothing)."""
    return role in roles_allowed(action)


def require(user: UserInfo, action: str, *, store: Store, target: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may do ``action`` on ``target``.

    A refusal is recorded in the audit trail as a ``denied`` event of ``action``.
    """
    if not user.disabled and allowed(user.role, action):
        return
    reason = "user is disabled" if user.disabled else f"role {user.role} may not {action}"
    record_audit(
        store,
        actor=user.name,
        action=action,
        target=target,
        outcome="denied",
        detail={"role": user.role, "reason": reason},
    )
    raise PermissionDenied(
        f"{user.name} may not {action}: {reason} (allowed: {', '.join(_ordered(action))})",
        actor=user.name,
        action=action,
        target=target,
    )


def check_not_sole_approver(registrant: str | None, approvers: list[str], actor: str) -> None:
    """Segregation of duties: raise :class:`PermissionDenied` when ``actor`` registered the
    version (``registrant``) or is already among its ``approvers`` (one person, one approval).

    It does not touch the store: the caller records the refusal in the audit trail.
    """
    if registrant is not None and actor == registrant:
        raise PermissionDenied(
            f"{actor} registered this version and may not approve it: "
            "someone else must approve (segregation of duties)",
            actor=actor,
            action="model.approve",
            target=f"registrant:{registrant}",
        )
    if actor in approvers:
        raise PermissionDenied(
            f"{actor} approved this version already: another approval must come from someone else",
            actor=actor,
            action="model.approve",
            target=f"registrant:{registrant or '-'}",
        )


def approve_version(
    client: MlflowClient, store: Store, name: str, version: str, *, actor: str, note: str = ""
) -> list[str]:
    """Record ``actor``'s approval of ``name`` ``version`` unless segregation of duties
    forbids it (:func:`check_not_sole_approver`); returns the distinct approvers so far.

    A refusal is a ``denied`` audit event of ``model.approve`` and :class:`PermissionDenied`.
    The REST API and the web UI both approve through this function.
    """
    from iml4e.registry import approve, approvers, registry_events

    registered = next(
        (e.actor for e in registry_events(store, name, kinds=("registered",), version=version)),
        None,
    )
    try:
        check_not_sole_approver(registered, approvers(store, name, version), actor)
    except PermissionDenied as refused:
        record_audit(
            store,
            actor=actor,
            action="model.approve",
            target=f"model:{name}@{version}",
            outcome="denied",
            detail={"reason": refused.message},
        )
        raise
    return approve(client, store, name, version, actor=actor, note=note)


def _ordered(action: str) -> list[str]:
    return [role for role in ROLES if role in roles_allowed(action)]


def permission_table_markdown() -> str:
    """The permission table as Markdown (one row an action, one column a role), for the docs."""
    lines = [
        "| action | " + " | ".join(ROLES) + " |",
        "|---|" + "|".join(":-:" for _ in ROLES) + "|",
    ]
    for action, roles in PERMISSIONS.items():
        marks = " | ".join("✓" if role in roles else "" for role in ROLES)
        lines.append(f"| `{action}` | {marks} |")
    return "\n".join(lines) + "\n"
