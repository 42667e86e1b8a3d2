"""ShardReflector: keeps one shard's part of every resource cache in step with etcd, through one
etcd watch over the whole shard (docs/decisions/0007-one-watch-per-shard.md).

list (each served resource's prefix, paged, all pinned to one revision) -> replace every cache ->
watch(`{key_prefix}/` from revision + 1, progress_notify) -> route + apply, forever.

Routing (watchproxy/routing.py): a key `{key_prefix}/{storage_prefix}/{rest}` belongs to the
routes of the longest storage prefix it starts with -- one per served version, several for a
custom resource's versions, each value decoded once and encoded once per version; its cache key
is `{rest}`. Keys no route owns (resources not served, other writers' keys) are skipped, but
their revisions still count.

Why one stream: etcd orders a watch stream by revision over every key it covers. After a
response whose last event has mod_revision M, every resource of the shard has seen all its
events up to M, so every cache's shard revision is raised to M -- a write to Leases proves a
ConfigMap LIST fresh. The same holds for progress notifications that etcd orders after events:
periodic ones on every 3.5, requested ones only on etcd >= 3.5.13 / 3.4.31
(ShardBackend.trust_requested_progress). An unordered answer to a progress request (etcd#15220)
proves nothing and is dropped: it may run ahead of events still in flight. How the caches are
raised (all at once, through the shard's ShardClock that live routes' caches follow, decision
0020): reflector_progress.py, the base class.

Resume: a broken watch restarts from the last event's mod_revision + 1 -- not from the response
header revision, which during catch-up is the store's current revision and would skip events --
and from header revision + 1 only after a trusted progress notification. A watch whose start
revision was compacted away means the caches cannot be continued: the whole shard is relisted, and
every watcher that includes the shard gets the in-band 410 (ResourceCache.replace).

Concurrency: the reflector task is the only writer of its shard in every cache; cache mutations
(replace, apply, progress) are synchronous, so a reader never sees a half-applied response.

Routes added at run time (custom resources, docs/decisions/0015): `add_route` starts routing
into a buffer at once; a task lists the prefix at etcd's current revision L, then --
synchronously -- installs the list at L, applies the buffered events newer than L, and goes live.
Every event newer than L reaches the route: the stream had delivered nothing newer than L when L
was read (L is read after the route joined), and everything delivered after joining is
buffered; those at or below L (the stream may be behind L) are dropped by the route's `since`.
Other routes of the prefix (a CRD's other versions) stay live meanwhile. A relist lists every
route, those added while it lists too, at its one revision.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdCompacted, EtcdError, EtcdWatch, KeyValue, WatchResponse
from watchproxy.reflector_progress import ShardProgress
from watchproxy.resources import ResourceType
from watchproxy.routing import Joining, OneValue, Route, RouteTable
from watchproxy.shard import ShardBackend

log = logging.getLogger("watchproxy.reflector")

INITIAL_BACKOFF = 0.05  # etcd clientv3 defaults: 50 ms doubling to 2 s
MAX_BACKOFF = 2.0


class ShardReflector(ShardProgress):
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
        self.table = RouteTable(
            self.prefix,
            [
                Route(resource, cache, shard.resource_prefix(resource.storage_prefix))
                for resource, cache in served
            ],
        )
        self.next_revision = 0  # 0: must (re)list
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
        self._init_progress()
        for cache in self.table.live_caches:
            cache.progress_requesters[shard.index] = self.request_progress

    # -- routing -------------------------------------------------------------------------------

    @property
    def routes(self) -> list[Route]:
        return self.table.routes

    @property
    def _joining(self) -> dict[int, Joining]:
        return self.table.joining

    def add_route(self, resource: ResourceType, cache: ResourceCache) -> None:
        """Start feeding `cache` with `resource`'s keys of this shard without losing an event
        (the module docstring's scheme). Other routes of the prefix (other versions of a
        custom resource) stay as they are; a former route of `cache` is replaced."""
        route = Route(resource, cache, self.shard.resource_prefix(resource.storage_prefix))
        joining = self.table.add_joining(route)
        self._follow(cache, False)  # its events are buffered, not applied, until it is live
        cache.progress_requesters[self.shard.index] = self.request_progress
        joining.task = asyncio.create_task(
            self._join(cache, joining),
            name=f"join {route.prefix.decode(errors='replace')} {resource.version}",
        )

    def update_route(self, resource: ResourceType, cache: ResourceCache) -> None:
        """Serve the route of `cache` as `resource` from now on (same prefix, same cache)."""
        self.table.update(lambda r: r.cache is cache, resource)

    def remove_route(self, prefix: bytes, cache: ResourceCache | None = None) -> None:
        """Stop routing `prefix` into `cache` (None: into any cache); keys no route is left
        for are skipped from now on."""
        gone = self.table.remove(
            lambda r: r.prefix == prefix and (cache is None or r.cache is cache)
        )
        for route in gone:
            route.cache.progress_requesters.pop(self.shard.index, None)
            self._follow(route.cache, False)  # no longer fed: its revision stays where it is

    async def _join(self, cache: ResourceCache, joining: Joining) -> None:
        backoff = INITIAL_BACKOFF
        while self._joining.get(id(cache)) is joining:
            route = self.table.of_cache(cache)
            assert route is not None  # removed routes stop joining
            try:
                revision, listed = await self._list_routes(route.prefix, [route], 0)
            except EtcdError as exc:
                log.warning(
                    "shard %s: listing %r for %s failed (%s)",
                    self.shard.name,
                    route.prefix,
                    route.resource.api_version,
                    exc,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            current = self.table.of_cache(cache)  # its resource may have been updated
            if self._joining.get(id(cache)) is not joining or current is None:
                return  # removed, or made live by a relist meanwhile
            self._go_live(current, joining, revision, listed[id(cache)])

    def _go_live(
        self, route: Route, joining: Joining, revision: int, objects: list[CachedObject]
    ) -> None:
        """Install a joining route's list at `revision` and its buffered newer events."""
        shard = self.shard.index
        route.cache.replace(shard, objects, revision)
        for key, kv, deleted in joining.buffer:
            if kv.mod_revision > revision:
                obj = None if deleted else self._build(route, key, kv)
                route.cache.apply(shard, key, obj, kv.mod_revision)
        self.table.go_live(route.cache, revision)
        self._follow(route.cache)  # the buffer covered the stream up to the clock

    def route(self, key: bytes) -> Route | None:
        """The first served resource owning `key`, or None (another resource, another
        writer); `table.lookup` has every version of it."""
        routes = self.table.lookup(key)
        return routes[0] if routes else None

    def _cache_key(self, route: Route, raw_key: bytes) -> str | None:
        try:
            return raw_key[len(route.prefix) :].decode()
        except UnicodeDecodeError:
            log.warning("skipping non-UTF-8 key on shard %s: %r", self.shard.name, raw_key)
            return None

    def _build(self, route: Route, key: str, kv: KeyValue) -> CachedObject | None:
        return OneValue(self.shard.name, key, kv).build(route.resource, copy=False)

    # -- list ----------------------------------------------------------------------------------

    async def relist(self) -> None:
        """Read every served resource of the shard at one revision; replace every cache.

        Only the served prefixes are read (all pinned to the first page's revision, so together
        one snapshot), each once however many versions it serves: keys of resources not served
        are never needed in full, only their revisions, and those come with the watch.
        """
        revision = 0
        # id(cache) -> objects; routes added while listing are listed too, at the same
        # revision, so every route of the shard is in the one snapshot.
        listed: dict[int, list[CachedObject]] = {}
        while pending := [r for r in self.routes if id(r.cache) not in listed]:
            by_prefix: dict[bytes, list[Route]] = {}
            for route in pending:
                by_prefix.setdefault(route.prefix, []).append(route)
            for prefix, routes in by_prefix.items():
                revision, objects = await self._list_routes(prefix, routes, revision)
                listed.update(objects)
        # No await from here on: every cache of the shard moves to the new list together, and
        # routes still joining are live from now on (their listing tasks are dropped).
        for route in self.routes:
            route.cache.replace(self.shard.index, listed[id(route.cache)], revision)
        self.table.all_live()
        self.clock.reset(revision)
        for cache in self.table.live_caches:
            self._follow(cache)
        self.next_revision = revision + 1
        self.relists += 1
        self.etcd_error = None
        self.last_heard = time.monotonic()
        log.info(
            "listed %d objects of %d resources from shard %s at revision %d",
            sum(len(objects) for objects in listed.values()),
            len(self.routes),
            self.shard.name,
            revision,
        )

    async def _list_routes(
        self, prefix: bytes, routes: Sequence[Route], revision: int
    ) -> tuple[int, dict[int, list[CachedObject]]]:
        """The objects of `prefix` at `revision` (0: etcd's current one) for each route of it
        (by id of its cache; each value decoded once), and that revision."""
        out: dict[int, list[CachedObject]] = {id(r.cache): [] for r in routes}
        async for page_revision, kvs in self.shard.client.list_paged(
            prefix, revision=revision, page_size=self.page_size
        ):
            revision = page_revision  # every page is pinned to the first page's revision
            for kv in kvs:
                key = self._cache_key(routes[0], kv.key)
                if key is None:
                    continue
                builder = OneValue(self.shard.name, key, kv)
                for route in routes:
                    obj = builder.build(route.resource, copy=len(routes) > 1)
                    if obj is not None:
                        out[id(route.cache)].append(obj)
        return revision, out

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
        shard, shard_name = self.shard.index, self.shard.name
        lookup, joinings = self.table.lookup, self.table.joining
        for event in response.events:
            kv = event.kv
            routes = lookup(kv.key)
            key = self._cache_key(routes[0], kv.key) if routes else None
            if key is None:
                self.skipped_events += 1
                continue
            builder = OneValue(shard_name, key, kv)
            applied = buffered = False
            for route in routes:
                if kv.mod_revision <= route.since:
                    continue
                if joinings:
                    joining = joinings.get(id(route.cache))
                    if joining is not None:
                        joining.buffer.append((key, kv, event.is_delete))
                        buffered = True
                        continue
                obj = None if event.is_delete else builder.build(route.resource, len(routes) > 1)
                # An undecodable value is applied as a deletion: the old version is gone.
                route.cache.apply(shard, key, obj, kv.mod_revision)
                applied = True
            if applied:
                self.events += 1
            elif not buffered:
                self.skipped_events += 1
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
            # Responses are applied as they are parsed (h2 transport: in the socket's read
            # callback, several per wake-up when they arrive together).
            await watch.run(self.apply)
        finally:
            self._watch = None
            await watch.close()

    async def run(self) -> None:
        backoff = INITIAL_BACKOFF
        while True:
            heard = self.events + self.progress_notifications
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
                if self.events + self.progress_notifications != heard:
                    # The watch had been up and streaming: this is a new outage, not the
                    # previous one going on (review finding: the pause kept growing).
                    backoff = INITIAL_BACKOFF
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
