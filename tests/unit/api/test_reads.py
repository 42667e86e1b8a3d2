"""LIST and GET from the cache (api/reads.py) with no network: streamed bodies byte-identical to
the whole bodies of before, limit/continue/remainingItemCount unchanged, every error before the
first byte, gzip. The caches are filled directly; reads at a resourceVersion the cache has
reached (or 0) never ask etcd."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from tests.unit.api.recorder import Recorder
from watchproxy.api.list_pages import FILTER_OBJECTS_PER_STEP, encode_continue
from watchproxy.api.params import parse_list_options
from watchproxy.api.printing import Printing
from watchproxy.api.reads import serve_get, serve_list
from watchproxy.api.status import ApiError
from watchproxy.api.streaming import CHUNK_BYTES, GZIP_THRESHOLD_BYTES
from watchproxy.api.target import Target
from watchproxy.config import parse_settings
from watchproxy.core.objects import CachedObject, build_from_dict
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

PAD = "x" * 800  # about 1 KB per pod, so a few thousand make a multi-chunk body


def make_proxy() -> Proxy:
    return Proxy(
        parse_settings(
            {
                "shards": [
                    {"name": "shard-a", "endpoints": ["http://127.0.0.1:1"]},
                    {"name": "shard-b", "endpoints": ["http://127.0.0.1:2"]},
                ],
                "tenants": [
                    {"name": "acme", "shard": "shard-a", "namespaces": ["acme-*"]},
                    {"name": "globex", "shard": "shard-b", "namespaces": ["globex-*"]},
                ],
            }
        )
    )


def pods_of(proxy: Proxy) -> ResourceType:
    pods = proxy.registry.lookup("", "v1", "pods")
    assert pods is not None
    return pods


def pod(resource: ResourceType, ns: str, i: int, rev: int) -> CachedObject:
    name = f"p{i:05d}"
    obj = {
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {"app": "web" if i % 2 == 0 else "db"},
            "annotations": {"pad": PAD},
        },
        "spec": {"nodeName": f"n{i % 7}", "containers": [{"name": "c", "image": "busybox"}]},
    }
    return build_from_dict(resource, f"{ns}/{name}", obj, rev)


def seeded(per_shard: int) -> tuple[Proxy, list[CachedObject]]:
    """Pods in acme-a (shard 0) and globex-b (shard 1); both shards at revision 10,000."""
    proxy = make_proxy()
    resource = pods_of(proxy)
    cache = proxy.cache_of(resource)
    everything: list[CachedObject] = []
    for ns in ("acme-a", "globex-b"):
        objects = [pod(resource, ns, i, 100 + i) for i in range(per_shard)]
        cache.replace(proxy.tenancy.shard_of_namespace(ns), objects, 10_000)
        everything += objects
    return proxy, sorted(everything, key=lambda o: o.key)


def whole_body(rv: str, items: list[CachedObject], **meta: Any) -> bytes:
    """A PodList as the whole-body encoder built it before streaming."""
    head = orjson.dumps(
        {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv, **meta}}
    )
    return head[:-1] + b',"items":[' + b",".join([o.raw for o in items]) + b"]}"


async def list_(
    proxy: Proxy,
    query: str,
    namespace: str = "",
    printing: Printing | None = None,
    accept_encoding: str = "",
) -> Recorder:
    resource = pods_of(proxy)
    send = Recorder()
    opts = parse_list_options(query.encode(), resource)
    target = Target(resource, namespace, "", "")
    await serve_list(proxy, target, opts, send, printing, accept_encoding=accept_encoding)
    return send


async def test_a_big_list_is_streamed_in_chunks_with_the_same_bytes() -> None:
    proxy, everything = seeded(1500)
    send = await list_(proxy, "resourceVersion=0")
    # Its length is known before the first byte: written as it is, no chunked framing.
    assert int(send.headers[b"content-length"]) == len(send.body())
    assert len(send.chunks) > 3
    largest = max(len(o.raw) for o in everything)
    for chunk in send.chunks[:-1]:
        assert CHUNK_BYTES <= len(chunk) <= CHUNK_BYTES + largest + 1
    token = proxy.codec.encode((10_000, 10_000))
    assert send.body() == whole_body(token, everything)


async def test_limit_and_continue_walk_every_item_once_with_remaining_counts() -> None:
    proxy, everything = seeded(1200)
    ns_items = [o for o in everything if o.namespace == "acme-a"]
    pages: list[bytes] = []
    token = ""
    seen: list[CachedObject] = []
    while True:
        # A continue page carries no resourceVersion: the token has it (and exact reads of
        # the cache at 10,000 need no etcd).
        query = f"limit=500&continue={token}" if token else "resourceVersion=10000&limit=500"
        send = await list_(proxy, query, "acme-a")
        pages.append(send.body())
        doc = orjson.loads(send.body())
        page = ns_items[len(seen) : len(seen) + 500]
        seen += page
        meta: dict[str, Any] = {}
        if len(seen) < len(ns_items):
            meta = {
                "continue": encode_continue("10000", page[-1].key),
                "remainingItemCount": len(ns_items) - len(seen),
            }
        assert send.body() == whole_body("10000", page, **meta)
        token = doc["metadata"].get("continue", "")
        if not token:
            break
    assert len(pages) == 3 and seen == ns_items


async def test_selector_pages_have_a_continue_but_no_remaining_count() -> None:
    proxy, everything = seeded(6000)
    web = [o for o in everything if o.labels["app"] == "web"]
    send = await list_(proxy, "resourceVersion=0&labelSelector=app%3Dweb")
    assert send.body() == whole_body(proxy.codec.encode((10_000, 10_000)), web)
    query = "resourceVersion=10000&limit=2500&labelSelector=app%3Dweb"
    send = await list_(proxy, query, "globex-b")
    items = [o for o in web if o.namespace == "globex-b"]
    expected = whole_body(
        "10000", items[:2500], **{"continue": encode_continue("10000", items[2499].key)}
    )
    assert send.body() == expected
    last = orjson.loads(send.body())["metadata"]["continue"]
    send = await list_(proxy, f"limit=2500&labelSelector=app%3Dweb&continue={last}", "globex-b")
    assert send.body() == whole_body("10000", items[2500:])


async def test_selecting_a_big_list_gives_the_event_loop_back_before_the_first_byte() -> None:
    proxy, _ = seeded(6000)
    resource = pods_of(proxy)
    send = Recorder()
    ran_before_first_byte = []

    async def other_request() -> None:
        while not send.messages:
            ran_before_first_byte.append(True)
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    ran_before_first_byte.clear()  # only what runs during the LIST counts
    opts = parse_list_options(b"resourceVersion=0&labelSelector=app%3Ddb", resource)
    await serve_list(proxy, Target(resource, "", "", ""), opts, send)
    await other
    # A turn (one iteration of the loop at least) per FILTER_OBJECTS_PER_STEP objects tested
    # after the first step, of the 12,000.
    assert len(ran_before_first_byte) >= 12_000 // FILTER_OBJECTS_PER_STEP - 1


@pytest.mark.parametrize(
    ("query", "namespace", "code", "reason"),
    [
        pytest.param("continue=bogus", "", 400, "BadRequest", id="bad continue token"),
        pytest.param(
            "resourceVersion=50&resourceVersionMatch=Exact",
            "acme-a",
            410,
            "Expired",
            id="exact position older than the history",
        ),
        pytest.param(
            "resourceVersion=5&limit=10", "", 410, "Expired", id="plain revision, merged view"
        ),
        pytest.param("resourceVersion=abc", "", 400, "BadRequest", id="unparseable"),
    ],
)
async def test_errors_come_before_the_first_byte(
    query: str, namespace: str, code: int, reason: str
) -> None:
    proxy, _ = seeded(300)
    send = Recorder()
    with pytest.raises(ApiError) as info:
        resource = pods_of(proxy)
        opts = parse_list_options(query.encode(), resource)
        await serve_list(proxy, Target(resource, namespace, "", ""), opts, send)
    assert (info.value.code, info.value.reason) == (code, reason)
    assert send.messages == []  # so the app answers with a Status and this code


async def test_a_cache_not_ready_is_429_before_the_first_byte() -> None:
    proxy = make_proxy()
    send = Recorder()
    with pytest.raises(ApiError) as info:
        await serve_list(
            proxy, Target(pods_of(proxy), "", "", ""), parse_list_options(b"", pods_of(proxy)), send
        )
    assert info.value.code == 429 and send.messages == []


async def test_partial_object_metadata_of_a_list_is_406_before_the_first_byte() -> None:
    proxy, _ = seeded(300)
    resource = pods_of(proxy)
    send = Recorder()
    with pytest.raises(ApiError) as info:
        await serve_list(
            proxy,
            Target(resource, "", "", ""),
            parse_list_options(b"resourceVersion=0", resource),
            send,
            Printing("meta.k8s.io/v1", kind="PartialObjectMetadata"),
        )
    assert info.value.code == 406 and send.messages == []


async def test_a_table_list_streams_in_row_chunks() -> None:
    proxy, everything = seeded(400)
    send = await list_(proxy, "resourceVersion=0", printing=Printing("meta.k8s.io/v1"))
    assert len(send.chunks) > 2
    table = orjson.loads(send.body())
    assert table["kind"] == "Table"
    assert [r["object"]["metadata"]["name"] for r in table["rows"]] == [o.name for o in everything]


async def test_gzip_when_accepted_and_over_the_threshold() -> None:
    proxy, everything = seeded(1500)
    token = proxy.codec.encode((10_000, 10_000))
    send = await list_(proxy, "resourceVersion=0", accept_encoding="gzip, deflate")
    assert send.headers[b"content-encoding"] == b"gzip"
    assert send.headers[b"vary"] == b"Accept-Encoding"
    assert send.body() == whole_body(token, everything)
    plain = await list_(proxy, "resourceVersion=0", accept_encoding="deflate")
    assert b"content-encoding" not in plain.headers
    assert plain.body() == send.body()
    # A small list is not compressed, and keeps its Content-Length.
    small = await list_(proxy, "resourceVersion=10000&limit=3", "acme-a", accept_encoding="gzip")
    assert b"content-encoding" not in small.headers
    assert int(small.headers[b"content-length"]) == len(small.body()) < GZIP_THRESHOLD_BYTES


async def test_a_get_over_the_threshold_is_gzipped_when_accepted() -> None:
    proxy = make_proxy()
    configmaps = proxy.registry.lookup("", "v1", "configmaps")
    assert configmaps is not None
    big = build_from_dict(
        configmaps,
        "acme-a/big",
        {"metadata": {"name": "big", "namespace": "acme-a"}, "data": {"k": "v" * 200_000}},
        50,
    )
    small = build_from_dict(
        configmaps, "acme-a/small", {"metadata": {"name": "small", "namespace": "acme-a"}}, 51
    )
    cache = proxy.cache_of(configmaps)
    cache.replace(0, [big, small], 100)
    cache.replace(1, [], 100)
    for name, obj, compressed in (("big", big, True), ("small", small, False)):
        for accept in ("gzip", ""):
            send = Recorder()
            target = Target(configmaps, "acme-a", name, "")
            await serve_get(proxy, target, b"resourceVersion=0", send, accept_encoding=accept)
            assert send.body() == obj.raw
            assert (send.headers.get(b"content-encoding") == b"gzip") == (
                compressed and accept != ""
            )
            assert int(send.headers[b"content-length"]) == len(b"".join(send.chunks))
