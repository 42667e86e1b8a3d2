"""The cache and fan-out core with no network: exact event sequences."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.unit.core.watchers import CODEC, drain, expired, watcher
from watchproxy.core.errors import ResourceExpired
from watchproxy.core.objects import build_from_dict
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.resources import Registry

PODS = Registry().lookup("", "v1", "pods")
assert PODS is not None


def make_cache(history: int = 100) -> ResourceCache:
    cache = ResourceCache(shard_count=2, history_size=history, expired_line=expired)
    cache.replace(0, [], 10)
    cache.replace(1, [], 20)
    return cache


def pod(
    name: str, ns: str = "ns", node: str = "", labels: dict[str, str] | None = None, rev: int = 1
) -> Any:
    obj = {
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "spec": {"nodeName": node},
    }
    return build_from_dict(PODS, f"{ns}/{name}", obj, rev)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (
            e["type"],
            e["object"]["metadata"].get("name", ""),
            e["object"]["metadata"].get("resourceVersion", ""),
        )
        for e in events
    ]


async def test_events_in_order_with_revisions() -> None:
    cache = make_cache()
    w = watcher(cache)
    cache.watch_now(w)
    cache.apply(0, "ns/a", pod("a", rev=11), 11)
    cache.apply(0, "ns/a", pod("a", rev=12), 12)
    cache.apply(0, "ns/a", None, 13)
    assert summary(await drain(w)) == [
        ("ADDED", "a", "11"),
        ("MODIFIED", "a", "12"),
        ("DELETED", "a", "13"),
    ]


async def test_selector_entry_and_exit_are_added_and_deleted() -> None:
    cache = make_cache()
    w = watcher(cache, labels="app=web")
    cache.watch_now(w)
    cache.apply(0, "ns/a", pod("a", labels={"app": "db"}, rev=11), 11)
    cache.apply(0, "ns/a", pod("a", labels={"app": "web"}, rev=12), 12)
    cache.apply(0, "ns/a", pod("a", labels={"app": "db"}, rev=13), 13)
    assert summary(await drain(w)) == [("ADDED", "a", "12"), ("DELETED", "a", "13")]


async def test_trigger_index_reaches_old_and_new_node() -> None:
    cache = make_cache()
    on_a = watcher(cache, node="node-a", fields="spec.nodeName=node-a")
    on_b = watcher(cache, node="node-b", fields="spec.nodeName=node-b")
    cache.watch_now(on_a)
    cache.watch_now(on_b)
    cache.apply(0, "ns/p", pod("p", node="node-a", rev=11), 11)
    cache.apply(0, "ns/q", pod("q", node="node-c", rev=12), 12)
    cache.apply(0, "ns/p", pod("p", node="node-b", rev=13), 13)
    assert summary(await drain(on_a)) == [("ADDED", "p", "11"), ("DELETED", "p", "13")]
    assert summary(await drain(on_b)) == [("ADDED", "p", "13")]
    assert sum(1 for _ in cache.dispatcher.candidates(cache.history.after_seq(1, 1)[0])) == 0


async def test_lagging_watcher_catches_up_from_history() -> None:
    cache = make_cache()
    w = watcher(cache, queue=2)
    cache.watch_now(w)
    for i in range(30):
        cache.apply(0, f"ns/p{i}", pod(f"p{i}", rev=11 + i), 11 + i)
    got = summary(await drain(w))
    assert [g[2] for g in got] == [str(11 + i) for i in range(30)]
    assert all(g[0] == "ADDED" for g in got)


async def test_watcher_behind_history_gets_410() -> None:
    cache = make_cache(history=5)
    w = watcher(cache, queue=1)
    cache.watch_now(w)
    for i in range(20):
        cache.apply(0, f"ns/p{i}", pod(f"p{i}", rev=11 + i), 11 + i)
    events = await drain(w)
    assert events[0]["object"]["metadata"]["resourceVersion"] == "11"
    assert events[-1]["type"] == "ERROR"
    assert events[-1]["object"]["code"] == 410


async def test_resume_from_revision_replays_exactly() -> None:
    cache = make_cache()
    for i in range(5):
        cache.apply(0, f"ns/p{i}", pod(f"p{i}", rev=11 + i), 11 + i)
        cache.apply(1, f"ns/q{i}", pod(f"q{i}", rev=21 + i), 21 + i)
    w = watcher(cache, floor=(13, 0))
    cache.watch_from(w, (13, 0))
    assert [g[2] for g in summary(await drain(w))] == ["14", "15"]


async def test_resume_from_expired_revision_raises() -> None:
    cache = make_cache(history=3)
    for i in range(6):
        cache.apply(0, f"ns/p{i}", pod(f"p{i}", rev=11 + i), 11 + i)
    with pytest.raises(ResourceExpired):
        cache.watch_from(watcher(cache, floor=(11, 0)), (11, 0))


async def test_merged_stream_carries_vector_tokens_and_resumes() -> None:
    cache = make_cache()
    w = watcher(cache, shards={0, 1}, merged=True)
    cache.watch_now(w)
    cache.apply(0, "ns/a", pod("a", rev=11), 11)
    cache.apply(1, "ns/b", pod("b", rev=21), 21)
    cache.apply(0, "ns/c", pod("c", rev=12), 12)
    events = await drain(w)
    tokens = [CODEC.decode(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert tokens == [(11, 20), (11, 21), (12, 21)]
    # A second watcher resuming from the second token gets exactly the third event.
    w2 = watcher(cache, shards={0, 1}, merged=True, floor=tokens[1])
    cache.watch_from(w2, tokens[1])
    assert [e["object"]["metadata"]["name"] for e in await drain(w2)] == ["c"]


async def test_resume_ahead_of_this_cache_keeps_client_vector() -> None:
    cache = make_cache()
    w = watcher(cache, shards={0, 1}, merged=True, floor=(10, 25))
    cache.watch_from(w, (10, 25))
    cache.apply(0, "ns/a", pod("a", rev=11), 11)
    cache.apply(1, "ns/b", pod("b", rev=24), 24)  # already delivered elsewhere: skipped
    cache.apply(1, "ns/c", pod("c", rev=26), 26)
    events = await drain(w)
    assert [e["object"]["metadata"]["name"] for e in events] == ["a", "c"]
    assert CODEC.decode(events[0]["object"]["metadata"]["resourceVersion"]) == (11, 25)


async def test_relist_closes_watchers_with_410() -> None:
    cache = make_cache()
    w = watcher(cache)
    cache.watch_now(w)
    cache.replace(0, [pod("x", rev=50)], 50)
    events = await drain(w)
    assert events[-1]["type"] == "ERROR" and events[-1]["object"]["code"] == 410
    assert w.closed


async def test_exact_select_rewinds_history() -> None:
    cache = make_cache()
    cache.apply(0, "ns/a", pod("a", node="n1", rev=11), 11)
    cache.apply(0, "ns/b", pod("b", node="n1", rev=12), 12)
    cache.apply(0, "ns/a", pod("a", node="n2", rev=13), 13)  # leaves node n1
    cache.apply(0, "ns/b", None, 14)  # deleted
    cache.apply(0, "ns/c", pod("c", node="n1", rev=15), 15)  # created later

    def at(revision: int, trigger: str | None = None) -> list[tuple[str, int]]:
        [part] = cache.select([0], namespace="", trigger=trigger, at={0: revision})
        return [(o.key, o.revision) for o in part]

    assert at(12) == [("ns/a", 11), ("ns/b", 12)]
    assert at(12, trigger="n1") == [("ns/a", 11), ("ns/b", 12)]
    assert at(13, trigger="n1") == [("ns/b", 12)]
    assert at(15) == [("ns/a", 13), ("ns/c", 15)]
    with pytest.raises(ResourceExpired):
        at(9)


async def test_wait_until_fresh_resolves_on_progress() -> None:
    cache = make_cache()

    async def later() -> None:
        await asyncio.sleep(0.01)
        cache.progress(0, 30)

    task = asyncio.create_task(later())
    async with asyncio.timeout(1):
        await cache.wait_until_fresh({0: 30})
    await task
    assert cache.vector()[0] == 30


async def test_bookmark_only_when_caught_up() -> None:
    cache = make_cache()
    w = CacheWatcher(
        filt=WatchFilter("", "", None, LabelSelector.parse(""), FieldSelector.parse("")),
        shards=frozenset({0}),
        merged=False,
        floor=cache.vector(),
        encode_token=CODEC.encode,
        history=cache.history,
        max_queue=10,
        max_queue_bytes=1 << 20,
        bookmark_line=lambda rv, end: (
            b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"'
            + rv.encode()
            + b'"}}}\n'
        ),
    )
    cache.watch_now(w)
    cache.apply(0, "ns/a", pod("a", rev=11), 11)
    assert not w.offer_bookmark(cache.vector())  # an event is still queued
    await drain(w)
    cache.progress(0, 15)
    assert w.offer_bookmark(cache.vector())
    assert summary(await drain(w)) == [("BOOKMARK", "", "15")]


async def test_progress_only_raises_and_wakes() -> None:
    cache = make_cache()
    cache.progress(0, 30)
    cache.progress(0, 25)  # an older proof changes nothing
    assert cache.vector() == (30, 20)
    assert cache.behind({0: 30, 1: 21}) == {1: 21}
    assert cache.behind({0: 31}) == {0: 31}
    assert cache.behind({0: 30, 1: 20}) == {}


async def test_wait_until_fresh_is_not_ended_by_anything_but_the_revision() -> None:
    """No side channel (such as an unordered progress answer) ends a wait: only progress or
    events that raise the shard's revision."""
    cache = make_cache()
    cache.apply(0, "ns/a", pod("a", rev=25), 25)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cache.wait_until_fresh({0: 26})
    cache.apply(1, "ns/b", pod("b", rev=26), 26)  # another shard's revision proves nothing here
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await cache.wait_until_fresh({0: 26})
    cache.progress(0, 26)
    async with asyncio.timeout(1):
        await cache.wait_until_fresh({0: 26})


