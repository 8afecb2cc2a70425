"""The main job's human-oversight drill (AI Act Art. 14(4)(d), (e)).

Through the model server's own operator routes, a person pauses the deployment (a "stop
button"), checks that the server reports it paused, resumes it, and overrides one answer the
server gave. Each action is recorded as a deployment event, which is the evidence the
compliance controls ART14-OVERRIDE-PRESENT and ART14-OVERRIDE-EXERCISED read.
"""

from __future__ import annotations

import httpx

from iml4e.errors import CheckFailed
from iml4e.scenarios.traffic import SentRequest

DRILL_REASON = "human oversight drill"


def oversight_drill(url: str, sent: list[SentRequest], *, actor: str) -> str:
    """Pause, check, resume and override once through ``url``'s ``/operator`` routes."""
    answered = [request for request in sent if request.status == 200]
    if not answered:
        raise CheckFailed("no answered request to override", where=url)
    with httpx.Client(base_url=url, timeout=10.0) as client:
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
