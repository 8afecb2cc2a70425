"""One change of a model's aliases at a time, across threads and processes.

A promotion reads where the alias points, checks the policy against that version, moves the
alias and records the event. Two promotions (or a promotion and a rollback) of one model that
interleave would both see the same holder and leave events whose ``previous_version`` is wrong;
:func:`model_lock` makes them take turns. The lock is the store's named lock
(:mod:`iml4e.store.locks`): a file lock per model beside SQLite, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from iml4e.registry.errors import RegistryBusy
from iml4e.store import Store
from iml4e.store.locks import lock_key, named_lock

MODEL_LOCK_TIMEOUT_S = 60.0
# The first key of iml4e's registry advisory locks on PostgreSQL (the second is the model's).
POSTGRES_REGISTRY_LOCK_NAMESPACE = 0x1A4E_2E61


def model_lock_key(name: str) -> int:
    """A stable signed 32-bit key for model ``name`` (PostgreSQL advisory locks take int4)."""
    return lock_key(name)


@contextmanager
def model_lock(
    store: Store, name: str, *, timeout_s: float = MODEL_LOCK_TIMEOUT_S
) -> Iterator[None]:
    """Hold model ``name``'s registry lock for the block; wait up to ``timeout_s`` for it.

    Raises :class:`RegistryBusy` when another holder keeps it longer. Not reentrant.
    """

    def busy() -> RegistryBusy:
        return RegistryBusy(
            f"waited {timeout_s:g}s for another promotion, rollback or alias move to finish",
            where=f"model {name!r}",
        )

    with named_lock(
        store,
        "registry",
        name,
        namespace=POSTGRES_REGISTRY_LOCK_NAMESPACE,
        timeout_s=timeout_s,
        busy=busy,
    ):
        yield
