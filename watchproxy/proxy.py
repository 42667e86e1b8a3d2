"""Proxy: everything one watchproxy process runs -- shard backends, one ResourceCache per
resource, one ShardReflector per shard (one etcd watch over the shard's whole key prefix, feeding
every resource cache; docs/decisions/0007) -- and the task group that owns the reflectors.

Custom resources (docs/decisions/0015): every process follows its own CustomResourceDefinition
cache (polled every CRD_POLL_SECONDS) and serves each CRD whose names are accepted --
`Registry.add` -- or stops serving it -- `Registry.remove`; the registry's listener here
creates or drops the resource's cache and its route on every shard's reflector
(ShardReflector.add_route). Each served version of a CRD is its own resource with its own cache
(`served_key`), all fed from the one etcd prefix: a copy of every object per served version
(conversion None, decision 0015).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import orjson

from watchproxy.api.status import expired_line
from watchproxy.config import ConfigError, Settings
from watchproxy.core.bookmarks import BookmarkTicker
from watchproxy.core.rv import TokenCodec
from watchproxy.core.watch_cache import CacheStatistics, ResourceCache
from watchproxy.etcd.client import EtcdClient, EtcdError
from watchproxy.gc_tuning import freeze_startup_heap, tune_for_cache
from watchproxy.reflector import ShardReflector
from watchproxy.resources import Registry, ResourceType
from watchproxy.schema.crd import CRD_RESOURCE, served_by_crds
from watchproxy.shard import ShardBackend
from watchproxy.tenancy import Tenancy

log = logging.getLogger("watchproxy")
# How often each process looks for CRD changes in its cache: a CRD is served within about this
# much (plus its listing) after its Established condition reaches the cache.
CRD_POLL_SECONDS = 0.1


@dataclass
class ServedResource:
    resource: ResourceType
    cache: ResourceCache


class Proxy:
    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry()
        if self.registry.lookup(CRD_RESOURCE.group, "v1", CRD_RESOURCE.plural) is None:
            self.registry.add(CRD_RESOURCE)  # until the generated type table lists it
        self.tenancy = Tenancy(settings)
        self.codec = TokenCodec(self.tenancy.shard_names)
        by_name = {s.name: s for s in settings.shards}
        self.shards: list[ShardBackend] = []
        for index, name in enumerate(self.tenancy.shard_names):
            cfg = by_name[name]
            client = EtcdClient(
                cfg.endpoints,
                name=name,
                ca_file=cfg.tls.ca_file,
                cert_file=cfg.tls.cert_file,
                key_file=cfg.tls.key_file,
            )
            self.shards.append(
                ShardBackend(index=index, name=name, client=client, key_prefix=cfg.key_prefix)
            )
        # served_key(resource) -> its cache.
        self.served: dict[str, ServedResource] = {}
        for resource in self.registry.resources:
            self.served[served_key(resource)] = ServedResource(resource, self._new_cache())
        served = [(s.resource, s.cache) for s in self.served.values()]
        self.reflectors = [
            ShardReflector(shard=shard, served=served, page_size=settings.etcd_page_size)
            for shard in self.shards
        ]
        self.all_shards = frozenset(range(len(self.shards)))
        self.bookmarks = BookmarkTicker(settings.bookmark_interval_seconds)
        # (group, version, plural) -> the custom resource type served from a CRD.
        self.custom: dict[tuple[str, str, str], ResourceType] = {}
        self.registry.subscribe(self._registry_changed)

    def _new_cache(self) -> ResourceCache:
        return ResourceCache(
            shard_count=len(self.shards),
            history_size=self.settings.history_size,
            history_max_bytes=self.settings.history_max_bytes,
            expired_line=expired_line,
        )

    # -- custom resources ----------------------------------------------------------------------

    def sync_custom_resources(self) -> None:
        """Serve exactly the custom resources of the cached CRDs whose names are accepted."""
        crds = self.served[CRD_RESOURCE.key].cache
        objects = [orjson.loads(o.raw) for s in crds.shards for o in s.objects.values()]
        wanted = served_by_crds(objects)
        for path in [p for p in self.custom if p not in wanted]:
            del self.custom[path]
            self.registry.remove(*path)
        for path, resource in wanted.items():
            if _comparable(self.custom.get(path)) != _comparable(resource):
                self.custom[path] = resource
                self.registry.add(resource)

    def _registry_changed(self, resource: ResourceType, added: bool) -> None:
        """The registry's listener: a resource's cache and routes follow the registry."""
        if resource.virtual:
            return
        key = served_key(resource)
        old = self.served.get(key)
        if added and old is not None and _same_storage(old.resource, resource):
            # New schema, columns, names or storage version: same keys, same cache (the
            # cached objects carry the served version's apiVersion, whatever is stored).
            old.resource = resource
            for reflector in self.reflectors:
                reflector.update_route(resource, old.cache)
            return
        if old is not None:
            # As kube's CRD handler drops a deleted CRD's storage: its watches end. Only this
            # version's route goes; the CRD's other versions keep theirs.
            del self.served[key]
            for watcher in list(old.cache.dispatcher.all()):
                old.cache.stop(watcher)
            for shard, reflector in zip(self.shards, self.reflectors, strict=True):
                prefix = shard.resource_prefix(old.resource.storage_prefix)
                reflector.remove_route(prefix, old.cache)
        if added:
            cache = self._new_cache()
            self.served[key] = ServedResource(resource, cache)
            for reflector in self.reflectors:
                reflector.add_route(resource, cache)
        log.info(
            "%s %s/%s",
            "serving" if added else "stopped serving",
            resource.api_version,
            resource.plural,
        )

    async def _follow_crds(self) -> None:
        crds = self.served[CRD_RESOURCE.key].cache
        seen = -1
        while True:
            if crds.changes != seen:
                seen = crds.changes
                try:
                    self.sync_custom_resources()
                except Exception:  # a bad CRD must not stop the others from being served
                    log.exception("serving custom resources failed")
            await asyncio.sleep(CRD_POLL_SECONDS)

    def cache_of(self, resource: ResourceType) -> ResourceCache:
        """The cache serving `resource` (KeyError when it is not served)."""
        return self.served[served_key(resource)].cache

    def is_served(self, resource: ResourceType) -> bool:
        return served_key(resource) in self.served

    async def check_shards(self) -> None:
        """Fail start-up with one line naming the shard whose endpoints do not answer."""
        by_name = {s.name: i for i, s in enumerate(self.settings.shards)}
        for shard in self.shards:
            try:
                async with asyncio.timeout(self.settings.connect_timeout_seconds):
                    await shard.client.current_revision(shard.key_prefix.encode() + b"/")
            except (TimeoutError, EtcdError) as exc:
                raise ConfigError(
                    f"shards[{by_name[shard.name]}].endpoints: etcd not reachable"
                    f" ({', '.join(self.settings.shards[by_name[shard.name]].endpoints)}): {exc}"
                ) from exc

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Proxy]:
        """Run every reflector for the lifetime of the context; close clients after."""
        tasks: list[asyncio.Task[None]] = []
        await asyncio.gather(*(shard.detect_features() for shard in self.shards))
        try:
            for reflector in self.reflectors:
                tasks.append(
                    asyncio.create_task(reflector.run(), name=f"reflector@{reflector.shard.name}")
                )
            tasks.append(asyncio.create_task(self.bookmarks.run(), name="bookmarks"))
            tasks.append(asyncio.create_task(self._pump_progress(), name="progress"))
            tasks.append(asyncio.create_task(self._freeze_when_listed(), name="gc-freeze"))
            tasks.append(asyncio.create_task(self._follow_crds(), name="crds"))
            for task in tasks:
                task.add_done_callback(_log_crash)
            yield self
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for served in list(self.served.values()):
                for watcher in list(served.cache.dispatcher.all()):
                    served.cache.stop(watcher)
            await self.close()

    async def close(self) -> None:
        for shard in self.shards:
            await shard.client.close()

    async def _freeze_when_listed(self) -> None:
        """Once every cache has its first list, take the start-up heap out of the collector."""
        tune_for_cache()
        for served in list(self.served.values()):
            await served.cache.wait_until_fresh(dict.fromkeys(self.all_shards, 0))
        freeze_startup_heap()

    async def _pump_progress(self) -> None:
        """Ask etcd for progress on every idle shard stream now and then, so bookmarks and
        resumable revisions advance even though etcd's own notify interval defaults to 10
        minutes. Only where answers are ordered after events (etcd >= 3.5.13 / 3.4.31): the
        reflector sends nothing elsewhere."""
        while True:
            await asyncio.sleep(self.settings.progress_request_interval_seconds)
            for reflector in self.reflectors:
                reflector.request_progress()

    def end_watches(self) -> None:
        for served in list(self.served.values()):
            vector = served.cache.vector()
            for watcher in list(served.cache.dispatcher.all()):
                watcher.offer_bookmark(vector)
                served.cache.stop(watcher)

    def statistics(self) -> dict[str, object]:
        return {
            "pid": os.getpid(),
            "shards": [
                {
                    "name": s.name,
                    "etcd_version": s.version,
                    "trusts_requested_progress": s.trust_requested_progress,
                    "revision_reads": s.revision_reads,
                    "fallback_reads": s.fallback_reads,
                    "reflector": r.statistics(),
                }
                for s, r in zip(self.shards, self.reflectors, strict=True)
            ],
            "resources": {
                key: {
                    **_cache_stats(served.cache.statistics()),
                    # Every relist of a shard relists every resource of it.
                    "relists": sum(r.relists for r in self.reflectors),
                }
                for key, served in self.served.items()
            },
            "bookmarks_sent": self.bookmarks.sent,
        }


def _cache_stats(stats: CacheStatistics) -> dict[str, object]:
    """A cache's snapshot as /debug/stats shows it (the keys it had before the metrics)."""
    return {
        "revisions": list(stats.revisions),
        "objects": stats.objects,
        "watchers": stats.watchers,
        "lagging_watchers": stats.lagging_watchers,
        "watcher_queue_high_water": stats.watcher_queue_high_water,
        "history": stats.history,
        "history_high_water": stats.history_high_water,
        "history_bytes": stats.history_bytes,
        "events_dispatched": stats.events_dispatched,
        "watch_events_sent": stats.watch_events_sent,
        "watch_bytes_sent": stats.watch_bytes_sent,
    }


