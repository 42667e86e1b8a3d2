"""CacheWatcher resourceVersions: WatchList initial events of merged watches carry tokens with the
object's own revision; a lagging watcher knows the position it has delivered. The byte budget:
a queue bounded in bytes lags instead of growing, and catch-up and initial chunks are bounded in
bytes, with every event delivered once and in order."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tests.unit.core.watchers import CODEC, drain, watcher
from watchproxy.core.objects import build_from_dict
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatcherState
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


# -- the byte budget: a queue bounded in bytes as well as lines, and bounded catch-up chunks ---

PAD = "x" * 1000  # about 1.1 KB per watch line


def big(name: str, rev: int) -> Any:
    obj = {"metadata": {"name": name, "annotations": {"pad": PAD}}}
    return build_from_dict(CONFIGMAPS, f"ns/{name}", obj, rev)


def line_size() -> int:
    """The bytes of one watch line of a `big` object (names are all 3 characters)."""
    return len(b'{"type":"ADDED","object":' + big("c00", 11).raw + b"}\n")


def one_shard_cache() -> ResourceCache:
    cache = ResourceCache(shard_count=1, history_size=1000, expired_line=lambda m: b"")
    cache.replace(0, [], 10)
    return cache


def names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"]["name"]) for e in events]


async def chunks_of(w: CacheWatcher) -> list[bytes]:
    """Every chunk the writer has ready, as it would write them."""
    out: list[bytes] = []
    while True:
        try:
            async with asyncio.timeout(0.01):
                chunk = await w.next_chunk(lambda: b"gone\n")
        except TimeoutError:
            return out
        if chunk is None:
            return out
        out.append(chunk)


def decoded(chunks: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for chunk in chunks for line in chunk.splitlines() if line]


async def test_a_queue_over_its_byte_budget_lags_and_replays_in_order() -> None:
    cache = one_shard_cache()
    budget = 3 * line_size()
    w = watcher(cache, queue=100, queue_bytes=budget)  # the count bound is far away
    cache.watch_now(w)
    for i in range(10):
        cache.apply(0, f"ns/c{i:02d}", big(f"c{i:02d}", 11 + i), 11 + i)
    # Three lines fit; the fourth would pass the budget: lagging, owing c03 onwards.
    assert w.state is WatcherState.LAGGING
    assert len(w.queue) == 3 and w.queue_bytes <= budget
    # Live events while lagging are not queued: they are read from the history later.
    cache.apply(0, "ns/c10", big("c10", 21), 21)
    assert len(w.queue) == 3
    assert names(await drain(w)) == [("ADDED", f"c{i:02d}") for i in range(11)]
    assert w.state is WatcherState.ACTIVE and w.queue_bytes == 0
    cache.apply(0, "ns/c00", None, 22)
    assert names(await drain(w)) == [("DELETED", "c00")]


async def test_a_line_larger_than_the_budget_still_goes_out_alone() -> None:
    cache = one_shard_cache()
    w = watcher(cache, queue=100, queue_bytes=100)  # smaller than any line
    cache.watch_now(w)
    for i in range(3):
        cache.apply(0, f"ns/c{i:02d}", big(f"c{i:02d}", 11 + i), 11 + i)
    assert len(w.queue) == 1 and w.state is WatcherState.LAGGING
    chunks = await chunks_of(w)
    assert [len(decoded([c])) for c in chunks] == [1, 1, 1]
    assert names(decoded(chunks)) == [("ADDED", f"c{i:02d}") for i in range(3)]


async def test_catch_up_chunks_stop_at_the_byte_budget() -> None:
    cache = one_shard_cache()
    budget = 4 * line_size()
    w = watcher(cache, queue=1, queue_bytes=budget)  # lags at the second event

    def add(i: int) -> None:
        cache.apply(0, f"ns/c{i:02d}", big(f"c{i:02d}", 11 + i), 11 + i)

    cache.watch_now(w)
    for i in range(20):
        add(i)
    added = 20
    chunks = []
    while True:
        chunk = await w.next_chunk(lambda: b"gone\n")
        assert chunk is not None
        chunks.append(chunk)
        if w.state is WatcherState.ACTIVE:
            break
        add(added)  # events keep coming while it catches up: owed once, in order
        added += 1
    chunks += await chunks_of(w)
    assert all(len(c) <= budget for c in chunks)
    assert len(chunks) >= 1 + 20 // 4
    assert names(decoded(chunks)) == [("ADDED", f"c{i:02d}") for i in range(added)]


async def test_initial_chunks_stop_at_the_byte_budget() -> None:
    cache = one_shard_cache()
    budget = 5 * line_size()
    objects = [big(f"c{i:02d}", 11 + i) for i in range(23)]
    cache.replace(0, objects, 40)
    w = watcher(cache, queue=100, queue_bytes=budget)
    w.start_with_initial(objects, cache.vector(), b'{"type":"BOOKMARK","object":{}}\n')
    cache.watch_now(w)
    cache.apply(0, "ns/c00", None, 41)
    chunks = await chunks_of(w)
    assert [len(decoded([c])) for c in chunks] == [5, 5, 5, 5, 3 + 1, 1]
    assert all(len(c) <= budget + 40 for c in chunks)  # the last holds the bookmark too
    events = decoded(chunks)
    assert [e["type"] for e in events] == ["ADDED"] * 23 + ["BOOKMARK", "DELETED"]
    assert [e["object"]["metadata"].get("name") for e in events[:23]] == [o.name for o in objects]
