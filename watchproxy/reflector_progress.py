"""Which revisions one shard's etcd watch stream proves delivered, and the shard's `ShardClock`
that carries that proof to every cache of the shard at once (ShardReflector's base;
watchproxy/reflector.py says why one ordered stream proves every resource fresh). Also the
rate-limited progress requests that readers waiting for freshness trigger.

Raising every cache after each response with events touched each of them (about 100 per shard);
done per response it was the largest single step of ingest at low event rates. The first round
of decision 0020 deferred that raise by up to 100 ms unless a reader waited; now the caches of
live routes read the shard's clock (`ShardState.revision` is the larger of its own and the
clock's), so one assignment raises them all at once, with no lag and no timer. A cache joining
the shard (its list not installed yet) or no longer routed does not follow the clock.

Owner: the event loop (the reflector's task and the watch's read callback).
"""

from __future__ import annotations

import asyncio
import logging
import time

from watchproxy.core.shard_state import ShardClock
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdWatch
from watchproxy.routing import RouteTable
from watchproxy.shard import ShardBackend

log = logging.getLogger("watchproxy.reflector")

PROGRESS_REQUEST_PERIOD = 0.1  # apiserver progressRequestPeriod


class ShardProgress:
    """The proven revision of one shard's stream and the caches' progress (see the module)."""

    shard: ShardBackend
    table: RouteTable
    clock: ShardClock
    _watch: EtcdWatch | None

    def _init_progress(self) -> None:
        self._last_progress_request = 0.0
        self._progress_tasks: set[asyncio.Task[None]] = set()
        self.clock = ShardClock()
        for cache in self.table.live_caches:
            self._follow(cache)

    @property
    def revision(self) -> int:
        """The newest revision the stream has proven delivered (every resource of the shard)."""
        return self.clock.revision

    @revision.setter
    def revision(self, revision: int) -> None:
        self.clock.reset(revision)

    def _follow(self, cache: ResourceCache, follows: bool = True) -> None:
        """`cache`'s shard revision follows the stream's proof from now on (or no longer)."""
        cache.follow(self.shard.index, self.clock if follows else None)

    def request_progress(self) -> None:
        """Ask etcd for a progress notification on the shard's stream (rate-limited).

        Only where etcd orders the answer after pending events (>= 3.5.13 / 3.4.31): elsewhere
        the answer proves nothing (etcd#15220), so it is not asked for.
        """
        now = time.monotonic()
        watch = self._watch
        if (
            watch is None
            or not self.shard.trust_requested_progress
            or now - self._last_progress_request < PROGRESS_REQUEST_PERIOD
        ):
            return
        self._last_progress_request = now
        task = asyncio.create_task(self._send_progress(watch))
        self._progress_tasks.add(task)
        task.add_done_callback(self._progress_tasks.discard)

    @staticmethod
    async def _send_progress(watch: EtcdWatch) -> None:
        try:
            await watch.request_progress()
        except Exception as exc:  # the watch loop sees the broken stream itself
            log.debug("progress request failed: %s", exc)

    def _proven(self, revision: int) -> None:
        """The stream has delivered every event of the shard up to `revision`: every cache of
        a live route is at least there (one assignment; its waiters are woken)."""
        self.clock.advance(revision)
