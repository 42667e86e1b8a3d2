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
import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from watchproxy.core.watcher import CacheWatcher

# The ASGI scope extension under which a server offers a watch stream its sink.
WATCH_SINK: Final = "watchproxy.watch_sink"

# Deadline buckets of the coalescing window: TICK = 1 / PER_SECOND seconds. A watcher is
# flushed at most one tick before its window ends, which only shortens its latency, and never
# after it; watchers whose windows end in the same tick share one timer and one pass.
PER_SECOND: Final = 1000

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
    Watchers due at once are flushed by one `call_soon` pass, i.e. after the current callback
    -- the reflector's whole watch response -- has been applied. Watchers inside their window
    are bucketed by deadline in ticks of 1 / PER_SECOND s, rounded down: a bucket is flushed
    at most one tick before any of its windows ends, never after. One timer serves the
    earliest bucket, and its pass also takes every bucket due within a tick. Watchers that got
    their windows from the same pass -- the controllers of one namespace -- share one bucket
    and one write loop; a watcher with a later deadline keeps its window instead of being
    flushed early by someone else's timer (decision 0019, "Second round").
    """

    __slots__ = (
        "_buckets",
        "_late",
        "_late_tick",
        "_loop",
        "_now",
        "_soon",
        "_ticks",
        "passes",
        "writes",
    )

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._now: list[CacheWatcher] = []
        self._buckets: dict[int, list[CacheWatcher]] = {}  # deadline tick -> watchers
        self._ticks: list[int] = []  # a heap of the keys of `_buckets`
        self._soon: asyncio.Handle | None = None
        self._late: asyncio.TimerHandle | None = None
        self._late_tick = 0  # the tick `_late` fires at
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
        due = watcher.flushed_at + watcher.coalesce_window
        if loop.time() >= due:
            self._now.append(watcher)
            if self._soon is None:
                self._soon = loop.call_soon(self._flush_now)
            return
        tick = int(due * PER_SECOND)
        bucket = self._buckets.get(tick)
        if bucket is not None:
            bucket.append(watcher)
            return
        self._buckets[tick] = [watcher]
        heapq.heappush(self._ticks, tick)
        if self._late is None or tick < self._late_tick:
            if self._late is not None:
                self._late.cancel()
            self._late_tick = tick
            self._late = loop.call_at(tick / PER_SECOND, self._flush_deferred)

    def _flush_now(self) -> None:
        self._soon = None
        pending, self._now = self._now, []
        self._run(pending)

    def _flush_deferred(self) -> None:
        self._late = None
        loop = self.loop()
        # (+1: the loop runs a timer up to its clock's resolution early)
        limit, ticks, buckets = loop.time() * PER_SECOND + 1, self._ticks, self._buckets
        pending = buckets.pop(heapq.heappop(ticks))
        while ticks and ticks[0] <= limit:
            pending += buckets.pop(heapq.heappop(ticks))
        self._run(pending)
        if ticks and self._late is None:
            self._late_tick = ticks[0]
            self._late = loop.call_at(ticks[0] / PER_SECOND, self._flush_deferred)

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
            self._late = None
        pending: list[CacheWatcher] = []
        for bucket in self._buckets.values():
            pending += bucket
        self._buckets.clear()
        self._ticks.clear()
        if pending:
            self._run(pending)
