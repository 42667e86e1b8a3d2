"""Reflector: keeps one shard's part of one resource cache in step with etcd.

list (paged, pinned revision) -> replace -> watch(from revision + 1, prev_kv, progress_notify)
-> apply, forever. It resumes a broken watch from the last event's mod_revision + 1 -- not from the
response header revision, which during catch-up is the store's current revision and would skip
events -- and from header revision + 1 only after an event-less progress response. A watch whose
start revision was compacted away means the cache cannot be continued: it relists.
"""

from __future__ import annotations

import asyncio
import logging
import time

from watchproxy.core.objects import CachedObject, ObjectDecodeError, build_object
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdCompacted, EtcdError, EtcdWatch, KeyValue
from watchproxy.resources import ResourceType
from watchproxy.shard import ShardBackend

log = logging.getLogger("watchproxy.reflector")

INITIAL_BACKOFF = 0.05  # etcd clientv3 defaults: 50 ms doubling to 2 s
MAX_BACKOFF = 2.0
PROGRESS_REQUEST_PERIOD = 0.1  # apiserver progressRequestPeriod


class Reflector:
    def __init__(
        self,
        *,
        resource: ResourceType,
        shard: ShardBackend,
        cache: ResourceCache,
        page_size: int,
    ) -> None:
        self.resource = resource
        self.shard = shard
        self.cache = cache
        self.page_size = page_size
        self.prefix = shard.resource_prefix(resource.storage_prefix)
        self.next_revision = 0  # 0: must (re)list
        self.relists = 0
        self.watch_restarts = 0
        self._watch: EtcdWatch | None = None
        self._last_progress_request = 0.0
        self._progress_tasks: set[asyncio.Task[None]] = set()
        cache.progress_requesters[shard.index] = self.request_progress

    def _key(self, raw_key: bytes) -> str:
        return raw_key[len(self.prefix) :].decode()

    def _build(self, kv: KeyValue) -> CachedObject | None:
        try:
            return build_object(self.resource, self._key(kv.key), kv.value, kv.mod_revision)
        except ObjectDecodeError as exc:
            log.warning("skipping undecodable value on shard %s: %s", self.shard.name, exc)
            return None

    async def relist(self) -> None:
        objects: list[CachedObject] = []
        revision = 0
        async for page_revision, kvs in self.shard.client.list_paged(
            self.prefix, revision=0, page_size=self.page_size
        ):
            revision = page_revision  # every page is pinned to the first page's revision
            for kv in kvs:
                obj = self._build(kv)
                if obj is not None:
                    objects.append(obj)
        self.cache.replace(self.shard.index, objects, revision)
        self.next_revision = revision + 1
        self.relists += 1
        log.info(
            "listed %d %s from shard %s at revision %d",
            len(objects),
            self.resource.plural,
            self.shard.name,
            revision,
        )

    def request_progress(self) -> None:
        """Ask etcd for a progress notification on this reflector's stream (rate-limited)."""
        now = time.monotonic()
        watch = self._watch
        if watch is None or now - self._last_progress_request < PROGRESS_REQUEST_PERIOD:
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

    async def watch_once(self) -> None:
        """Follow etcd from next_revision until the stream breaks."""
        watch = self.shard.client.watch(
            self.prefix, start_revision=self.next_revision, prev_kv=True, progress_notify=True
        )
        self._watch = watch
        shard, cache = self.shard.index, self.cache
        try:
            async for response in watch:
                if not response.events:
                    if response.requested_progress and not self.shard.trust_requested_progress:
                        # May run ahead of events in flight on etcd < 3.5.13: freshness only.
                        cache.progress(shard, response.header_revision, trusted=False)
                    else:
                        cache.progress(shard, response.header_revision)
                        self.next_revision = max(self.next_revision, response.header_revision + 1)
                    continue
                for event in response.events:
                    kv = event.kv
                    if event.is_delete:
                        cache.apply(shard, self._key(kv.key), None, kv.mod_revision)
                    else:
                        obj = self._build(kv)
                        if obj is None:
                            cache.apply(shard, self._key(kv.key), None, kv.mod_revision)
                        else:
                            cache.apply(shard, obj.key, obj, kv.mod_revision)
                    self.next_revision = kv.mod_revision + 1
        finally:
            self._watch = None
            await watch.close()

    async def run(self) -> None:
        backoff = INITIAL_BACKOFF
        while True:
            try:
                if self.next_revision == 0:
                    await self.relist()
                await self.watch_once()
                backoff = INITIAL_BACKOFF
            except EtcdCompacted as exc:
                log.warning(
                    "%s on shard %s: revision %d compacted (now %d); relisting",
                    self.resource.plural,
                    self.shard.name,
                    self.next_revision,
                    exc.compact_revision,
                )
                self.next_revision = 0
            except EtcdError as exc:
                # Unavailable, or any other etcd error (no leader, resource exhausted...): the
                # cache stays as it is and the watch resumes from next_revision after a pause.
                log.warning(
                    "%s on shard %s: etcd error (%s); retrying in %.2fs",
                    self.resource.plural,
                    self.shard.name,
                    exc,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            self.watch_restarts += 1
