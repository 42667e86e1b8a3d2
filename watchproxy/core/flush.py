"""Direct writes of watch events from the dispatch path, with an adaptive coalescing window.

Before this, every delivered event woke one writer task per watcher (asyncio.Event.set, a
Task step, a new Future, the ASGI send chain): ~5.5 us of Python per delivery
(shared/reference/fanout-profile.md section 3). Now a watcher whose writer is parked and whose
server gave it a `WatchSink` (HTTP/1.1 in serving/protocol.py, HTTP/2 in serving/h2.py) is
"direct": `CacheWatcher.offer` queues the line and `touch`es the cache's `Flusher`, and one
flush pass, run from the event loop after the dispatching callback (a whole etcd watch
response) has returned, writes each touched watcher's queue as one chunk straight to its
transport. A sink that cannot take the chunk (writing paused, an HTTP/2 window too small, the
stream gone) returns False and the writer task takes over with the queue intact: lagging
catch-up, initial events, backpressure and close stay on the task path (decision 0019).

Coalescing is per watcher and adaptive: the first event after `window` seconds without a flush
of that watcher goes out in the next pass (no added latency); events that follow within the
window wait for the window's end and go out together, so at 300 events/s one write carries
about `window * 300` events. One write(2) of one event costs ~5-6 us of kernel CPU on loopback;
k events in one write cost ~k x 2-3.5 us (fanout-profile.md section 4). `window` 0 flushes every
pass at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from watchproxy.core.watcher import CacheWatcher

# The ASGI scope extension under which a server offers a watch stream its sink.
WATCH_SINK: Final = "watchproxy.watch_sink"

# The last multi-line chunk joined and its lines: in one flush pass most watchers hold the same
# shared lines, so one join (and one HTTP/1.1 framing, serving/watch_sink.py) serves them all.
_joined: list[tuple[bytes, ...] | bytes] = [(), b""]


def joined(queue: Iterable[bytes]) -> bytes:
    """b"".join(queue), reusing the previous result when the lines are the same objects."""
    lines = tuple(queue)
    if lines == _joined[0]:  # (a tuple compares its items by identity first)
        return _joined[1]  # type: ignore[return-value]
    chunk = b"".join(lines)
    _joined[0], _joined[1] = lines, chunk
    return chunk


class WatchSink(Protocol):
    """What a server gives a watch stream to write response-body bytes without its ASGI send.

    `write_body(data)` writes all of `data` (one or more complete watch lines, never empty) as
    the next part of the response body and returns True, or writes nothing and returns False
    when it cannot now (writing paused, no flow-control window, response not open): the caller
    then sends the same bytes through ASGI `send`, which waits as needed. It never blocks and
    never raises for a gone client (False). `direct_bytes` counts the body bytes it wrote, for
    the request's access-log line (api/app.py).
    """

    direct_bytes: int

    def write_body(self, data: bytes) -> bool: ...


class Flusher:
    """The flush passes of one ResourceCache's direct watchers.

    Owner: the cache (one per cache); `touch` is called by `CacheWatcher.offer` and
    `offer_bookmark` on the event loop's thread, never re-entrantly from a pass.
    Two pending lists: watchers due at once (flushed by a `call_soon` pass, i.e. after the
    current callback -- the reflector's whole watch response -- has been applied) and watchers
    inside their window (flushed by one timer at the earliest due time; a watcher whose window
    ends later is flushed early then, which only shortens its latency).
    """

    __slots__ = ("_deferred", "_due", "_late", "_loop", "_now", "_soon", "passes", "writes")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._now: list[CacheWatcher] = []
        self._deferred: list[CacheWatcher] = []
        self._soon: asyncio.Handle | None = None
        self._late: asyncio.TimerHandle | None = None
        self._due = 0.0
        self.passes = 0  # flush passes run (both kinds)
        self.writes = 0  # chunks the sinks took

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, looked up once (get_running_loop costs a getpid on 3.11)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def touch(self, watcher: CacheWatcher) -> None:
        """`watcher` has new lines queued and is not pending yet: schedule its flush."""
        loop = self.loop()
        now = loop.time()
        due = watcher.flushed_at + watcher.coalesce_window
        if now >= due:
            self._now.append(watcher)
            if self._soon is None:
                self._soon = loop.call_soon(self._flush_now)
            return
        self._deferred.append(watcher)
        if self._late is None:
            self._due = due
            self._late = loop.call_at(due, self._flush_deferred)
        elif due < self._due:
            # A shorter window than the pending timer's: it must not wait past its own end.
            self._late.cancel()
            self._due = due
            self._late = loop.call_at(due, self._flush_deferred)

    def _flush_now(self) -> None:
        self._soon = None
        pending, self._now = self._now, []
        self._run(pending)

    def _flush_deferred(self) -> None:
        self._late = None
        pending, self._deferred = self._deferred, []
        self._run(pending)

    def _run(self, pending: list[CacheWatcher]) -> None:
        self.passes += 1
        now = self.loop().time()
        writes = 0
        for watcher in pending:
            writes += watcher.flush_direct(now)
        self.writes += writes

    def flush_all(self) -> None:
        """Run every pending pass now (tests; shutdown paths that want the bytes out first)."""
        if self._soon is not None:
            self._soon.cancel()
            self._flush_now()
        if self._late is not None:
            self._late.cancel()
            self._flush_deferred()
