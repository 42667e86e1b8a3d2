"""The routing table of one shard's reflector (watchproxy/reflector.py): which caches an etcd key
feeds.

A route is one served resource version and its cache, under the resource's key prefix
(`/registry/services/specs/`). A key belongs to the routes of the longest prefix it starts with
(`services/specs` and `services/endpoints` share `services/`). Several routes may share one
prefix: the served versions of a CustomResourceDefinition (conversion `None`) are views of the
same keys, each cache holding the objects encoded once with its own apiVersion
(docs/decisions/0015-custom-resources.md).

A route added at run time is *joining* until its first list is installed: the reflector buffers
its events (`Joining.buffer`) meanwhile. Joining is per route, not per prefix, so a version
added to a CRD already served joins while the other versions of its prefix stay live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from watchproxy.core.objects import CachedObject, build_from_dict
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import KeyValue
from watchproxy.resources import ResourceType

log = logging.getLogger("watchproxy.reflector")


@dataclass(frozen=True, slots=True)
class Route:
    """One served resource (version) within a shard: its key prefix and its cache."""

    resource: ResourceType
    cache: ResourceCache
    prefix: bytes  # b"/registry/services/specs/"
    # Events at or below this revision are already in the route's list (a route added at run
    # time, listed ahead of the stream); 0 for routes listed by the shard's relist.
    since: int = 0


@dataclass(slots=True)
class Joining:
    """A route added at run time, until its first list is installed."""

    buffer: list[tuple[str, KeyValue, bool]] = field(default_factory=list)  # key, kv, deleted
    task: asyncio.Task[None] | None = None


class RouteTable:
    """The routes of one shard, indexed by the first path segment under the shard prefix."""

    def __init__(self, shard_prefix: bytes, routes: list[Route]) -> None:
        self.shard_prefix = shard_prefix
        self.routes = routes
        # Routes still listing, by their cache's id (a cache has one route per shard).
        self.joining: dict[int, Joining] = {}
        # The caches the stream's progress raises: those of live routes.
        self.live_caches: list[ResourceCache] = []
        self._by_segment: dict[bytes, list[tuple[bytes, tuple[Route, ...]]]] = {}
        self.reindex()

    def reindex(self) -> None:
        """Rebuild the index after `routes` or `joining` changed."""
        groups: dict[bytes, list[Route]] = {}
        for route in self.routes:
            groups.setdefault(route.prefix, []).append(route)
        self._by_segment = {}
        for prefix in sorted(groups, key=lambda p: -len(p)):
            segment = prefix[len(self.shard_prefix) :].split(b"/", 1)[0]
            self._by_segment.setdefault(segment, []).append((prefix, tuple(groups[prefix])))
        self.live_caches = [r.cache for r in self.routes if id(r.cache) not in self.joining]

    def lookup(self, key: bytes) -> tuple[Route, ...]:
        """The routes owning `key` (those of the longest prefix it starts with), or ()."""
        start = len(self.shard_prefix)
        end = key.find(b"/", start)
        if end < 0 or not key.startswith(self.shard_prefix):
            return ()
        for prefix, routes in self._by_segment.get(key[start:end], ()):
            if len(key) > len(prefix) and key.startswith(prefix):
                return routes
        return ()

    def of_cache(self, cache: ResourceCache) -> Route | None:
        return next((r for r in self.routes if r.cache is cache), None)

    def add_joining(self, route: Route) -> Joining:
        """Add `route` in the joining state (its cache's former route, if any, is removed)."""
        self.remove(lambda r: r.cache is route.cache)
        joining = Joining()
        self.routes.append(route)
        self.joining[id(route.cache)] = joining
        self.reindex()
        return joining

    def update(self, match: Callable[[Route], bool], resource: ResourceType) -> None:
        """Serve the matching routes as `resource` from now on (same caches)."""
        self.routes = [replace(r, resource=resource) if match(r) else r for r in self.routes]
        self.reindex()

    def remove(self, match: Callable[[Route], bool]) -> list[Route]:
        """Drop the matching routes (cancelling their listings); the removed ones."""
        gone = [r for r in self.routes if match(r)]
        for route in gone:
            joining = self.joining.pop(id(route.cache), None)
            if joining is not None and joining.task is not None:
                joining.task.cancel()
        if gone:
            self.routes = [r for r in self.routes if not match(r)]
            self.reindex()
        return gone

    def go_live(self, cache: ResourceCache, since: int) -> None:
        """The route of `cache` has its list (at `since`): no longer joining."""
        del self.joining[id(cache)]
        self.routes = [replace(r, since=since) if r.cache is cache else r for r in self.routes]
        self.reindex()

    def all_live(self) -> None:
        """A relist listed every route: none is joining, none has a `since`."""
        for joining in self.joining.values():
            if joining.task is not None:
                joining.task.cancel()
        self.joining.clear()
        self.routes = [replace(r, since=0) for r in self.routes]
        self.reindex()


class OneValue:
    """One etcd value, decoded at most once, built into a CachedObject for each route of its
    prefix: each version of a custom resource gets its own bytes, encoded once (decision 0003)."""

    __slots__ = ("_decoded", "_undecodable", "key", "kv", "shard")

    def __init__(self, shard: str, key: str, kv: KeyValue) -> None:
        self.shard, self.key, self.kv = shard, key, kv
        self._decoded: dict[str, Any] | None = None
        self._undecodable = False

    def build(self, resource: ResourceType, copy: bool) -> CachedObject | None:
        """The object as `resource` serves it; None (logged once) for a value that is no JSON
        object. `copy`: other routes build from the same decoded value after this one."""
        if self._decoded is None and not self._undecodable:
            try:
                value = orjson.loads(self.kv.value)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                self._decoded = value
            else:
                self._undecodable = True
                log.warning("skipping undecodable value on shard %s: %s", self.shard, self.key)
        if self._decoded is None:
            return None
        obj = dict(self._decoded) if copy else self._decoded
        return build_from_dict(resource, self.key, obj, self.kv.mod_revision)
