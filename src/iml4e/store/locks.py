"""Named locks that hold across threads and processes sharing one database.

Beside a SQLite database a lock is a file per name in a folder next to the database file
(SQLite's own write lock would not do: MLflow writes through its own connection to the same
file and would wait for ours). On PostgreSQL it is a session-level advisory lock keyed by a
namespace and the name, released when the block ends or the connection drops, so a crashed
process never leaves it held. Databases with neither (in-memory SQLite) live in one process
and get a thread lock.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock
from filelock import Timeout as FileLockTimeout
from sqlalchemy import text

from iml4e.store.engine import sqlite_path
from iml4e.store.store import Store

_POLL_S = 0.02
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for ``name`` (PostgreSQL advisory locks take int4)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


@contextmanager
def named_lock(
    store: Store,
    kind: str,
    name: str,
    *,
    namespace: int,
    timeout_s: float,
    busy: Callable[[], Exception],
) -> Iterator[None]:
    """Hold lock ``name`` of ``kind`` for the block; after ``timeout_s`` raise ``busy()``.

    ``kind`` names the folder of SQLite lock files (``<db>.<kind>-locks``); ``namespace`` is
    the first key of the PostgreSQL advisory lock. Not reentrant.
    """
    database = sqlite_path(str(store.engine.url))
    if database is not None:
        lock = _file_lock(database, kind, name, timeout_s, busy)
    elif store.dialect == "postgresql":
        lock = _advisory_lock(store, namespace, name, timeout_s, busy)
    else:
        lock = _process_lock(f"{kind}:{name}", timeout_s, busy)
    with lock:
        yield


@contextmanager
def _file_lock(
    database: Path, kind: str, name: str, timeout_s: float, busy: Callable[[], Exception]
) -> Iterator[None]:
    folder = database.parent / f"{database.name}.{kind}-locks"
    folder.mkdir(exist_ok=True)
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    lock = FileLock(str(folder / f"{digest}.lock"), timeout=timeout_s)
    try:
        lock.acquire()
    except FileLockTimeout:
        raise busy() from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _advisory_lock(
    store: Store, namespace: int, name: str, timeout_s: float, busy: Callable[[], Exception]
) -> Iterator[None]:
    keys = {"namespace": namespace, "key": lock_key(name)}
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
                raise busy()
            time.sleep(_POLL_S)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:namespace, :key)"), keys)
            connection.commit()


@contextmanager
def _process_lock(name: str, timeout_s: float, busy: Callable[[], Exception]) -> Iterator[None]:
    with _process_locks_guard:
        lock = _process_locks.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=timeout_s):
        raise busy()
    try:
        yield
    finally:
        lock.release()
