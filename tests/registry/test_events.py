"""Registry events on both real backends."""

from __future__ import annotations

import pytest

from iml4e.registry import registry_events
from iml4e.registry.events import record_event
from iml4e.store import Store


def test_events_come_back_in_order_and_filter(store: Store) -> None:
    record_event(store, model_name="m", model_version="1", kind="registered", actor="ci")
    record_event(store, model_name="m", model_version="1", kind="approved", actor="alice")
    record_event(
        store,
        model_name="m",
        model_version="1",
        kind="promoted",
        alias="champion",
        actor="bob",
        detail={"checks": []},
    )
    record_event(store, model_name="other", model_version="1", kind="registered", actor="ci")
    events = registry_events(store, "m")
    assert [event.kind for event in events] == ["registered", "approved", "promoted"]
    assert [event.kind for event in registry_events(store, "m", alias="champion")] == ["promoted"]
    assert registry_events(store, "m", kinds=("approved",))[0].actor == "alice"
    assert events[2].as_dict()["detail"] == {"checks": []}


def test_unknown_event_kind_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown registry event kind"):
        record_event(store, model_name="m", kind="renamed", actor="ci")
