"""What the built-in controllers read from the watch cache, and the write helpers they share.

The cache is this process's copy of etcd, fed by one watch per shard (watchproxy/reflector.py):
listing it costs no etcd round trip, so a controller pass is a scan of dicts. It may lag etcd by
the watch delay, so a controller never *removes* anything on the cache's word alone: deletions
carry the object's uid as a precondition (kube's GC does the same), an owner missing from the
cache is looked up in etcd before its dependents go (kube's isDangling does a live GET), and a
namespace is finalized only after etcd itself has no content left in it.

Only the controllers' task reads these; nothing here mutates the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from watchproxy.api.status import ApiError
from watchproxy.core.objects import CachedObject
from watchproxy.etcd.client import EtcdError
from watchproxy.proxy import Proxy
from watchproxy.registry.deleting import delete
from watchproxy.registry.deletion import meta_of
from watchproxy.registry.errors import PreconditionFailed
from watchproxy.registry.objects import Written
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.resources import ResourceType

log = logging.getLogger("watchproxy.controllers")
JsonObject = dict[str, Any]
# Writes a controller keeps in flight at once (kube: --concurrent-gc-syncs=20,
# --concurrent-namespace-syncs=10); enough to hide etcd round trips, few enough not to flood it.
CONCURRENCY = 16
# Steps (or objects scanned) between two yields to the event loop: a full pass over 100,000
# objects must not hold up the requests this process serves (1-2 ms of work per yield).
YIELD_EVERY = 50


class Replaced(Exception):
    """The object under this name now has another uid: the decision was about an object that
    is gone, so nothing is written (kube: a UID precondition failure)."""


class Identity(Protocol):
    """Which object a controller decided about: its resource, name and uid (the GC's Item is
    one; ObjectId is another)."""

    @property
    def resource(self) -> ResourceType: ...

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ObjectId:
    """An Identity on its own (namespace "" for cluster-scoped objects)."""

    resource: ResourceType
    namespace: str
    name: str
    uid: str

    @classmethod
    def of(cls, resource: ResourceType, obj: CachedObject) -> ObjectId:
        return cls(resource, obj.namespace, obj.name, obj.uid)


def objects_of(
    proxy: Proxy, resource: ResourceType, namespace: str | None = None
) -> list[CachedObject]:
    """Every cached object of `resource` (in `namespace`, via the cache's namespace index)."""
    out: list[CachedObject] = []
    for state in proxy.cache_of(resource).shards:
        if namespace is None:
            out.extend(state.objects.values())
        else:
            out.extend((state.by_namespace.get(namespace) or {}).values())
    return out


def cached(proxy: Proxy, resource: ResourceType, namespace: str, name: str) -> CachedObject | None:
    """One cached object by name, on whichever shard holds it."""
    key = f"{namespace}/{name}" if resource.namespaced else name
    for state in proxy.cache_of(resource).shards:
        found = state.objects.get(key)
        if found is not None:
            return found
    return None


def decode(obj: CachedObject) -> JsonObject:
    """The cached object as a dict (a fresh copy: callers may keep or change it)."""
    out: JsonObject = orjson.loads(obj.raw)
    return out


async def wait_for_caches(proxy: Proxy) -> None:
    """Until every served resource has its first list from every shard (kube:
    WaitForCacheSync)."""
    for served in list(proxy.served.values()):  # custom resources come and go meanwhile
        await served.cache.wait_until_fresh(dict.fromkeys(proxy.all_shards, 0))


class CacheMark:
    """Where some caches stood: equal marks mean no event was applied and no shard relisted.

    The runner takes a controller's mark over the resources it watches, so a change elsewhere
    (a Lease renewal, for a controller that does not watch Leases) does not wake it. `seq`
    counts a cache's own events (not progress notifications); a relist installs new shard
    states, compared by identity (the mark keeps them alive, so an id is never reused while it
    is compared).
    """

    __slots__ = ("seqs", "states")

    def __init__(self, proxy: Proxy, resources: Iterable[ResourceType]) -> None:
        caches = [proxy.cache_of(r) for r in resources]
        self.seqs = tuple(cache.seq for cache in caches)
        self.states = tuple(state for cache in caches for state in cache.shards)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, CacheMark)
            and self.seqs == other.seqs
            and len(self.states) == len(other.states)
            and all(a is b for a, b in zip(self.states, other.states, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]


async def delete_by_uid(store: Store, target: Identity, options: DeleteOptions) -> Written | None:
    """DELETE with a UID precondition; None when the object is already gone or replaced.
    `options` carry no resourceVersion precondition (a failed one would read as replaced)."""
    try:
        return await delete(
            store,
            target.resource,
            target.namespace,
            target.name,
            replace(options, precondition_uid=target.uid),
        )
    except PreconditionFailed:
        return None  # another object under the name now: the one decided about is gone
    except ApiError as exc:
        if exc.code == 404:
            return None
        raise


async def update_by_uid(
    store: Store,
    target: Identity,
    mutate: Callable[[JsonObject], None],
    *,
    subresource: str = "",
) -> Written | None:
    """guaranteed_update of the object with `target.uid`; None when it is gone or replaced."""

    def guarded(obj: JsonObject) -> None:
        if meta_of(obj).get("uid") != target.uid:
            raise Replaced
        mutate(obj)

    try:
        return await store.guaranteed_update(
            target.resource, target.namespace, target.name, guarded, subresource=subresource
        )
    except Replaced:
        return None
    except ApiError as exc:
        if exc.code == 404:
            return None
        raise


async def run_bounded(steps: Iterable[Callable[[], Awaitable[None]]]) -> int:
    """Run `steps` with at most CONCURRENCY in flight; the number that failed.

    A step that fails with an API or etcd error is logged and counted (the next pass retries
    it, as kube's work queues requeue with backoff); any other error propagates.
    """
    pending = iter(steps)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for done, step in enumerate(pending, 1):  # shared: each step goes to one worker
            try:
                await step()
            except (ApiError, EtcdError) as exc:
                failed += 1
                log.warning("controller write failed (retried next pass): %s", exc)
            if done % YIELD_EVERY == 0:
                # Steps that decide "nothing to do" never suspend: let requests run.
                await asyncio.sleep(0)

    async with asyncio.TaskGroup() as group:
        for _ in range(CONCURRENCY):
            group.create_task(worker())
    return failed
