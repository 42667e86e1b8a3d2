"""ShardReflector.add_route: a resource added at run time (a custom resource) joins the shard's
one stream without losing or repeating an event, however its listing interleaves with the
stream -- also when it is another version of a prefix already served, whose route stays live
(watchproxy/reflector.py, watchproxy/routing.py, docs/decisions/0015-custom-resources.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import orjson

from tests.unit.test_reflector import delete, put
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdClient, KeyValue, WatchEvent, WatchResponse
from watchproxy.reflector import ShardReflector
from watchproxy.resources import CustomResourceInfo, ResourceType
from watchproxy.shard import ShardBackend

WIDGETS = ResourceType("example.com", "v1", "Widget", "widgets", True, "example.com/widgets")
INFO = CustomResourceInfo(crd_name="widgets.example.com", storage_version="v1")
WIDGETS_V1 = replace(WIDGETS, custom=INFO)
WIDGETS_V1BETA1 = replace(WIDGETS, version="v1beta1", custom=INFO)
PREFIX = "/registry/example.com/widgets/"


class FakeEtcd:
    """An etcd keyspace with history: `list_paged` reads the state at the asked revision (0:
    the current one) once `gate` is set, and answers it once `release` is set, so a test
    decides what the stream does before the read and between the read and the answer."""

    def __init__(self) -> None:
        self.revision = 10
        self.history: list[WatchEvent] = []
        self.gate = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()
        self.listed_at: list[int] = []

    def write(self, name: str, *, deleted: bool = False) -> WatchEvent:
        self.revision += 1
        key = f"{PREFIX}ns/{name}"
        event = delete(key, self.revision) if deleted else put(key, self.revision, name)
        self.history.append(event)
        return event

    def state(self, revision: int) -> dict[str, int]:
        """cache key -> mod_revision of every live key at `revision`."""
        out: dict[str, int] = {}
        for event in self.history:
            if event.kv.mod_revision > revision:
                break
            key = event.kv.key.decode()[len(PREFIX) :]
            if event.is_delete:
                out.pop(key, None)
            else:
                out[key] = event.kv.mod_revision
        return out

    async def list_paged(
        self, prefix: bytes, *, revision: int, page_size: int = 10
    ) -> AsyncIterator[tuple[int, list[KeyValue]]]:
        await self.gate.wait()
        at = revision or self.revision
        self.listed_at.append(at)
        kvs = []
        for key, mod in self.state(at).items():
            name = key.split("/", 1)[1]
            meta = {"name": name, "namespace": "ns"}
            value = orjson.dumps({"apiVersion": "example.com/v1", "metadata": meta})
            kvs.append(KeyValue((PREFIX + key).encode(), value, mod, mod, 1))
        await self.release.wait()
        yield at, kvs


def joined() -> tuple[ShardReflector, FakeEtcd, ResourceCache]:
    shard = ShardBackend(
        index=0, name="a", client=EtcdClient(["http://127.0.0.1:1"]), key_prefix="/registry"
    )
    etcd = FakeEtcd()
    shard.client.list_paged = etcd.list_paged  # type: ignore[method-assign]
    refl = ShardReflector(shard=shard, served=[], page_size=10)
    refl.revision, refl.next_revision = 10, 11
    return refl, etcd, ResourceCache(shard_count=1, history_size=100, expired_line=lambda m: b"")


def cached(cache: ResourceCache) -> dict[str, int]:
    return {key: obj.revision for key, obj in cache.shards[0].objects.items()}


def deliver(refl: ShardReflector, *events: WatchEvent) -> None:
    refl.apply(WatchResponse(events[-1].kv.mod_revision, list(events)))


async def until_live(refl: ShardReflector) -> None:
    tasks = [j.task for j in refl._joining.values() if j.task is not None]
    await asyncio.gather(*tasks, return_exceptions=True)  # a relist may have cancelled them
    assert not refl._joining


async def test_events_during_the_listing_are_buffered_and_applied_after_it() -> None:
    refl, etcd, cache = joined()
    etcd.release.clear()
    deliver(refl, etcd.write("a"))  # before the route: skipped, in the list
    refl.add_route(WIDGETS, cache)
    deliver(refl, etcd.write("b"))  # after joining, before the list is read
    etcd.gate.set()
    await asyncio.sleep(0)  # the list is read now, at revision 12
    assert etcd.listed_at == [12] and refl._joining
    b_again = etcd.write("b")
    a_gone = etcd.write("a", deleted=True)
    deliver(refl, b_again, a_gone)  # after the list was read, before it is installed
    etcd.release.set()
    await until_live(refl)
    deliver(refl, etcd.write("c"))  # live
    assert etcd.listed_at == [12]
    assert cached(cache) == etcd.state(etcd.revision) == {"ns/b": 13, "ns/c": 15}
    assert cache.vector() == (15,)
    # The history has exactly the changes after the list: no event twice, none lost.
    assert [(e.revision, e.key, e.obj is None) for e in cache.history.after_seq(0, 100)] == [
        (13, "ns/b", False),
        (14, "ns/a", True),
        (15, "ns/c", False),
    ]


async def test_events_the_list_already_holds_are_dropped_when_the_stream_catches_up() -> None:
    refl, etcd, cache = joined()
    refl.add_route(WIDGETS, cache)
    behind = [etcd.write("a"), etcd.write("b"), etcd.write("a", deleted=True)]
    etcd.gate.set()
    await until_live(refl)  # listed at 13, ahead of the stream (still at 10)
    assert etcd.listed_at == [13] and cached(cache) == {"ns/b": 12}
    deliver(refl, *behind)  # at or below 13: already in the list, must not resurrect "a"
    deliver(refl, etcd.write("c"))
    assert cached(cache) == etcd.state(etcd.revision) == {"ns/b": 12, "ns/c": 14}
    assert [e.revision for e in cache.history.after_seq(0, 100)] == [14]


async def test_a_relist_while_joining_lists_the_route_too() -> None:
    refl, etcd, cache = joined()
    refl.add_route(WIDGETS, cache)
    deliver(refl, etcd.write("a"))
    refl.next_revision = 0  # the stream's revision was compacted: the shard relists
    etcd.write("b")  # never delivered by the old stream
    etcd.gate.set()
    await refl.relist()
    await until_live(refl)
    assert cached(cache) == {"ns/a": 11, "ns/b": 12}
    assert refl.route(f"{PREFIX}ns/x".encode()) is not None


async def test_a_route_added_during_a_relist_is_in_its_snapshot() -> None:
    """The route's own listing would be older than the relist, whose watch starts after it:
    events between the two would never arrive. The relist lists it at its own revision."""
    refl, etcd, cache = joined()
    gadgets = ResourceCache(shard_count=1, history_size=100, expired_line=lambda m: b"")
    refl.add_route(WIDGETS, gadgets)  # any route: the relist has something to list first
    etcd.gate.set()
    await until_live(refl)
    etcd.release.clear()
    relist = asyncio.create_task(refl.relist())
    await asyncio.sleep(0)  # the relist reads its first route at 10 and waits
    refl.remove_route(PREFIX.encode())
    refl.add_route(WIDGETS, cache)  # joins now; its own listing reads at 10 too
    await asyncio.sleep(0)
    etcd.write("a")  # after both reads, never delivered by the old (compacted) stream
    etcd.release.set()
    await relist
    await until_live(refl)
    assert refl.next_revision == 11 and cached(cache) == {}
    deliver(refl, etcd.write("b"))
    assert cached(cache) == {"ns/b": 12}  # "a" (11) comes with the watch from 11


async def test_removed_route_skips_its_keys() -> None:
    refl, etcd, cache = joined()
    refl.add_route(WIDGETS, cache)
    etcd.gate.set()
    await until_live(refl)
    refl.remove_route(PREFIX.encode())
    deliver(refl, etcd.write("a"))
    assert cached(cache) == {} and refl.skipped_events == 1
    assert cache.progress_requesters == {}


def new_cache() -> ResourceCache:
    return ResourceCache(shard_count=1, history_size=100, expired_line=lambda m: b"")


def api_versions(cache: ResourceCache) -> set[str]:
    return {orjson.loads(o.raw)["apiVersion"] for o in cache.shards[0].objects.values()}


def history(cache: ResourceCache) -> list[tuple[int, str, bool]]:
    return [(e.revision, e.key, e.obj is None) for e in cache.history.after_seq(0, 100)]


async def test_a_version_added_to_a_served_prefix_joins_while_the_other_stays_live() -> None:
    """A CRD update adds v1beta1 to the served v1: v1's cache goes on receiving every event
    exactly once while v1beta1 lists and buffers; then both hold the same keys, each object
    with its own apiVersion."""
    refl, etcd, v1 = joined()
    refl.add_route(WIDGETS_V1, v1)
    etcd.gate.set()
    await until_live(refl)
    deliver(refl, etcd.write("a"))
    etcd.gate.clear()
    etcd.release.clear()
    v1beta1 = new_cache()
    refl.add_route(WIDGETS_V1BETA1, v1beta1)
    assert [r.resource.version for r in refl.table.lookup(f"{PREFIX}ns/x".encode())] == [
        "v1",
        "v1beta1",
    ]
    deliver(refl, etcd.write("b"))  # v1: applied; v1beta1: buffered (its list is not read yet)
    assert cached(v1) == {"ns/a": 11, "ns/b": 12} and cached(v1beta1) == {}
    etcd.gate.set()
    await asyncio.sleep(0)  # v1beta1's list is read at 12
    deliver(refl, etcd.write("a", deleted=True))  # buffered for v1beta1 (newer than its list)
    etcd.release.set()
    await until_live(refl)
    deliver(refl, etcd.write("c"))
    state = etcd.state(etcd.revision)
    assert cached(v1) == cached(v1beta1) == state == {"ns/b": 12, "ns/c": 14}
    assert history(v1) == [
        (11, "ns/a", False),
        (12, "ns/b", False),
        (13, "ns/a", True),
        (14, "ns/c", False),
    ]
    assert history(v1beta1) == [(13, "ns/a", True), (14, "ns/c", False)]
    assert api_versions(v1) == {"example.com/v1"}
    assert api_versions(v1beta1) == {"example.com/v1beta1"}
    assert v1.vector() == v1beta1.vector() == (14,)


async def test_removing_one_version_keeps_the_others_route() -> None:
    refl, etcd, v1 = joined()
    v1beta1 = new_cache()
    refl.add_route(WIDGETS_V1, v1)
    refl.add_route(WIDGETS_V1BETA1, v1beta1)
    etcd.gate.set()
    await until_live(refl)
    refl.remove_route(PREFIX.encode(), v1beta1)
    deliver(refl, etcd.write("a"))
    assert cached(v1) == {"ns/a": 11} and cached(v1beta1) == {}
    assert refl.skipped_events == 0 and v1beta1.progress_requesters == {}
    assert [r.cache for r in refl.routes] == [v1]


async def test_a_relist_reads_a_prefix_once_for_every_version() -> None:
    refl, etcd, v1 = joined()
    v1beta1 = new_cache()
    refl.add_route(WIDGETS_V1, v1)
    refl.add_route(WIDGETS_V1BETA1, v1beta1)
    etcd.write("a")
    refl.next_revision = 0
    etcd.gate.set()
    await refl.relist()
    await until_live(refl)
    assert etcd.listed_at == [11]  # one read of the prefix, two caches filled from it
    assert cached(v1) == cached(v1beta1) == {"ns/a": 11}
    assert api_versions(v1beta1) == {"example.com/v1beta1"}
    undecodable = WatchEvent(False, KeyValue(f"{PREFIX}ns/a".encode(), b"[", 11, 12, 2), None)
    deliver(refl, undecodable, put(f"{PREFIX}ns/b", 13, "b"))
    assert cached(v1) == cached(v1beta1) == {"ns/b": 13}  # an undecodable value: a deletion
    assert refl.events == 2  # an event counts once, however many versions it feeds


async def test_a_joining_cache_does_not_follow_the_shard_clock_until_live() -> None:
    """Decision 0020, second round: the shard's clock proves only what live routes applied; a
    cache whose route joins again (buffered, not applied) keeps its revision until it is live."""
    refl, etcd, cache = joined()
    etcd.gate.set()
    refl.add_route(WIDGETS, cache)
    await until_live(refl)
    deliver(refl, put("/registry/leases/ns/l", 11))
    assert cache.vector() == (11,)  # live: follows the other resources' events
    etcd.gate.clear()
    etcd.revision = 11
    refl.add_route(WIDGETS_V1, cache)  # joins again (its former route is replaced)
    deliver(refl, etcd.write("a"))  # buffered for the joining route
    assert cache.vector() == (11,) and cache.behind({0: 12}) == {0: 12}
    etcd.gate.set()
    await until_live(refl)
    assert cached(cache) == {"ns/a": 12} and cache.vector() == (12,)
    deliver(refl, put("/registry/leases/ns/l", 13))
    assert cache.vector() == (13,)  # live again: follows the clock
