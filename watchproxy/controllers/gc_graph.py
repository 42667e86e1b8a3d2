"""The garbage collector's uid graph, kept up to date from the watch cache (kube:
pkg/controller/garbagecollector/graph.go and graph_builder.go).

kube's GraphBuilder turns informer events into graph changes and enqueues the nodes they affect.
Here the events are the watch cache's own: each resource cache numbers its events (`seq`) and
keeps them in its history, so `GraphBuilder.catch_up` replays what happened since its last call
-- O(changes), not O(objects). A relist of a shard, or a history that no longer reaches back,
rebuilds that resource's part from the cached objects and asks for a full evaluation.

Only objects that have `ownerReferences` or a `deletionTimestamp` become `Item`s; the test is a
byte search on the cached JSON, so other objects are never decoded.

Owner: the garbage collector's pass (one task). A rebuild yields to the event loop now and then;
nothing else here awaits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from watchproxy.controllers.cached import YIELD_EVERY, decode
from watchproxy.core.objects import CachedObject
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, meta_of
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class OwnerRef:
    """One metav1.OwnerReference (references without a uid are skipped: nothing to match)."""

    api_version: str
    kind: str
    name: str
    uid: str
    block: bool  # blockOwnerDeletion


@dataclass(frozen=True, slots=True)
class Item:
    """One object as the GC sees it (graph.go `node`). Two Items of one cache key are equal when
    nothing the GC decides on differs (a status update, a label change...)."""

    resource: ResourceType
    namespace: str
    name: str
    uid: str
    owners: tuple[OwnerRef, ...]
    deleting: bool  # metadata.deletionTimestamp is set
    finalizers: tuple[str, ...]

    @property
    def deleting_dependents(self) -> bool:
        """graph.go isDeletingDependents: being deleted with `foregroundDeletion`."""
        return self.deleting and FINALIZER_FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        """Being deleted with the `orphan` finalizer (attemptToOrphan's trigger)."""
        return self.deleting and FINALIZER_ORPHAN in self.finalizers

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.resource.key} {where}"


def parse_item(resource: ResourceType, obj: JsonObject) -> Item:
    """The GC's view of a decoded object (cluster-scoped objects get namespace "")."""
    meta = meta_of(obj)
    owners = []
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("uid"):
            owners.append(
                OwnerRef(
                    api_version=str(ref.get("apiVersion", "")),
                    kind=str(ref.get("kind", "")),
                    name=str(ref.get("name", "")),
                    uid=str(ref["uid"]),
                    block=ref.get("blockOwnerDeletion") is True,
                )
            )
    return Item(
        resource=resource,
        namespace=str(meta.get("namespace", "")) if resource.namespaced else "",
        name=str(meta.get("name", "")),
        uid=str(meta.get("uid", "")),
        owners=tuple(owners),
        deleting=bool(meta.get("deletionTimestamp")),
        finalizers=tuple(str(f) for f in meta.get("finalizers") or []),
    )


def item_of(resource: ResourceType, obj: CachedObject) -> Item | None:
    """The cached object's Item, or None when it has no owners and is not being deleted."""
    if b'"ownerReferences"' not in obj.raw and b'"deletionTimestamp"' not in obj.raw:
        return None
    item = parse_item(resource, decode(obj))
    return item if item.owners or item.deleting else None


