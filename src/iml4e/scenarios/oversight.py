"""The main job's human-oversight drill (AI Act Art. 14(4)(d), (e)).

Through the model server's own operator routes, a person pauses the deployment (a "stop
button"), checks that the server reports it paused, resumes it, and overrides one answer the
server gave. Each action is recorded as a deployment event, which is the evidence the
compliance controls ART14-OVERRIDE-PRESENT and ART14-OVERRIDE-EXERCISED read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from iml4e.config import Settings
from iml4e.errors import CheckFailed
from iml4e.scenarios.traffic import SentRequest
from iml4e.store import Store

DRILL_REASON = "human oversight drill"


def oversight_drill(
    url: str, sent: list[SentRequest], *, actor: str, token: str | None = None
) -> str:
    """Pause, check, resume and override once through ``url``'s ``/operator`` routes.

    ``token``: the actor's API token, for a model server whose operator routes ask who is
    calling (:func:`drill_token` makes a short-lived one).
    """
    answered = [request for request in sent if request.status == 200]
    if not answered:
        raise CheckFailed("no answered request to override", where=url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=10.0, headers=headers) as client:
        _post(client, "/operator/pause", {"actor": actor, "reason": DRILL_REASON})
        paused = client.get("/operator/state").json().get("paused")
        _post(client, "/operator/resume", {"actor": actor, "reason": f"{DRILL_REASON} done"})
        resumed = not client.get("/operator/state").json().get("paused")
        target = answered[-1]
        corrected = _corrected(target.prediction)
        _post(
            client,
            "/operator/overrides",
            {
                "request_id": target.request_id,
                "value": corrected,
                "actor": actor,
                "reason": f"{DRILL_REASON}: the officer decides otherwise",
            },
        )
    if not (paused and resumed):
        raise CheckFailed("the server did not pause and resume when asked", where=url)
    return (
        f"paused and resumed by {actor}; answer {target.prediction!r} to "
        f"{target.request_id} overridden with {corrected!r}"
    )


def _post(client: httpx.Client, path: str, body: dict[str, object]) -> None:
    response = client.post(path, json=body)
    if response.status_code >= 400:
        raise CheckFailed(f"{response.status_code}: {response.text[:200]}", where=path)


def _corrected(prediction: object) -> object:
    """The other class of a binary answer (what an officer would decide instead)."""
    if isinstance(prediction, list) and len(prediction) == 1:
        prediction = prediction[0]
    if isinstance(prediction, bool | int) and prediction in (0, 1):
        return 1 - int(prediction)
    return prediction


@contextmanager
def drill_token(settings: Settings, store: Store, host: str) -> Iterator[str | None]:
    """A one-day API token of ``settings.user`` while the drill runs, revoked after it.

    ``None`` when a model server bound to ``host`` keeps its operator routes open (auth off).
    With auth on, the user running the drill must be a platform user whose role may pause
    and override (approver, compliance officer or admin), or the drill fails saying so.
    """
    from iml4e.server.access import auth_required
    from iml4e.server.errors import UnknownUser
    from iml4e.server.permissions import allowed
    from iml4e.server.tokens import create_token, revoke_token
    from iml4e.server.users import get_user

    if not auth_required(settings, host):
        yield None
        return
    try:
        user = get_user(store, settings.user)
    except UnknownUser:
        user = None
    if user is None or user.disabled or not allowed(user.role, "deployment.override"):
        raise CheckFailed(
            f"server auth is on, so the oversight drill acts as platform user "
            f"{settings.user!r}, who must exist with a role that may pause and override "
            f"(`iml4e user add {settings.user} --role approver`)",
            where="server_auth",
        )
    created = create_token(
        store, user.name, name="oversight drill", actor=user.name, expires_in_days=1
    )
    try:
        yield created.token
    finally:
        revoke_token(store, created.info.prefix, actor=user.name)
