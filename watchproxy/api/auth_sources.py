"""The watch cache as authenticators and authorizers read it (watchproxy/auth/sources.py).

Cached objects hold their encoded bytes; auth wants dicts. Decoded dicts are memoised per cached
object version (the memo entry is dropped when the cache holds a newer version), so RBAC's
indexes, ServiceAccount lookups and the Node graph decode each version once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson

from watchproxy.core.objects import CachedObject
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

# Decoded objects kept; past it the memo starts over (a memo, not a second cache).
_MEMO_LIMIT: Final = 50_000


class CacheObjectSource:
    """ObjectSource over a running Proxy's caches.

    Owner: the event loop (read-only use from request handlers). Objects returned are shared:
    callers never mutate them.
    """

    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self._memo: dict[int, tuple[CachedObject, JsonObject]] = {}

    def _resource(self, key: str) -> ResourceType | None:
        resource = self._proxy.registry.by_key(key)
        if resource is None or resource.virtual:
            return None
        return resource

    def _decode(self, cached: CachedObject) -> JsonObject:
        hit = self._memo.get(id(cached))
        if hit is not None and hit[0] is cached:
            return hit[1]
        obj: JsonObject = orjson.loads(cached.raw)
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[id(cached)] = (cached, obj)
        return obj

    def _states(self, resource: ResourceType, namespace: str) -> Iterator[int]:
        if resource.namespaced and namespace:
            yield self._proxy.tenancy.shard_of_namespace(namespace)
        else:
            yield from range(self._proxy.tenancy.shard_count)

    def get(self, resource: str, namespace: str, name: str) -> JsonObject | None:
        rt = self._resource(resource)
        if rt is None:
            return None
        key = f"{namespace}/{name}" if rt.namespaced else name
        cache = self._proxy.cache_of(rt)
        for shard in self._states(rt, namespace):
            cached = cache.shards[shard].objects.get(key)
            if cached is not None:
                return self._decode(cached)
        return None

    def list(self, resource: str, namespace: str | None = None) -> Iterable[JsonObject]:
        rt = self._resource(resource)
        if rt is None:
            return []
        cache = self._proxy.cache_of(rt)
        out: list[JsonObject] = []
        for shard in self._states(rt, namespace or ""):
            state = cache.shards[shard]
            objects = (
                state.by_namespace.get(namespace, {}).values()
                if rt.namespaced and namespace
                else state.objects.values()
            )
            out.extend(self._decode(o) for o in objects)
        return out

    def pods_on_node(self, node: str) -> Iterable[JsonObject]:
        pods = self._proxy.registry.lookup("", "v1", "pods")
        assert pods is not None
        cache = self._proxy.cache_of(pods)
        out: list[JsonObject] = []
        for state in cache.shards:
            out.extend(self._decode(o) for o in state.by_trigger.get(node, {}).values())
        return out

    def generation(self, resource: str) -> int:
        rt = self._resource(resource)
        return -1 if rt is None else self._proxy.cache_of(rt).changes
