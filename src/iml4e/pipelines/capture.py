"""Capture what a step prints and logs, per thread, while other steps run beside it.

``sys.stdout``/``sys.stderr`` are shared by every thread, so a step's output cannot be taken
by swapping them per step. Instead, while any step runs, they are wrapped by a stream that
sends each write to the buffer of the step running in the writing thread (and echoes it to
stderr). Log records reach the same buffer through a handler on the root logger.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

MAX_LOG_CHARS = 256 * 1024


class StepLog:
    """The text one step wrote; only the last ``MAX_LOG_CHARS`` characters are kept."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size > 2 * MAX_LOG_CHARS:
            joined = "".join(self._parts)[-MAX_LOG_CHARS:]
            self._parts, self._size, self.truncated = [joined], len(joined), True

    def text(self) -> str:
        joined = "".join(self._parts)[-MAX_LOG_CHARS:]
        return ("[… earlier output dropped …]\n" + joined) if self.truncated else joined


class _RoutedStream(io.TextIOBase):
    """Writes of a thread running a step go to its log and are echoed to ``echo``."""

    def __init__(self, original: TextIO, echo: TextIO) -> None:
        self.original = original
        self.echo = echo

    def write(self, text: str) -> int:
        log = _ACTIVE.get(threading.get_ident())
        if log is None:
            return self.original.write(text)
        log.write(text)
        self.echo.write(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.original.fileno()


class _RoutedHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log = _ACTIVE.get(record.thread or 0)
        if log is not None:
            try:
                log.write(self.format(record) + "\n")
            except Exception:
                self.handleError(record)


_ACTIVE: dict[int, StepLog] = {}
_LOCK = threading.Lock()
_HANDLER = _RoutedHandler()
_HANDLER.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


@contextmanager
def capture_step_output() -> Iterator[StepLog]:
    """Collect this thread's prints and log records until the block ends."""
    log = StepLog()
    with _LOCK:
        if not _ACTIVE:
            _install()
        _ACTIVE[threading.get_ident()] = log
    try:
        yield log
    finally:
        with _LOCK:
            _ACTIVE.pop(threading.get_ident(), None)
            if not _ACTIVE:
                _uninstall()


def _install() -> None:
    # A step's prints are echoed to stderr, never stdout: stdout belongs to the command
    # running the pipeline (its --json output must stay parseable).
    if not isinstance(sys.stderr, _RoutedStream):
        sys.stderr = _RoutedStream(sys.stderr, sys.stderr)
    if not isinstance(sys.stdout, _RoutedStream):
        sys.stdout = _RoutedStream(sys.stdout, sys.stderr.original)
    logging.getLogger().addHandler(_HANDLER)


def _uninstall() -> None:
    logging.getLogger().removeHandler(_HANDLER)
    if isinstance(sys.stdout, _RoutedStream):
        sys.stdout = sys.stdout.original
    if isinstance(sys.stderr, _RoutedStream):
        sys.stderr = sys.stderr.original