def test_select_by_key_takes_only_that_object_now_and_at_a_past_revision() -> None:
    cache = make_cache()
    cache.apply(0, "ns/a", pod("a", rev=11), 11)
    cache.apply(0, "ns/b", pod("b", rev=12), 12)
    cache.apply(0, "other/a", pod("a", ns="other", rev=13), 13)
    cache.apply(0, "ns/a", None, 14)

    def keys(key: str, at: int | None = None, namespace: str = "") -> list[tuple[str, int]]:
        revs = None if at is None else {0: at}
        [part] = cache.select([0], namespace=namespace, trigger=None, at=revs, key=key)
        return [(o.key, o.revision) for o in part]

    assert keys("ns/b") == [("ns/b", 12)]
    assert keys("ns/a") == []  # deleted
    assert keys("ns/a", at=13) == [("ns/a", 11)]  # the rewind keeps to the key
    assert keys("other/a", at=13) == [("other/a", 13)]
    assert keys("ns/b", namespace="other") == []  # the namespace still narrows
    assert keys("ns/zzz") == []


def test_pinned_key_only_when_the_name_pins_one_key() -> None:
    from watchproxy.api.watches import pinned_key

    nodes = Registry().lookup("", "v1", "nodes")
    assert nodes is not None

    def filt(namespace: str, name: str) -> WatchFilter:
        return WatchFilter(namespace, name, None, LabelSelector.parse(""), FieldSelector.parse(""))

    assert pinned_key(PODS, filt("ns", "a")) == "ns/a"
    assert pinned_key(PODS, filt("", "a")) is None  # every namespace's "a"
    assert pinned_key(nodes, filt("", "node-1")) == "node-1"
    assert pinned_key(nodes, filt("", "")) is None
