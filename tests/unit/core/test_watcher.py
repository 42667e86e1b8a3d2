"""CacheWatcher resourceVersions: WatchList initial events of merged watches carry tokens with the
object's own revision; a lagging watcher knows the position it has delivered."""

from __future__ import annotations

from typing import Any

from tests.unit.core.watchers import CODEC, drain, watcher
from watchproxy.core.objects import build_from_dict
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.resources import Registry

CONFIGMAPS = Registry().lookup("", "v1", "configmaps")
assert CONFIGMAPS is not None


def cm(name: str, ns: str, rev: int) -> Any:
    return build_from_dict(CONFIGMAPS, f"{ns}/{name}", {"metadata": {"name": name}}, rev)


async def test_merged_initial_events_carry_the_objects_own_revision() -> None:
    cache = ResourceCache(shard_count=2, history_size=100, expired_line=lambda m: b"")
    old, new = cm("old", "a-ns", 11), cm("new", "b-ns", 25)
    cache.replace(0, [old], 40)
    cache.replace(1, [new], 60)
    w = watcher(cache, shards={0, 1}, merged=True)
    w.start_with_initial([old, new], cache.vector(), None)
    events = await drain(w)
    tokens = [e["object"]["metadata"]["resourceVersion"] for e in events]
    # Resuming from any of them resumes from the snapshot the state was taken at...
    assert [CODEC.decode(t) for t in tokens] == [(40, 60), (40, 60)]
    # ...and as an update precondition each is its object's revision, not the snapshot's.
    assert [CODEC.object_revision(t, s) for t, s in zip(tokens, (0, 1), strict=True)] == [11, 25]


async def test_single_shard_initial_events_keep_plain_revisions() -> None:
    cache = ResourceCache(shard_count=2, history_size=100, expired_line=lambda m: b"")
    cache.replace(0, [cm("a", "a-ns", 11)], 40)
    cache.replace(1, [], 60)
    w = watcher(cache)
    w.start_with_initial([cm("a", "a-ns", 11)], cache.vector(), None)
    assert [e["object"]["metadata"]["resourceVersion"] for e in await drain(w)] == ["11"]


async def test_lag_position_is_what_was_delivered() -> None:
    cache = ResourceCache(shard_count=2, history_size=100, expired_line=lambda m: b"")
    cache.replace(0, [], 10)
    cache.replace(1, [], 20)
    w = watcher(cache, shards={0, 1}, merged=True, queue=1)
    cache.watch_now(w)
    cache.apply(0, "ns/a", cm("a", "ns", 11), 11)  # queued
    cache.apply(1, "ns/b", cm("b", "ns", 25), 25)  # queue full: lagging from here
    # Delivered: shard 0 up to 11, shard 1 everything below 25.
    assert w.lag_position() == (11, 24)
    await drain(w)  # catches up from history
    cache.apply(0, "ns/c", cm("c", "ns", 12), 12)
    assert len(await drain(w)) == 1
