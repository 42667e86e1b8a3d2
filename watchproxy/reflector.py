"""ShardReflector: keeps one shard's part of every resource cache in step with etcd, through one
etcd watch over the whole shard (docs/decisions/0007-one-watch-per-shard.md).

list (each served resource's prefix, paged, all pinned to one revision) -> replace every cache ->
watch(`{key_prefix}/` from revision + 1, progress_notify) -> route + apply, forever.

Routing: a key `{key_prefix}/{storage_prefix}/{rest}` belongs to the served resource with that
storage prefix (the longest one: `services/specs` and `services/endpoints` share `services/`);
its cache key is `{rest}`. Keys no served resource owns -- resources not served, other writers'
keys -- are skipped, but their revisions still count.

Why one stream: etcd orders a watch stream by revision over every key it covers. After a
response whose last event has mod_revision M, every resource of the shard has seen all its
events up to M, so every cache's shard revision is raised to M -- a write to Leases proves a
ConfigMap LIST fresh. The same holds for progress notifications that etcd orders after events:
periodic ones on every 3.5, requested ones only on etcd >= 3.5.13 / 3.4.31
(ShardBackend.trust_requested_progress). An unordered answer to a progress request (etcd#15220)
proves nothing and is dropped: it may run ahead of events still in flight.

Resume: a broken watch restarts from the last event's mod_revision + 1 -- not from the response
header revision, which during catch-up is the store's current revision and would skip events --
and from header revision + 1 only after a trusted progress notification. A watch whose start
revision was compacted away means the caches cannot be continued: the whole shard is relisted, and
every watcher that includes the shard gets the in-band 410 (ResourceCache.replace).

Concurrency: the reflector task is the only writer of its shard in every cache; cache mutations
(replace, apply, progress) are synchronous, so a reader never sees a half-applied response.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from watchproxy.core.objects import CachedObject, ObjectDecodeError, build_object
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdCompacted, EtcdError, EtcdWatch, KeyValue, WatchResponse
from watchproxy.resources import ResourceType
from watchproxy.shard import ShardBackend

log = logging.getLogger("watchproxy.reflector")

INITIAL_BACKOFF = 0.05  # etcd clientv3 defaults: 50 ms doubling to 2 s
MAX_BACKOFF = 2.0
PROGRESS_REQUEST_PERIOD = 0.1  # apiserver progressRequestPeriod


@dataclass(frozen=True, slots=True)
class Route:
    """One served resource within a shard: its key prefix and its cache."""

    resource: ResourceType
    cache: ResourceCache
    prefix: bytes  # b"/registry/services/specs/"


class ShardReflector:
    """Feeds every resource cache from one shard's single etcd watch."""

    def __init__(
        self,
        *,
        shard: ShardBackend,
        served: Sequence[tuple[ResourceType, ResourceCache]],
        page_size: int,
    ) -> None:
        self.shard = shard
        self.page_size = page_size
        self.prefix = shard.watch_prefix
        self.routes = [
            Route(resource, cache, shard.resource_prefix(resource.storage_prefix))
            for resource, cache in served
        ]
        # First path segment under the shard prefix -> its routes, longest prefix first.
        self._by_segment: dict[bytes, list[Route]] = {}
        for route in sorted(self.routes, key=lambda r: -len(r.prefix)):
            segment = route.prefix[len(self.prefix) :].split(b"/", 1)[0]
            self._by_segment.setdefault(segment, []).append(route)
        self._caches = [route.cache for route in self.routes]
        self.next_revision = 0  # 0: must (re)list
        self.revision = 0  # the newest revision the stream has proven delivered
        self.relists = 0
        self.watch_restarts = 0
        self.events = 0  # applied to a cache
        self.skipped_events = 0  # keys no served resource owns
        self.progress_notifications = 0  # trusted: raised every cache
        self.ignored_progress = 0  # answers to progress requests etcd did not order (#15220)
        # time.monotonic() of the last list or watch response: a stream silent for a while has
        # nothing in flight, so a read waiting for it falls back to etcd (api/freshness.py).
        self.last_heard = 0.0
        # The last etcd error, until the stream (or a relist) answers again: /healthz's etcd check.
        self.etcd_error: str | None = None
        self._watch: EtcdWatch | None = None
        self._last_progress_request = 0.0
        self._progress_tasks: set[asyncio.Task[None]] = set()
        for cache in self._caches:
            cache.progress_requesters[shard.index] = self.request_progress

    # -- routing -------------------------------------------------------------------------------

    def route(self, key: bytes) -> Route | None:
        """The served resource owning `key`, or None (another resource, another writer)."""
        start = len(self.prefix)
        end = key.find(b"/", start)
        if end < 0 or not key.startswith(self.prefix):
            return None
        for route in self._by_segment.get(key[start:end], ()):
            if len(key) > len(route.prefix) and key.startswith(route.prefix):
                return route
        return None

    def _cache_key(self, route: Route, raw_key: bytes) -> str | None:
        try:
            return raw_key[len(route.prefix) :].decode()
        except UnicodeDecodeError:
            log.warning("skipping non-UTF-8 key on shard %s: %r", self.shard.name, raw_key)
            return None

    def _build(self, route: Route, key: str, kv: KeyValue) -> CachedObject | None:
        try:
            return build_object(route.resource, key, kv.value, kv.mod_revision)
        except ObjectDecodeError as exc:
            log.warning("skipping undecodable value on shard %s: %s", self.shard.name, exc)
            return None

    # -- list ----------------------------------------------------------------------------------

    async def relist(self) -> None:
        """Read every served resource of the shard at one revision; replace every cache.

        Only the served prefixes are read (all pinned to the first page's revision, so together
        one snapshot): keys of resources not served are never needed in full, only their
        revisions, and those come with the watch.
        """
        revision = 0
        listed: list[list[CachedObject]] = []
        for route in self.routes:
            objects: list[CachedObject] = []
            async for page_revision, kvs in self.shard.client.list_paged(
                route.prefix, revision=revision, page_size=self.page_size
            ):
                revision = page_revision  # every page is pinned to the first page's revision
                for kv in kvs:
                    key = self._cache_key(route, kv.key)
                    obj = None if key is None else self._build(route, key, kv)
                    if obj is not None:
                        objects.append(obj)
            listed.append(objects)
        # No await from here on: every cache of the shard moves to the new list together.
        for route, objects in zip(self.routes, listed, strict=True):
            route.cache.replace(self.shard.index, objects, revision)
        self.revision = revision
        self.next_revision = revision + 1
        self.relists += 1
        self.etcd_error = None
        self.last_heard = time.monotonic()
        log.info(
            "listed %d objects of %d resources from shard %s at revision %d",
            sum(len(objects) for objects in listed),
            len(self.routes),
            self.shard.name,
            revision,
        )

    # -- progress ------------------------------------------------------------------------------

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
        """The stream has delivered every event of the shard up to `revision`."""
        if revision > self.revision:
            self.revision = revision
        shard = self.shard.index
        for cache in self._caches:
            cache.progress(shard, revision)

    # -- watch ---------------------------------------------------------------------------------

    def apply(self, response: WatchResponse) -> None:
        """One watch response, applied to the caches synchronously."""
        self.etcd_error = None
        self.last_heard = time.monotonic()
        if not response.events:
            if response.requested_progress and not self.shard.trust_requested_progress:
                self.ignored_progress += 1  # may run ahead of events in flight (etcd#15220)
                return
            self.progress_notifications += 1
            self._proven(response.header_revision)
            self.next_revision = max(self.next_revision, response.header_revision + 1)
            return
        shard = self.shard.index
        for event in response.events:
            kv = event.kv
            route = self.route(kv.key)
            key = None if route is None else self._cache_key(route, kv.key)
            if route is None or key is None:
                self.skipped_events += 1
                continue
            obj = None if event.is_delete else self._build(route, key, kv)
            # An undecodable value is applied as a deletion: the old version is gone.
            route.cache.apply(shard, key, obj, kv.mod_revision)
            self.events += 1
        last = response.events[-1].kv.mod_revision
        self.next_revision = last + 1
        self._proven(last)

    async def watch_once(self) -> None:
        """Follow etcd from next_revision until the stream breaks."""
        # No prev_kv: the caches keep previous versions themselves, and etcd would read one
        # from its backend for every event of every resource under the prefix.
        watch = self.shard.client.watch(
            self.prefix, start_revision=self.next_revision, prev_kv=False, progress_notify=True
        )
        self._watch = watch
        try:
            async for response in watch:
                self.apply(response)
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
                    "shard %s: revision %d compacted (now %d); relisting",
                    self.shard.name,
                    self.next_revision,
                    exc.compact_revision,
                )
                self.next_revision = 0
            except EtcdError as exc:
                # Unavailable, or any other etcd error (no leader, resource exhausted...): the
                # caches stay as they are and the watch resumes from next_revision after a pause.
                self.etcd_error = str(exc) or type(exc).__name__
                log.warning(
                    "shard %s: etcd error (%s); retrying in %.2fs", self.shard.name, exc, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            self.watch_restarts += 1

    def statistics(self) -> dict[str, object]:
        return {
            "watch_prefix": self.prefix.decode(errors="replace"),
            "revision": self.revision,
            "next_revision": self.next_revision,
            "relists": self.relists,
            "watch_restarts": self.watch_restarts,
            "events": self.events,
            "skipped_events": self.skipped_events,
            "progress_notifications": self.progress_notifications,
            "ignored_progress": self.ignored_progress,
        }
