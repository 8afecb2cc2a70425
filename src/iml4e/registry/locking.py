"""One change of a model's aliases at a time, across threads and processes.

A promotion reads where the alias points, checks the policy against that version, moves the
alias and records the event. Two promotions (or a promotion and a rollback) of one model that
interleave would both see the same holder and leave events whose ``previous_version`` is wrong;
:func:`model_lock` makes them take turns.

Beside a SQLite database the lock is a file lock per model (as the schema lock is). SQLite's own
write lock would not do: MLflow moves the alias through its own connection to the same file and
would wait for ours. On PostgreSQL it is a session-level advisory lock keyed by the model name,
released when the block ends or the connection drops, so a crashed process never leaves it held.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import text

from iml4e.registry.errors import RegistryBusy
from iml4e.store import Store
from iml4e.store.engine import sqlite_path

MODEL_LOCK_TIMEOUT_S = 60.0
# The first key of iml4e's registry advisory locks on PostgreSQL (the second is the model's).
POSTGRES_REGISTRY_LOCK_NAMESPACE = 0x1A4E_2E61
_POLL_S = 0.02

# Databases with neither a file nor advisory locks (in-memory SQLite) live in one process.
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def model_lock_key(name: str) -> int:
    """A stable signed 32-bit key for model ``name`` (PostgreSQL advisory locks take int4)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@contextmanager
def model_lock(
    store: Store, name: str, *, timeout_s: float = MODEL_LOCK_TIMEOUT_S
) -> Iterator[None]:
    """Hold model ``name``'s registry lock for the block; wait up to ``timeout_s`` for it.

    Raises :class:`RegistryBusy` when another holder keeps it longer. Not reentrant.
    """
    database = sqlite_path(str(store.engine.url))
    if database is not None:
        lock = _file_lock(database, name, timeout_s)
    elif store.dialect == "postgresql":
        lock = _advisory_lock(store, name, timeout_s)
    else:
        lock = _process_lock(name, timeout_s)
    with lock:
        yield


def _busy(name: str, timeout_s: float) -> RegistryBusy:
    return RegistryBusy(
        f"waited {timeout_s:g}s for another promotion, rollback or alias move to finish",
        where=f"model {name!r}",
    )


@contextmanager
def _file_lock(database: Path, name: str, timeout_s: float) -> Iterator[None]:
    folder = database.parent / f"{database.name}.registry-locks"
    folder.mkdir(exist_ok=True)
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    lock = FileLock(str(folder / f"{digest}.lock"), timeout=timeout_s)
    try:
        lock.acquire()
    except FileLockTimeout:
        raise _busy(name, timeout_s) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(store: Store, name: str, timeout_s: float) -> Iterator[None]:
    keys = {"namespace": POSTGRES_REGISTRY_LOCK_NAMESPACE, "key": model_lock_key(name)}
    deadline = time.monotonic() + timeout_s
    with store.engine.connect() as connection:
        while True:
            acquired = connection.execute(
                text("SELECT pg_try_advisory_lock(:namespace, :key)"), keys
            ).scalar()
            connection.commit()  # the lock outlives the transaction; no transaction idles open
            if acquired:
                break
            if time.monotonic() >= deadline:
                raise _busy(name, timeout_s)
            time.sleep(_POLL_S)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"), keys)
            connection.commit()


@contextmanager
def _process_lock(name: str, timeout_s: float) -> Iterator[None]:
    with _process_locks_guard:
        lock = _process_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=timeout_s):
        raise _busy(name, timeout_s)
    try:
        yield
    finally:
        lock.release()
