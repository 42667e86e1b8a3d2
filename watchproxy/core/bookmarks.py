"""BookmarkTicker: the once-a-second chores of open watches -- periodic BOOKMARKs, and noticing
clients that went away while their watch was idle.

Once a second it offers a bookmark at the cache's current revision to every watcher whose time
has come (its interval, or 2 s before its deadline, as kube-apiserver's cacher does). A watcher
that is not caught up gets none: a bookmark must never claim events it has not been sent.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher

TICK_SECONDS = 1.0


class Connection(Protocol):
    """What the ticker polls: uvicorn's HTTP/1.1 request cycle and serving/h2_stream.H2Stream
    both carry this flag, set once their client is gone."""

    @property
    def disconnected(self) -> bool: ...


class BookmarkTicker:
    """Owner: watch handlers (add/discard) and its own run() task."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watchers: dict[CacheWatcher, tuple[ResourceCache, float]] = {}
        self._connections: dict[CacheWatcher, Connection] = {}
        self.sent = 0
        self.reaped = 0

    def add(self, cache: ResourceCache, watcher: CacheWatcher, deadline: float) -> None:
        self._watchers[watcher] = (cache, deadline)

    def track_connection(self, watcher: CacheWatcher, connection: Connection) -> None:
        """Close `watcher` once `connection.disconnected` says its client went away.

        Polling a flag once a second replaces a disconnect-waiting task per watch: an idle
        watch then costs no task, coroutine or future of its own; the connection object is
        held itself (no closure per watch, decision 0023).
        """
        self._connections[watcher] = connection

    def discard(self, watcher: CacheWatcher) -> None:
        self._watchers.pop(watcher, None)
        self._connections.pop(watcher, None)

    def reap(self) -> None:
        gone = [w for w, conn in self._connections.items() if conn.disconnected]
        for watcher in gone:
            del self._connections[watcher]
            watcher.close()
        self.reaped += len(gone)

    def tick(self, now: float) -> None:
        for watcher, (cache, deadline) in self._watchers.items():
            if now < watcher.next_bookmark_at:
                continue
            if watcher.offer_bookmark(cache.vector()):
                self.sent += 1
                nxt = now + self.interval
                pre_deadline = deadline - 2
                watcher.next_bookmark_at = pre_deadline if now < pre_deadline < nxt else nxt

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        tick = min(TICK_SECONDS, self.interval)
        while True:
            await asyncio.sleep(tick)
            self.tick(loop.time())
            self.reap()
