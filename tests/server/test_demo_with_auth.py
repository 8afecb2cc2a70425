"""The demo with server auth on: its Art. 14 drill goes through the model server's guarded
operator routes with a short-lived token of the user running it, revoked afterwards."""

from __future__ import annotations

from iml4e.server.tokens import list_tokens
from iml4e.serving.deployments import deployment_events
from iml4e.store import open_store
from tests.server.conftest import DemoPlatform


def test_the_drill_acts_with_a_token_revoked_after_it(demo_platform: DemoPlatform) -> None:
    settings, summary = demo_platform.settings, demo_platform.summary
    assert summary.release.oversight.startswith(f"paused and resumed by {settings.user}")
    with open_store(settings) as store:
        tokens = list_tokens(store, settings.user)
        events = deployment_events(store, summary.release.deployment)
    assert [token.name for token in tokens] == ["oversight drill"]
    assert tokens[0].last_used_at is not None
    assert not tokens[0].active()
    overrides = [e for e in events if e["kind"] == "override" and e["actor"] == settings.user]
    assert len(overrides) == 1
