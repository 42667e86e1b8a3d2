"""Which revisions one shard's etcd watch stream proves delivered, and raising the shard's
caches to them (ShardReflector's base; watchproxy/reflector.py says why one ordered stream proves
every resource fresh). Also the rate-limited progress requests that readers waiting for
freshness trigger.

Raising every cache after a response with events touches each of them (about 100 per shard);
done per response it was the largest single step of ingest at low event rates (decision 0020).
So after events it waits up to PROOF_DELAY, covering every response meanwhile -- unless a reader
waits for freshness (it asked within READER_WINDOW: ResourceCache.wait_until_fresh calls
request_progress before it waits, and every 100 ms while it waits), then it is immediate, as
before. A cache not yet raised keeps a revision that is older but still true of its content:
its own events raise it as they are applied. Progress notifications raise every cache at once.

Owner: the event loop (the reflector's task and the watch's read callback).
"""

from __future__ import annotations

import asyncio
import logging
import time

from watchproxy.etcd.client import EtcdWatch
from watchproxy.routing import RouteTable
from watchproxy.shard import ShardBackend

log = logging.getLogger("watchproxy.reflector")

PROGRESS_REQUEST_PERIOD = 0.1  # apiserver progressRequestPeriod
PROOF_DELAY = 0.1  # seconds the raise of every cache may wait after events
READER_WINDOW = 0.25  # seconds a reader's request keeps raises immediate


class ShardProgress:
    """The proven revision of one shard's stream and the caches' progress (see the module)."""

    shard: ShardBackend
    table: RouteTable
    revision: int  # the newest revision the stream has proven delivered
    _watch: EtcdWatch | None

    def _init_progress(self) -> None:
        self._last_progress_request = 0.0
        self._progress_tasks: set[asyncio.Task[None]] = set()
        # The deferred raise of every cache (PROOF_DELAY): its timer, and when a reader last
        # asked for freshness (request_progress).
        self._proof_timer: asyncio.TimerHandle | None = None
        self._reader_asked = float("-inf")

    def request_progress(self) -> None:
        """Ask etcd for a progress notification on the shard's stream (rate-limited).

        Only where etcd orders the answer after pending events (>= 3.5.13 / 3.4.31): elsewhere
        the answer proves nothing (etcd#15220), so it is not asked for.
        """
        now = time.monotonic()
        self._reader_asked = now
        if self._proof_timer is not None:
            self._flush_proof()  # the stream may already prove what the reader waits for
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
        """The stream has delivered every event of the shard up to `revision`."""
        if self._proof_timer is not None:
            self._proof_timer.cancel()
            self._proof_timer = None
        if revision > self.revision:
            self.revision = revision
        shard = self.shard.index
        for cache in self.table.live_caches:
            cache.progress(shard, revision)

    def _events_proven(self, revision: int, now: float) -> None:
        """`_proven` after a response with events: at once while a reader waits for freshness
        (or outside an event loop), else within PROOF_DELAY. The caches that took events are
        raised by their apply; until then the others keep a revision that is older but still
        true of their content (none of their keys changed in between)."""
        if revision > self.revision:
            self.revision = revision
        if self._proof_timer is not None:
            return
        if now - self._reader_asked < READER_WINDOW:
            self._proven(revision)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._proven(revision)
            return
        self._proof_timer = loop.call_later(PROOF_DELAY, self._flush_proof)

    def _flush_proof(self) -> None:
        """Raise every live cache to the revision the stream has proven (the deferred part)."""
        self._proven(self.revision)
