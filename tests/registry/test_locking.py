"""Promotions and rollbacks of one model take turns, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
from contextlib import suppress
from typing import Any

import pytest

from iml4e.registry import (
    NothingToRollBack,
    PromotionPolicy,
    RegistryBusy,
    alias_history,
    alias_versions,
    model_lock,
    promote,
    rollback,
)
from iml4e.store import Store
from iml4e.tracking import connect_tracking
from tests.registry.conftest import MODEL, Registry


def _hold_lock(url: str, name: str, held: Any, release: Any) -> None:
    from sqlalchemy import create_engine

    store = Store(create_engine(url))
    with model_lock(store, name):
        held.set()
        release.wait(30)
    store.close()


def test_the_lock_keeps_out_other_processes_for_that_model_only(store: Store) -> None:
    spawn = multiprocessing.get_context("spawn")
    held, release = spawn.Event(), spawn.Event()
    url = store.engine.url.render_as_string(hide_password=False)
    holder = spawn.Process(target=_hold_lock, args=(url, MODEL, held, release))
    holder.start()
    try:
        assert held.wait(60), "the child process never took the lock"
        with (
            pytest.raises(RegistryBusy, match=f"model '{MODEL}'"),
            model_lock(store, MODEL, timeout_s=0.3),
        ):
            pass
        with model_lock(store, "another-model", timeout_s=0.3):
            pass
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0
    with model_lock(store, MODEL, timeout_s=5):  # released when the holder let go
        pass


def test_concurrent_promotions_and_rollbacks_keep_a_consistent_history(
    backend_registry: Registry,
) -> None:
    registry = backend_registry
    versions = [registry.add_version({"roc_auc": 0.8}) for _ in range(3)]
    policy = PromotionPolicy(model=MODEL, to="champion")
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def promoter(order: list[str], actor: str) -> None:
        client = connect_tracking(registry.settings, registry.store)
        start.wait()
        for version in order * 3:
            promote(client, registry.store, MODEL, version, policy=policy, actor=actor)

    def rollbacker() -> None:
        client = connect_tracking(registry.settings, registry.store)
        start.wait()
        for _ in range(6):
            with suppress(NothingToRollBack):  # the promoters may not have started yet
                rollback(client, registry.store, MODEL, actor="carol")

    def guarded(work: Any, *args: Any) -> None:
        try:
            work(*args)
        except BaseException as exc:  # reported below, with the history
            errors.append(exc)

    threads = [
        threading.Thread(target=guarded, args=(promoter, versions, "alice")),
        threading.Thread(target=guarded, args=(promoter, versions[::-1], "bob")),
        threading.Thread(target=guarded, args=(rollbacker,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors

    changes = [
        event
        for event in alias_history(registry.store, MODEL, "champion")
        if event.kind in ("promoted", "rolled_back")
    ]
    assert sum(event.kind == "promoted" for event in changes) == 18
    before: str | None = None
    for event in changes:
        assert event.previous_version == before, [
            (e.kind, e.previous_version, e.model_version) for e in changes
        ]
        before = event.model_version
    assert alias_versions(registry.client, MODEL, ["champion"]) == {"champion": before}