def served_key(resource: ResourceType) -> str:
    """The key of a resource's cache in `Proxy.served` (and /debug/stats): the registry key
    (`plural.group`) of a built-in type at its storage version; `plural.version.group`
    (kubectl's fully qualified form) of a custom resource, which has one cache per served
    version, and of a built-in type's other versions (autoscaling/v1 HPAs)."""
    if resource.custom is None and resource.storage_version == resource.version:
        return resource.key
    return f"{resource.plural}.{resource.version}.{resource.group}"


def _comparable(resource: ResourceType | None) -> ResourceType | None:
    """A type without its field getters (closures, never equal): what a CRD change compares."""
    return None if resource is None else replace(resource, fields={})


def _same_storage(old: ResourceType, new: ResourceType) -> bool:
    """Whether `new` can keep `old`'s cache: same keys, scope and selectable fields, and for a
    custom resource the same schema (cached objects were pruned and defaulted by it on read;
    kube's CRD handler builds a new storage, whose cache relists, when a CRD changes)."""
    return (
        old.storage_prefix == new.storage_prefix
        and old.namespaced == new.namespaced
        and old.version == new.version
        and set(old.fields) == set(new.fields)
        and (old.custom and old.custom.schema) == (new.custom and new.custom.schema)
    )


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s crashed", task.get_name(), exc_info=task.exception())
