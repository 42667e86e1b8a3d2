"""Where audit lines go without blocking the event loop: a bounded queue (`_DroppingQueueHandler`
drops and counts when the writer falls behind) drained by a `QueueListener` thread into a
size-rotated 0600 file that follows rotations by other worker processes (`_AuditFileHandler`), or
stdout (`_Stdout`, for `log_path: "-"`). Lines arrive finished (JSON); nothing is formatted here.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import queue
import sys
from typing import Any

log = logging.getLogger("watchproxy.audit")


class _AuditFileHandler(logging.handlers.RotatingFileHandler):
    """Size-rotated audit file, created 0600 (it names users and what they did).

    Several worker processes (`serve --workers N`) may append to one path: before each write the
    handler reopens the path when another process has rotated it away, so no process keeps
    writing into a backup or rotates a file it no longer holds.
    """

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self.stream is not None:
            try:
                moved = os.stat(self.baseFilename).st_ino != os.fstat(self.stream.fileno()).st_ino
            except OSError:
                moved = True
            if moved:
                self.stream.close()
                self.stream = self._open()
        return super().shouldRollover(record)


class _Stdout(logging.StreamHandler):  # type: ignore[type-arg]
    """stdout as it is when a line is written (tests and `log_path: "-"` replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stdout)
        super().emit(record)

    def close(self) -> None:
        self.flush()
        super().close()


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    """Hands the already-serialized line to the writer thread; drops (and counts) when full."""

    def __init__(self, q: queue.Queue[Any]) -> None:
        super().__init__(q)
        self.dropped = 0

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record  # msg is the finished JSON line: no formatting, no copy

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                log.error("audit log queue full: %d events dropped so far", self.dropped)


class _Listener(logging.handlers.QueueListener):
    def __init__(self, q: queue.Queue[Any], handler: logging.Handler) -> None:
        super().__init__(q, handler)
        self._bounded = q

    def enqueue_sentinel(self) -> None:
        # QueueListener's sentinel is None; wait for room: stopping must not lose the tail.
        self._bounded.put(None)
