"""One shard's part of a resource cache (`ShardState`: objects, indexes, revision, freshness
waiters) and the shard's `ShardClock`, the revision its etcd stream has proven delivered, which
the states of live routes follow (watchproxy/core/watch_cache.py says what a revision means;
decision 0020, second round, why one shared number).

Owner: the event loop; the shard's reflector writes, readers read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchproxy.core.objects import CachedObject

if TYPE_CHECKING:
    from watchproxy.core.watch_cache import ResourceCache


class ShardClock:
    """The revision up to which one shard's etcd stream has delivered every event (of every
    resource): the reflector's, shared by the ShardStates of that shard that follow it (live
    routes only: a cache still joining, or no longer routed, does not follow).

    `advance` raises it (never lowers it) and wakes the freshness waiters registered in
    `waiting` (cache -> shard index), so a raise costs O(1) plus the waiters, not O(caches).
    """

    __slots__ = ("revision", "waiting")

    def __init__(self, revision: int = 0) -> None:
        self.revision = revision
        self.waiting: dict[ResourceCache, int] = {}

    def advance(self, revision: int) -> None:
        """The stream has proven every event up to `revision` delivered (never lowers)."""
        if revision > self.revision:
            self.reset(revision)

    def reset(self, revision: int) -> None:
        """Set the revision (a relist: the list's revision) and wake the waiters it reaches."""
        self.revision = revision
        if self.waiting:
            for cache, shard in list(self.waiting.items()):
                state = cache.shards[shard]
                state.wake()
                if not state.waiters:
                    del self.waiting[cache]


@dataclass
class ShardState:
    """One shard's part of a resource cache. `revision` is max(`own`, the clock's)."""

    objects: dict[str, CachedObject] = field(default_factory=dict)
    by_namespace: dict[str, dict[str, CachedObject]] = field(default_factory=dict)
    by_trigger: dict[str, dict[str, CachedObject]] = field(default_factory=dict)
    own: int = 0  # raised by this resource's own events, lists and `progress`
    ready: bool = False
    sorted_keys: list[str] | None = None
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    clock: ShardClock | None = None  # the shard stream's proven revision, when following it

    @property
    def revision(self) -> int:
        clock = self.clock
        if clock is None or clock.revision <= self.own:
            return self.own
        return clock.revision

    def _index(self, obj: CachedObject) -> None:
        self.by_namespace.setdefault(obj.namespace, {})[obj.key] = obj
        if obj.trigger is not None:
            self.by_trigger.setdefault(obj.trigger, {})[obj.key] = obj

    def _unindex(self, obj: CachedObject) -> None:
        ns = self.by_namespace.get(obj.namespace)
        if ns is not None:
            ns.pop(obj.key, None)
            if not ns:
                del self.by_namespace[obj.namespace]
        if obj.trigger is not None:
            tr = self.by_trigger.get(obj.trigger)
            if tr is not None:
                tr.pop(obj.key, None)
                if not tr:
                    del self.by_trigger[obj.trigger]

    def put(self, obj: CachedObject) -> CachedObject | None:
        prev = self.objects.get(obj.key)
        if prev is not None:
            self._unindex(prev)
        else:
            self.sorted_keys = None
        self.objects[obj.key] = obj
        self._index(obj)
        return prev

    def remove(self, key: str) -> CachedObject | None:
        prev = self.objects.pop(key, None)
        if prev is not None:
            self._unindex(prev)
            self.sorted_keys = None
        return prev

    def keys_in_order(self) -> list[str]:
        if self.sorted_keys is None:
            self.sorted_keys = sorted(self.objects)
        return self.sorted_keys

    def wake(self) -> None:
        if not self.waiters:
            return
        keep = []
        reached = self.revision
        for target, fut in self.waiters:
            if reached >= target:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self.waiters = keep
