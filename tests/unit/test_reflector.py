"""ShardReflector without etcd: routing of the shard's one stream into the resource caches, and
which responses prove freshness (docs/decisions/0007-one-watch-per-shard.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdClient, KeyValue, WatchEvent, WatchResponse
from watchproxy.reflector import ShardReflector
from watchproxy.resources import Registry
from watchproxy.shard import ShardBackend

REGISTRY = Registry()


def reflector(*, trusted: bool = False) -> tuple[ShardReflector, dict[str, ResourceCache]]:
    # The client opens no connection until used; nothing here uses it.
    shard = ShardBackend(
        index=0, name="a", client=EtcdClient(["http://127.0.0.1:1"]), key_prefix="/registry"
    )
    shard.trust_requested_progress = trusted
    caches = {
        r.key: ResourceCache(shard_count=1, history_size=100, expired_line=lambda m: b"")
        for r in REGISTRY.resources
    }
    served = [(r, caches[r.key]) for r in REGISTRY.resources]
    refl = ShardReflector(shard=shard, served=served, page_size=10)
    for cache in caches.values():
        cache.replace(0, [], 10)
    return refl, caches


def put(key: str, revision: int, name: str = "x", ns: str = "ns") -> WatchEvent:
    value = orjson.dumps({"metadata": {"name": name, "namespace": ns}})
    return WatchEvent(False, KeyValue(key.encode(), value, revision, revision, 1), None)


def delete(key: str, revision: int) -> WatchEvent:
    return WatchEvent(True, KeyValue(key.encode(), b"", 0, revision, 0), None)


def test_routes_by_longest_storage_prefix() -> None:
    refl, _ = reflector()

    def plural(key: str) -> str | None:
        route = refl.route(key.encode())
        return None if route is None else route.resource.plural

    assert plural("/registry/services/specs/ns/a") == "services"
    assert plural("/registry/services/endpoints/ns/a") == "endpoints"
    assert plural("/registry/minions/node-1") == "nodes"
    assert plural("/registry/leases/ns/l") == "leases"
    assert plural("/registry/services/other/ns/a") is None
    assert plural("/registry/replicasets/ns/a") == "replicasets"
    assert plural("/registry/controllers/ns/a") == "replicationcontrollers"
    assert plural("/registry/ingress/ns/a") == "ingresses"
    assert plural("/registry/podsecuritypolicy/a") is None  # a resource not served
    assert plural("/registry/configmaps/") is None  # the prefix itself is no object
    assert plural("/registry/configmapsx/ns/a") is None
    assert plural("/other/configmaps/ns/a") is None
    assert plural("compact_rev_key") is None


def test_an_event_of_one_resource_raises_every_cache() -> None:
    refl, caches = reflector()
    refl.apply(WatchResponse(11, [put("/registry/leases/ns/l", 11, "l")]))
    assert caches["leases.coordination.k8s.io"].shards[0].objects.keys() == {"ns/l"}
    assert {c.vector() for c in caches.values()} == {(11,)}
    assert caches["configmaps"].behind({0: 11}) == {}
    assert refl.next_revision == 12 and refl.events == 1


def test_unknown_keys_are_skipped_but_advance_the_revision() -> None:
    refl, caches = reflector()
    refl.apply(
        WatchResponse(
            14,
            [
                put("/registry/podsecuritypolicy/ns/r", 12),
                put("/registry/services/specs/ns/s", 13, "s"),
                put("/registry/services/endpoints/ns/s", 13, "s"),
                put("/registry/widgets/ns/w", 14),
            ],
        )
    )
    assert refl.skipped_events == 2 and refl.events == 2
    assert caches["services"].shards[0].objects.keys() == {"ns/s"}
    assert caches["endpoints"].shards[0].objects.keys() == {"ns/s"}
    assert {c.vector() for c in caches.values()} == {(14,)}
    assert refl.next_revision == 15
    refl.apply(WatchResponse(15, [delete("/registry/services/specs/ns/s", 15)]))
    assert caches["services"].shards[0].objects == {}
    assert caches["endpoints"].shards[0].objects.keys() == {"ns/s"}


def test_undecodable_value_is_a_deletion() -> None:
    refl, caches = reflector()
    refl.apply(WatchResponse(11, [put("/registry/configmaps/ns/c", 11, "c")]))
    bad = WatchEvent(False, KeyValue(b"/registry/configmaps/ns/c", b"not json", 11, 12, 2), None)
    refl.apply(WatchResponse(12, [bad]))
    assert caches["configmaps"].shards[0].objects == {}
    assert caches["configmaps"].vector() == (12,)


def test_requested_progress_proves_nothing_on_old_etcd() -> None:
    """etcd < 3.5.13 answers a progress request ahead of events in flight (etcd#15220)."""
    refl, caches = reflector(trusted=False)
    refl.apply(WatchResponse(50, [], requested_progress=True))
    assert {c.vector() for c in caches.values()} == {(10,)}
    assert refl.next_revision == 0 and refl.ignored_progress == 1
    # A periodic notification is ordered after events on every 3.5: it raises every cache.
    refl.apply(WatchResponse(50, []))
    assert {c.vector() for c in caches.values()} == {(50,)}
    assert refl.next_revision == 51 and refl.progress_notifications == 1


def test_requested_progress_raises_every_cache_where_ordered() -> None:
    refl, caches = reflector(trusted=True)
    refl.apply(WatchResponse(50, [], requested_progress=True))
    assert {c.vector() for c in caches.values()} == {(50,)}
    assert refl.next_revision == 51


async def test_every_cache_follows_the_shard_clock_at_once() -> None:
    """Decision 0020, second round: after a response with events every live cache of the shard
    is at its last revision at once (one shared ShardClock, no deferred raise), and a reader
    waiting for a revision another resource's event proves is woken by it."""
    refl, caches = reflector()
    leases, configmaps = caches["leases.coordination.k8s.io"], caches["configmaps"]
    refl.apply(WatchResponse(11, [put("/registry/leases/ns/l", 11, "l")]))
    assert {c.vector() for c in caches.values()} == {(11,)}
    assert configmaps.behind({0: 11}) == {} and configmaps.shards[0].own == 10
    assert refl.revision == 11 and refl.next_revision == 12

    waiting = asyncio.ensure_future(configmaps.wait_until_fresh({0: 13}))
    await asyncio.sleep(0)
    assert not waiting.done() and refl.clock.waiting == {configmaps: 0}
    refl.apply(WatchResponse(12, [put("/registry/leases/ns/l", 12, "l")]))
    await asyncio.sleep(0)
    assert not waiting.done()
    refl.apply(WatchResponse(13, [put("/registry/leases/ns/l", 13, "l")]))
    await asyncio.wait_for(waiting, 0.05)  # woken by the clock, not by its 100 ms poll
    assert refl.clock.waiting == {}
    # A progress notification moves every cache too.
    refl.apply(WatchResponse(16, []))
    assert {c.vector() for c in caches.values()} == {(16,)}
    assert leases.shards[0].own == 13


def test_a_removed_route_stops_following_the_clock_without_going_back() -> None:
    refl, caches = reflector()
    configmaps = caches["configmaps"]
    refl.apply(WatchResponse(11, [put("/registry/leases/ns/l", 11, "l")]))
    refl.remove_route(b"/registry/configmaps/")
    refl.apply(WatchResponse(12, [put("/registry/leases/ns/l", 12, "l")]))
    assert configmaps.vector() == (11,)  # no longer fed: not proven beyond what it had
    assert caches["secrets"].vector() == (12,)


async def test_the_retry_pause_starts_over_after_the_watch_streamed(monkeypatch: Any) -> None:
    """Pauses double while etcd stays down (50 ms, 100 ms, ...); a watch that came back and
    streamed before it broke again starts over at 50 ms (review finding: it went on at 2 s)."""
    from watchproxy.etcd.client import EtcdUnavailable

    refl, _ = reflector()
    refl.next_revision = 5  # no relist: straight to the watch
    script = ["down", "down", "down", "streamed", "down", "stop"]
    pauses: list[float] = []
    real_sleep = asyncio.sleep

    async def watch_once() -> None:
        step = script.pop(0)
        if step == "stop":
            raise asyncio.CancelledError
        if step == "streamed":
            refl.events += 3
        raise EtcdUnavailable("etcd is down")

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(refl, "watch_once", watch_once)
    monkeypatch.setattr("watchproxy.reflector.asyncio.sleep", sleep)
    try:
        await refl.run()
    except asyncio.CancelledError:
        pass
    assert pauses == [0.05, 0.1, 0.2, 0.05, 0.1]
