"""Reuse of LIST work at one revision (core/list_segments.py, through api/reads.py): a LIST after
a write sees the write, two selections never share a snapshot or a gzip body, every page of a
paginated LIST is the state at its first page's revision (also after writes) and 410s when the
history no longer reaches it, and the reuse stays within its bounds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest

from tests.unit.api.test_reads import list_, pod, pods_of, seeded, whole_body
from watchproxy.api.list_pages import bytes_array_chunks
from watchproxy.api.status import ApiError
from watchproxy.api.streaming import json_array_chunks
from watchproxy.core.list_segments import LIST_REUSE, ListReuse, snapshot_key
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache


@pytest.fixture(autouse=True)
def fresh_reuse() -> Iterator[None]:
    LIST_REUSE.clear()
    yield
    LIST_REUSE.clear()


def names(body: bytes) -> list[str]:
    return [i["metadata"]["name"] for i in orjson.loads(body)["items"]]


async def test_a_list_after_a_write_sees_the_write() -> None:
    proxy, everything = seeded(600)
    cache = proxy.cache_of(pods_of(proxy))
    for accept in ("", "gzip"):
        first = await list_(proxy, "resourceVersion=0", accept_encoding=accept)
        again = await list_(proxy, "resourceVersion=0", accept_encoding=accept)
        assert again.body() == first.body()
    assert LIST_REUSE.hits >= 3  # the same revision: the selection was built once
    # A new pod on shard 0 at revision 10,001.
    new = pod(pods_of(proxy), "acme-a", 99_999, 10_001)
    cache.apply(0, new.key, new, 10_001)
    for accept in ("", "gzip"):
        send = await list_(proxy, "resourceVersion=0", accept_encoding=accept)
        expected = sorted([*everything, new], key=lambda o: o.key)
        assert send.body() == whole_body(proxy.codec.encode((10_001, 10_000)), expected)


async def test_a_gzip_list_at_one_revision_is_compressed_once() -> None:
    proxy, everything = seeded(1500)
    token = proxy.codec.encode((10_000, 10_000))
    first = await list_(proxy, "resourceVersion=0", accept_encoding="gzip")
    assert LIST_REUSE.body_bytes > 0
    second = await list_(proxy, "resourceVersion=0", accept_encoding="gzip")
    assert b"".join(second.chunks) == b"".join(first.chunks)  # the kept compressed bytes
    assert second.headers[b"content-encoding"] == b"gzip"
    assert int(second.headers[b"content-length"]) == len(b"".join(second.chunks))
    assert second.body() == whole_body(token, everything)


async def test_two_selections_never_share() -> None:
    proxy, everything = seeded(1500)
    token = proxy.codec.encode((10_000, 10_000))
    for accept in ("gzip", ""):
        for app in ("web", "db", "web"):
            send = await list_(
                proxy, f"resourceVersion=0&labelSelector=app%3D{app}", accept_encoding=accept
            )
            chosen = [o for o in everything if o.labels["app"] == app]
            assert send.body() == whole_body(token, chosen)
        for ns in ("acme-a", "globex-b", "acme-a"):
            send = await list_(proxy, "resourceVersion=0", ns, accept_encoding=accept)
            rv = str(10_000)
            assert send.body() == whole_body(rv, [o for o in everything if o.namespace == ns])
        node = await list_(proxy, "resourceVersion=0&fieldSelector=spec.nodeName%3Dn3")
        assert names(node.body()) == [o.name for o in everything if o.trigger == "n3"]


async def test_pages_across_a_write_are_the_state_of_the_first_page() -> None:
    proxy, everything = seeded(1200)
    resource = pods_of(proxy)
    cache = proxy.cache_of(resource)
    ns_items = [o for o in everything if o.namespace == "acme-a"]
    # At 10,000, the cache's revision (a consistent read would ask etcd for it first).
    send = await list_(proxy, "resourceVersion=10000&limit=500", "acme-a")
    doc = orjson.loads(send.body())
    assert doc["metadata"]["resourceVersion"] == "10000"
    token = doc["metadata"]["continue"]
    # Writes after the first page: a pod of page 2 changes, one is added, one deleted.
    changed = pod(resource, "acme-a", 700, 10_001)
    cache.apply(0, changed.key, changed, 10_001)
    added = pod(resource, "acme-a", 99_999, 10_002)
    cache.apply(0, added.key, added, 10_002)
    cache.apply(0, ns_items[900].key, None, 10_003)
    seen: list[bytes] = [send.body()]
    hits = LIST_REUSE.hits
    while token:
        send = await list_(proxy, f"limit=500&continue={token}", "acme-a")
        seen.append(send.body())
        token = orjson.loads(send.body())["metadata"].get("continue", "")
    items: list[bytes] = []
    for body in seen:
        items += [orjson.dumps(i) for i in orjson.loads(body)["items"]]
    assert items == [orjson.dumps(orjson.loads(o.raw)) for o in ns_items]  # old versions
    assert LIST_REUSE.hits == hits + 2  # both continue pages reused the first page's selection
    # A new LIST sees the writes.
    now = await list_(proxy, "resourceVersion=0", "acme-a")
    assert len(names(now.body())) == len(ns_items)  # one added, one deleted
    assert "p99999" in names(now.body()) and ns_items[900].name not in names(now.body())


async def test_a_page_past_the_history_is_410_even_when_its_snapshot_was_kept() -> None:
    proxy, everything = seeded(1200)
    cache = proxy.cache_of(pods_of(proxy))
    send = await list_(proxy, "resourceVersion=10000&limit=500", "acme-a")
    token = orjson.loads(send.body())["metadata"]["continue"]
    assert len(LIST_REUSE) == 1
    # A relist of shard 0 at a later revision: the history no longer reaches 10,000.
    cache.replace(0, [o for o in everything if o.namespace == "acme-a"], 20_000)
    with pytest.raises(ApiError) as info:
        await list_(proxy, f"limit=500&continue={token}", "acme-a")
    assert info.value.code == 410
    assert len(LIST_REUSE) == 0  # and the snapshot is gone


def objects(n: int) -> list[CachedObject]:
    _, everything = seeded(1)
    return everything[:1] * n


def test_snapshots_are_bounded_in_count_items_and_body_bytes() -> None:
    clock = [0.0]
    reuse = ListReuse(max_snapshots=2, max_items=100, max_body_bytes=1000, clock=lambda: clock[0])
    cache = ResourceCache(shard_count=1, history_size=10, expired_line=lambda _: b"")
    keys = [snapshot_key(cache, (0,), "", None, (rev,)) for rev in range(4)]
    for key in keys[:3]:
        reuse.keep(cache, key, objects(40))
    assert len(reuse) == 2 and reuse.items == 80  # the oldest went first
    assert reuse.snapshot(cache, keys[0]) is None and reuse.snapshot(cache, keys[2]) is not None
    reuse.keep(cache, keys[3], objects(90))  # over max_items together: the others go
    assert len(reuse) == 1 and reuse.items == 90
    reuse.keep(cache, keys[0], objects(101))  # larger than max_items alone: not kept
    assert reuse.snapshot(cache, keys[0]) is None
    body = (b"h", "", "", "")
    assert reuse.keep_body(cache, keys[3], body, [b"x" * 600])
    assert not reuse.keep_body(cache, keys[3], (b"h2", "", "", ""), [b"x" * 1001])
    reuse.keep(cache, keys[1], objects(5))
    assert reuse.keep_body(cache, keys[1], body, [b"y" * 600])  # evicts the older body
    assert reuse.body_bytes == 600 and reuse.body(cache, keys[3], body) is None
    assert reuse.body(cache, keys[1], body) == [b"y" * 600]
    other = ResourceCache(shard_count=1, history_size=10, expired_line=lambda _: b"")
    assert reuse.body(other, keys[1], body) is None  # another cache never shares


async def test_a_storm_of_gzip_lists_keeps_one_body_being_built() -> None:
    proxy, everything = seeded(1500)
    token = proxy.codec.encode((10_000, 10_000))
    collecting: list[int] = []
    original = LIST_REUSE.keep_body

    def counted(*args: object) -> bool:
        collecting.append(1)
        return original(*args)  # type: ignore[arg-type]

    LIST_REUSE.keep_body = counted  # type: ignore[method-assign,assignment]
    try:
        sends = await asyncio.gather(
            *(list_(proxy, "resourceVersion=0", accept_encoding="gzip") for _ in range(5))
        )
    finally:
        del LIST_REUSE.keep_body
    assert len(collecting) == 1  # one LIST built the kept body, the others only answered
    for send in sends:
        assert send.body() == whole_body(token, everything)
    assert not LIST_REUSE._building


def test_idle_snapshots_and_those_of_dropped_caches_are_freed() -> None:
    clock = [0.0]
    reuse = ListReuse(idle_seconds=30, clock=lambda: clock[0])
    cache = ResourceCache(shard_count=1, history_size=10, expired_line=lambda _: b"")
    gone = ResourceCache(shard_count=1, history_size=10, expired_line=lambda _: b"")
    reuse.keep(cache, snapshot_key(cache, (0,), "", None, (1,)), objects(3))
    reuse.keep(gone, snapshot_key(gone, (0,), "", None, (1,)), objects(3))
    del gone
    clock[0] = 10.0
    reuse.sweep()
    assert len(reuse) == 1  # the dropped cache's entry went at once
    clock[0] = 40.0
    reuse.sweep()
    assert len(reuse) == 0 and reuse.items == 0


async def test_the_idle_timer_frees_entries_without_further_lists() -> None:
    reuse = ListReuse(idle_seconds=0.05)
    cache = ResourceCache(shard_count=1, history_size=10, expired_line=lambda _: b"")
    reuse.keep(cache, snapshot_key(cache, (0,), "", None, (1,)), objects(3))
    assert len(reuse) == 1
    await asyncio.sleep(0.2)
    assert len(reuse) == 0


@pytest.mark.parametrize("chunk_bytes", [1, 50, 4096, 262_144])
def test_bytes_array_chunks_cut_as_json_array_chunks(chunk_bytes: int) -> None:
    for n in (0, 1, 2, 7, 300):
        items = [bytes([97 + i % 26]) * (1 + (i * 37) % 900) for i in range(n)]
        length, chunks = bytes_array_chunks(
            b'{"items":[', items, b"]}", bytes, chunk_bytes=chunk_bytes
        )
        got = list(chunks)
        ref = list(json_array_chunks(b'{"items":[', items, b"]}", chunk_bytes=chunk_bytes))
        assert b"".join(got) == b"".join(ref) == b'{"items":[' + b",".join(items) + b"]}"
        assert length == len(b"".join(got))
        for chunk in got[:-1]:
            assert chunk_bytes <= len(chunk) <= chunk_bytes + 901
