"""Proxy: everything one watchproxy process runs -- shard backends, one ResourceCache per
resource, one ShardReflector per shard (one etcd watch over the shard's whole key prefix, feeding
every resource cache; docs/decisions/0007) -- and the task group that owns the reflectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

from watchproxy.api.status import expired_line
from watchproxy.config import ConfigError, Settings
from watchproxy.core.bookmarks import BookmarkTicker
from watchproxy.core.rv import TokenCodec
from watchproxy.core.watch_cache import CacheStatistics, ResourceCache
from watchproxy.etcd.client import EtcdClient, EtcdError
from watchproxy.gc_tuning import freeze_startup_heap, tune_for_cache
from watchproxy.reflector import ShardReflector
from watchproxy.resources import Registry, ResourceType
from watchproxy.shard import ShardBackend
from watchproxy.tenancy import Tenancy

log = logging.getLogger("watchproxy")


@dataclass
class ServedResource:
    resource: ResourceType
    cache: ResourceCache


class Proxy:
    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.registry = registry or Registry()
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
        self.served: dict[str, ServedResource] = {}
        for resource in self.registry.resources:
            cache = ResourceCache(
                shard_count=len(self.shards),
                history_size=settings.history_size,
                history_max_bytes=settings.history_max_bytes,
                expired_line=expired_line,
            )
            self.served[resource.key] = ServedResource(resource, cache)
        served = [(s.resource, s.cache) for s in self.served.values()]
        self.reflectors = [
            ShardReflector(shard=shard, served=served, page_size=settings.etcd_page_size)
            for shard in self.shards
        ]
        self.all_shards = frozenset(range(len(self.shards)))
        self.bookmarks = BookmarkTicker(settings.bookmark_interval_seconds)

    def cache_of(self, resource: ResourceType) -> ResourceCache:
        return self.served[resource.key].cache

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
            for task in tasks:
                task.add_done_callback(_log_crash)
            yield self
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for served in self.served.values():
                for watcher in list(served.cache.dispatcher.all()):
                    served.cache.stop(watcher)
            await self.close()

    async def close(self) -> None:
        for shard in self.shards:
            await shard.client.close()

    async def _freeze_when_listed(self) -> None:
        """Once every cache has its first list, take the start-up heap out of the collector."""
        tune_for_cache()
        for served in self.served.values():
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
        for served in self.served.values():
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


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task %s crashed", task.get_name(), exc_info=task.exception())
