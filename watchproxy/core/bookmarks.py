"""BookmarkTicker: sends periodic BOOKMARKs to the watchers that asked for them.

Once a second it offers a bookmark at the cache's current revision to every watcher whose time
has come (its interval, or 2 s before its deadline, as kube-apiserver's cacher does). A watcher
that is not caught up gets none: a bookmark must never claim events it has not been sent.
"""

from __future__ import annotations

import asyncio

from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher

TICK_SECONDS = 1.0


class BookmarkTicker:
    """Owner: watch handlers (add/discard) and its own run() task."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._watchers: dict[CacheWatcher, tuple[ResourceCache, float]] = {}
        self.sent = 0

    def add(self, cache: ResourceCache, watcher: CacheWatcher, deadline: float) -> None:
        self._watchers[watcher] = (cache, deadline)

    def discard(self, watcher: CacheWatcher) -> None:
        self._watchers.pop(watcher, None)

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