class Graph:
    """Items by uid and, per owner uid, the uids of the items that reference it."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.dependents: dict[str, set[str]] = {}

    def put(self, item: Item) -> None:
        self.items[item.uid] = item
        for ref in item.owners:
            self.dependents.setdefault(ref.uid, set()).add(item.uid)

    def remove(self, item: Item) -> None:
        if self.items.get(item.uid) is item:
            del self.items[item.uid]
        for ref in item.owners:
            deps = self.dependents.get(ref.uid)
            if deps is not None:
                deps.discard(item.uid)
                if not deps:
                    del self.dependents[ref.uid]

    def dependents_of(self, uid: str) -> list[Item]:
        return [self.items[d] for d in self.dependents.get(uid, ()) if d in self.items]


@dataclass
class _Tracked:
    """Where one resource's part of the graph stands: the cache's shard states (by identity:
    a relist replaces them) and event seq, and the Items by (shard, cache key)."""

    states: tuple[Any, ...]
    seq: int
    items: dict[tuple[int, str], Item]


class GraphBuilder:
    """Keeps `graph` equal to the cached objects of `resources` that have owners or are being
    deleted, and tells which uids need a look after each catch-up."""

    def __init__(self, proxy: Proxy, resources: list[ResourceType]) -> None:
        self.proxy = proxy
        self.resources = resources
        self.graph = Graph()
        self._tracked: dict[str, _Tracked] = {}

    async def catch_up(self) -> tuple[set[str], bool]:
        """Apply every cache change since the last call: (uids to look at, whether a resource
        was rebuilt -- then every item needs a look, since a missed owner deletion leaves no
        trace)."""
        dirty: set[str] = set()
        rebuilt = False
        for resource in self.resources:
            rebuilt |= await self._catch_up(resource, dirty)
        return dirty, rebuilt

    async def _catch_up(self, resource: ResourceType, dirty: set[str]) -> bool:
        cache = self.proxy.cache_of(resource)
        states = tuple(cache.shards)
        tracked = self._tracked.get(resource.key)
        if tracked is not None and all(a is b for a, b in zip(tracked.states, states, strict=True)):
            if tracked.seq == cache.seq:
                return False
            history = cache.history
            if history.oldest_seq <= tracked.seq + 1:
                for event in history.after_seq(tracked.seq, cache.seq - tracked.seq):
                    where = (event.shard, event.key)
                    self._apply(resource, tracked, where, event.prev, event.obj, dirty)
                tracked.seq = cache.seq
                return False
        # First sight, a relist, or events gone from the history: rebuild this resource from a
        # snapshot taken with its seq (later events are replayed by the next catch-up), parsing
        # in slices so that the event loop keeps serving meanwhile.
        if tracked is not None:
            for stale in tracked.items.values():
                self.graph.remove(stale)
        tracked = _Tracked(states, cache.seq, {})
        self._tracked[resource.key] = tracked
        snapshot = [(shard, state.objects.copy()) for shard, state in enumerate(states)]
        scanned = 0
        for shard, objects in snapshot:
            for cache_key, obj in objects.items():
                found = item_of(resource, obj)
                if found is not None:
                    tracked.items[(shard, cache_key)] = found
                    self.graph.put(found)
                scanned += 1
                if scanned % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        return True

    def _apply(
        self,
        resource: ResourceType,
        tracked: _Tracked,
        key: tuple[int, str],
        prev: CachedObject | None,
        obj: CachedObject | None,
        dirty: set[str],
    ) -> None:
        """One cache event (graph_builder.go processGraphChanges), and who it concerns: the
        changed item itself, the dependents of an owner that is gone or started deleting, and
        the foreground-waiting owners of a dependent that changed or went."""
        old = tracked.items.pop(key, None)
        new = item_of(resource, obj) if obj is not None else None
        if old is not None and new is not None and old == new:
            tracked.items[key] = new
            self.graph.remove(old)
            self.graph.put(new)
            return
        if old is not None:
            self.graph.remove(old)
            for ref in old.owners:
                owner = self.graph.items.get(ref.uid)
                if owner is not None and owner.deleting_dependents:
                    dirty.add(owner.uid)
        if new is not None:
            tracked.items[key] = new
            self.graph.put(new)
            dirty.add(new.uid)
            if new.deleting:
                dirty.update(self.graph.dependents.get(new.uid, ()))
        if obj is None and prev is not None:
            dirty.update(self.graph.dependents.get(prev.uid, ()))
