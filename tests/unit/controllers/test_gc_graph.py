"""The GC's graph kept from the watch cache's event history (controllers/gc_graph.py): which
items a change concerns (graph_builder.go processGraphChanges), and a rebuild after a relist or a
history gap. Real ResourceCaches, fed as the reflector feeds them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson

from watchproxy.controllers.gc_graph import GraphBuilder
from watchproxy.core.objects import CachedObject, build_object
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.resources import Registry, ResourceType

REGISTRY = Registry()


def res(plural: str) -> ResourceType:
    found = REGISTRY.lookup("", "v1", plural)
    assert found is not None
    return found


CONFIGMAPS, SECRETS = res("configmaps"), res("secrets")


def no_line(message: str) -> bytes:
    return b""


class Cluster:
    """Two resources' caches on one shard, a revision counter, and a builder over them."""

    def __init__(self, history_size: int = 100) -> None:
        self.caches = {
            r.key: ResourceCache(shard_count=1, history_size=history_size, expired_line=no_line)
            for r in (CONFIGMAPS, SECRETS)
        }
        for cache in self.caches.values():
            cache.replace(0, [], 1)
        self.revision = 1
        proxy: Any = SimpleNamespace(cache_of=lambda r: self.caches[r.key])
        self.builder = GraphBuilder(proxy, [CONFIGMAPS, SECRETS])

    def put(self, resource: ResourceType, name: str, uid: str, **meta: Any) -> CachedObject:
        self.revision += 1
        body = {"metadata": {"name": name, "namespace": "ns", "uid": uid, **meta}}
        obj = build_object(resource, f"ns/{name}", orjson.dumps(body), self.revision)
        self.caches[resource.key].apply(0, f"ns/{name}", obj, self.revision)
        return obj

    def delete(self, resource: ResourceType, name: str) -> None:
        self.revision += 1
        self.caches[resource.key].apply(0, f"ns/{name}", None, self.revision)


def owned_by(uid: str, *, block: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": f"n-{uid}",
            "uid": uid,
            "blockOwnerDeletion": block,
        }
    ]


async def test_first_catch_up_builds_the_graph_and_asks_for_everything() -> None:
    c = Cluster()
    c.put(CONFIGMAPS, "owner", "o")
    c.put(SECRETS, "dep", "d", ownerReferences=owned_by("o"))
    _, rebuilt = await c.builder.catch_up()
    assert rebuilt and set(c.builder.graph.items) == {"d"}  # plain objects are not items
    assert await c.builder.catch_up() == (set(), False)  # nothing changed: nothing to look at


async def test_changes_concern_the_item_its_dependents_and_waiting_owners() -> None:
    c = Cluster()
    c.put(CONFIGMAPS, "owner", "o")
    c.put(SECRETS, "dep", "d", ownerReferences=owned_by("o", block=True))
    await c.builder.catch_up()

    c.put(SECRETS, "dep", "d", ownerReferences=owned_by("o", block=True), labels={"a": "b"})
    assert await c.builder.catch_up() == (set(), False)  # nothing the GC decides on changed

    c.put(SECRETS, "new", "n", ownerReferences=owned_by("o"))
    assert await c.builder.catch_up() == ({"n"}, False)

    c.delete(CONFIGMAPS, "owner")  # a plain owner goes: its dependents may be dangling
    assert await c.builder.catch_up() == ({"d", "n"}, False)

    c.put(
        CONFIGMAPS,
        "fg",
        "f",
        deletionTimestamp="2026-01-01T00:00:00Z",
        finalizers=["foregroundDeletion"],
    )
    c.put(SECRETS, "blocker", "b", ownerReferences=owned_by("f", block=True))
    dirty, _ = await c.builder.catch_up()
    assert dirty == {"f", "b"}
    c.delete(SECRETS, "blocker")  # a blocking dependent goes: its waiting owner may finish
    assert await c.builder.catch_up() == ({"f"}, False)
    assert c.builder.graph.dependents_of("f") == []


async def test_an_owner_starting_deletion_concerns_its_dependents() -> None:
    c = Cluster()
    c.put(CONFIGMAPS, "owner", "o")
    c.put(SECRETS, "dep", "d", ownerReferences=owned_by("o"))
    await c.builder.catch_up()
    c.put(CONFIGMAPS, "owner", "o", deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["orphan"])
    dirty, rebuilt = await c.builder.catch_up()
    assert (dirty, rebuilt) == ({"o", "d"}, False)
    assert c.builder.graph.items["o"].orphaning


async def test_history_gap_and_relist_rebuild() -> None:
    c = Cluster(history_size=2)
    c.put(SECRETS, "dep", "d", ownerReferences=owned_by("o"))
    await c.builder.catch_up()
    for i in range(3):  # more events than the history holds
        c.put(SECRETS, f"x{i}", f"x{i}", ownerReferences=owned_by("o"))
    _, rebuilt = await c.builder.catch_up()
    assert rebuilt and set(c.builder.graph.items) == {"d", "x0", "x1", "x2"}

    cache = c.caches[SECRETS.key]
    kept = cache.shards[0].objects["ns/dep"]
    cache.replace(0, [kept], c.revision + 1)  # a relist without the x objects
    _, rebuilt = await c.builder.catch_up()
    assert rebuilt and set(c.builder.graph.items) == {"d"}
    assert c.builder.graph.dependents == {"o": {"d"}}
