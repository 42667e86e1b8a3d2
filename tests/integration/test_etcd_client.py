"""Integration tests of watchproxy.etcd.client against real etcd processes."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from watchproxy.etcd.channel import _CHANNEL_OPTIONS
from watchproxy.etcd.client import (
    EtcdClient,
    EtcdCompacted,
    EtcdUnavailable,
    EtcdWatch,
    WatchEvent,
    WatchResponse,
    parse_endpoint,
    prefix_range_end,
)
from watchproxy.etcd.server import EtcdServer, free_port

pytestmark = pytest.mark.etcd

# Upper bounds only to turn a hang into a failure; nothing here measures speed.
WAIT_S = 15.0

T = TypeVar("T")


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    server = EtcdServer("shared", tmp_path_factory.mktemp("etcd-shared"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(etcd_server: EtcdServer) -> AsyncIterator[EtcdClient]:
    async with EtcdClient([etcd_server.endpoint], name="test") as c:
        yield c


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> bytes:
    # Tests share one etcd: give each its own key prefix.
    return f"/test/{request.node.name}/".encode()


async def next_response(it: AsyncIterator[WatchResponse]) -> WatchResponse:
    return await asyncio.wait_for(anext(it), WAIT_S)


async def collect_events(it: AsyncIterator[WatchResponse], count: int) -> list[WatchEvent]:
    """Read responses until ``count`` events arrived (progress notifications skipped)."""
    events: list[WatchEvent] = []
    while len(events) < count:
        events.extend((await next_response(it)).events)
    assert len(events) == count, "more events than expected"
    return events


async def retry_unavailable(op: Callable[[], Awaitable[T]]) -> T:
    """Retry ``op`` while etcd is unreachable, as a caller would after a restart."""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                return await op()
            except EtcdUnavailable:
                await asyncio.sleep(0.1)


# --------------------------------------------------------------------------- #
# Pure helpers (no etcd needed, kept here next to the client they validate)
# --------------------------------------------------------------------------- #


def test_parse_endpoint() -> None:
    assert parse_endpoint("http://127.0.0.1:2379") == ("http", "127.0.0.1", 2379)
    assert parse_endpoint("https://etcd-a.example:32379/") == ("https", "etcd-a.example", 32379)
    assert parse_endpoint("http://[::1]:2379") == ("http", "::1", 2379)
    assert parse_endpoint("http://etcd") == ("http", "etcd", 2379)
    for bad in [
        "127.0.0.1:2379",
        "unix:///tmp/etcd.sock",
        "http://:2379",
        "http://h:99999",
        "http://h:2379/v3",
    ]:
        with pytest.raises(ValueError, match="invalid etcd endpoint"):
            parse_endpoint(bad)


def test_prefix_range_end() -> None:
    assert prefix_range_end(b"/a/") == b"/a0"
    assert prefix_range_end(b"a\xff") == b"b"
    assert prefix_range_end(b"\xff\xff") == b"\x00"


def test_client_rejects_bad_config() -> None:
    with pytest.raises(ValueError, match="mix http and https"):
        EtcdClient(["http://a:1", "https://b:2"])
    with pytest.raises(ValueError, match="TLS files"):
        EtcdClient(["http://a:1"], ca_file="/nonexistent")


def test_receive_limit_is_kubes() -> None:
    """kube's etcd client accepts responses up to math.MaxInt32 bytes: a smaller cap makes a
    large first list page fail with RESOURCE_EXHAUSTED forever (the replica never gets ready)."""
    options = dict(_CHANNEL_OPTIONS)
    assert options["grpc.max_receive_message_length"] == 2**31 - 1


async def test_range_larger_than_256_mib(tmp_path: Path) -> None:
    """One Range response above 256 MiB (gRPC's old cap here) is received whole."""
    server = EtcdServer(
        "big",
        tmp_path,
        # 60 MiB values (etcd's default cap is 1.5 MiB), no fsync: five puts make 300 MiB fast.
        extra_args=[
            "--max-request-bytes=67108864",
            "--unsafe-no-fsync",
            "--quota-backend-bytes=4294967296",
        ],
    )
    server.start()
    try:
        async with EtcdClient([server.endpoint], name="big") as client:
            value = b"x" * (60 * 1024 * 1024)
            for i in range(5):
                await client.put(f"/big/{i}".encode(), value)
            result = await client.range(b"/big/", prefix_range_end(b"/big/"))
            assert len(result.kvs) == 5
            assert sum(len(kv.value) for kv in result.kvs) > 256 * 1024 * 1024
    finally:
        server.stop()


# --------------------------------------------------------------------------- #
# KV
# --------------------------------------------------------------------------- #


async def test_range_limit_revision_and_count(client: EtcdClient, prefix: bytes) -> None:
    revs = [await client.put(prefix + f"k{i}".encode(), f"v{i}".encode()) for i in range(5)]
    await client.put(prefix + b"k0", b"v0-new")
    end = prefix_range_end(prefix)

    page = await client.range(prefix, end, limit=2)
    assert [kv.key for kv in page.kvs] == [prefix + b"k0", prefix + b"k1"]
    assert page.more and page.count == 5
    assert page.kvs[0].value == b"v0-new" and page.kvs[0].version == 2

    # Reading at an older revision sees the store as it was then.
    old = await client.range(prefix, end, revision=revs[2])
    assert [kv.value for kv in old.kvs] == [b"v0", b"v1", b"v2"]
    assert not old.more
    assert old.kvs[0].mod_revision == revs[0]

    single = await client.range(prefix + b"k3")
    assert [kv.value for kv in single.kvs] == [b"v3"]

    counted = await client.range(prefix, end, count_only=True)
    assert counted.kvs == [] and counted.count == 5

    serializable = await client.range(prefix + b"k4", serializable=True)
    assert serializable.kvs[0].create_revision == revs[4]

    assert await client.current_revision(prefix) == counted.header_revision


async def test_list_paged_is_pinned_to_one_revision(client: EtcdClient, prefix: bytes) -> None:
    for i in range(7):
        await client.put(prefix + f"k{i}".encode(), b"old")
    pages: list[tuple[int, list[bytes]]] = []
    async for revision, kvs in client.list_paged(prefix, revision=0, page_size=3):
        pages.append((revision, [kv.value for kv in kvs]))
        if len(pages) == 1:
            # Writes after the first page must not leak into later pages.
            await client.put(prefix + b"k5", b"new")
            await client.put(prefix + b"k9", b"new")
            await client.delete(prefix + b"k6")
    assert [len(values) for _, values in pages] == [3, 3, 1]
    assert {revision for revision, _ in pages} == {pages[0][0]}
    assert all(value == b"old" for _, values in pages for value in values)

    # An explicit revision is honoured too; an empty prefix range yields one empty page.
    explicit = [
        rev async for rev, _ in client.list_paged(prefix, revision=pages[0][0], page_size=3)
    ]
    assert explicit == [pages[0][0]] * 3
    empty = [(rev, kvs) async for rev, kvs in client.list_paged(prefix + b"none/", revision=0)]
    assert len(empty) == 1 and empty[0][1] == []


async def test_create_conflict(client: EtcdClient, prefix: bytes) -> None:
    key = prefix + b"obj"
    created = await client.create(key, b"one")
    assert created.succeeded
    assert created.current is not None
    assert (
        created.current.mod_revision == created.current.create_revision == created.header_revision
    )

    again = await client.create(key, b"two")
    assert not again.succeeded
    assert again.current == created.current


async def test_update_with_stale_revision(client: EtcdClient, prefix: bytes) -> None:
    key = prefix + b"obj"
    created = await client.create(key, b"one")
    rev1 = created.header_revision

    updated = await client.update(key, b"two", expected_mod_revision=rev1)
    assert updated.succeeded
    assert updated.current is not None
    assert (updated.current.value, updated.current.version) == (b"two", 2)
    assert updated.current.create_revision == rev1
    assert updated.current.mod_revision == updated.header_revision

    stale = await client.update(key, b"three", expected_mod_revision=rev1)
    assert not stale.succeeded
    assert stale.current == updated.current

    # Updating a missing key never creates it, not even with expected revision 0.
    for expected in (0, rev1):
        missing = await client.update(prefix + b"missing", b"x", expected_mod_revision=expected)
        assert not missing.succeeded and missing.current is None
    assert (await client.range(prefix + b"missing")).kvs == []


async def test_delete_preconditions(client: EtcdClient, prefix: bytes) -> None:
    key = prefix + b"obj"
    absent = await client.delete(key)
    assert not absent.succeeded and absent.current is None

    created = await client.create(key, b"one")
    updated = await client.update(key, b"two", expected_mod_revision=created.header_revision)

    stale = await client.delete(key, expected_mod_revision=created.header_revision)
    assert not stale.succeeded
    assert stale.current == updated.current

    deleted = await client.delete(key, expected_mod_revision=updated.header_revision)
    assert deleted.succeeded
    assert deleted.current == updated.current  # the object as it was when deleted
    assert (await client.range(key)).kvs == []

    await client.put(key, b"three")
    assert (await client.delete(key)).succeeded


async def test_failover_to_next_endpoint(etcd_server: EtcdServer, prefix: bytes) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    async with EtcdClient([dead, etcd_server.endpoint], name="failover") as c:
        # Idempotent reads move on to the next endpoint within the same call.
        assert (await c.range(prefix + b"k")).kvs == []
        # Later calls (writes included) go to the endpoint that worked.
        rev = await c.put(prefix + b"k", b"v")
        assert (await c.range(prefix + b"k")).kvs[0].mod_revision == rev


# --------------------------------------------------------------------------- #
# Watch
# --------------------------------------------------------------------------- #


async def test_watch_from_revision_with_prev_kv(client: EtcdClient, prefix: bytes) -> None:
    start = await client.current_revision(prefix) + 1
    a, b = prefix + b"a", prefix + b"b"
    r1 = await client.put(a, b"a1")
    r2 = await client.put(b, b"b1")
    r3 = (await client.update(a, b"a2", expected_mod_revision=r1)).header_revision
    r4 = (await client.delete(b)).header_revision
    await client.put(prefix[:-1] + b"x/outside", b"ignored")  # sibling prefix, not watched

    async with client.watch(prefix, start_revision=start) as watch:
        it = aiter(watch)
        events = await collect_events(it, 4)
        r5 = await client.put(a, b"a3")  # a live event after the catch-up batch
        events += await collect_events(it, 1)

    summary = [(e.is_delete, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]
    assert summary == [
        (False, a, b"a1", r1),
        (False, b, b"b1", r2),
        (False, a, b"a2", r3),
        (True, b, b"", r4),
        (False, a, b"a3", r5),
    ]
    prev_values = [e.prev_kv.value if e.prev_kv else None for e in events]
    assert prev_values == [None, None, b"a1", b"b1", b"a2"]
    assert events[3].prev_kv is not None and events[3].prev_kv.mod_revision == r2


async def test_progress_notifications(client: EtcdClient, prefix: bytes) -> None:
    rev = await client.put(prefix + b"k", b"v")

    # Periodic progress notify (the server fixture uses a 1 s interval).
    async with client.watch(prefix, start_revision=rev + 1) as watch:
        progress = await next_response(aiter(watch))
        assert progress.events == []
        assert progress.header_revision >= rev
        assert not progress.requested_progress

    # On-demand progress on a watch without periodic notifications.
    async with client.watch(prefix, start_revision=rev + 1, progress_notify=False) as watch:
        it = aiter(watch)
        await watch.request_progress()
        progress = await next_response(it)
        assert progress.events == []
        assert progress.header_revision >= rev
        assert progress.requested_progress
        # The stream still delivers events afterwards.
        later = await client.put(prefix + b"k", b"v2")
        assert [e.kv.mod_revision for e in await collect_events(it, 1)] == [later]


async def test_close_ends_iteration_quietly(client: EtcdClient, prefix: bytes) -> None:
    watch = client.watch(prefix, start_revision=0, progress_notify=False)
    received: list[WatchResponse] = []

    async def consume() -> None:
        async for response in watch:
            received.append(response)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    await watch.close()
    await asyncio.wait_for(task, WAIT_S)  # returns instead of raising
    assert received == []


async def test_compacted_revision(client: EtcdClient, prefix: bytes) -> None:
    first = await client.put(prefix + b"k", b"1")
    await client.put(prefix + b"k", b"2")
    latest = await client.put(prefix + b"k", b"3")
    await client.compact(latest)

    with pytest.raises(EtcdCompacted) as exc_info:
        async with client.watch(prefix, start_revision=first) as watch:
            await collect_events(aiter(watch), 3)
    assert exc_info.value.compact_revision == latest

    with pytest.raises(EtcdCompacted):
        await client.range(prefix, prefix_range_end(prefix), revision=first)
    with pytest.raises(EtcdCompacted):
        async for _ in client.list_paged(prefix, revision=first):
            pass

    # The compaction revision itself is still watchable.
    async with client.watch(prefix, start_revision=latest) as watch:
        events = await collect_events(aiter(watch), 1)
        assert events[0].kv.value == b"3"


async def test_watch_survives_etcd_restart_without_loss(tmp_path: Path) -> None:
    prefix = b"/restart/"
    server = EtcdServer("restart", tmp_path / "etcd")
    server.start()
    try:
        async with EtcdClient([server.endpoint], name="restart", request_timeout=2) as c:
            start = await c.current_revision(prefix) + 1
            written = [await c.put(prefix + f"k{i:02}".encode(), b"v") for i in range(5)]

            seen: list[int] = []
            watch: EtcdWatch = c.watch(prefix, start_revision=start)
            it = aiter(watch)
            seen += [e.kv.mod_revision for e in await collect_events(it, 5)]

            # These may or may not reach the client before the crash: the
            # resume position must make that irrelevant.
            written += [await c.put(prefix + f"k{i:02}".encode(), b"v") for i in range(5, 8)]
            server.kill()

            with pytest.raises(EtcdUnavailable):
                while True:
                    seen += [e.kv.mod_revision for e in (await next_response(it)).events]
            await watch.close()

            await asyncio.to_thread(server.start)
            for i in range(8, 10):
                key = prefix + f"k{i:02}".encode()
                written.append(await retry_unavailable(functools.partial(c.put, key, b"v")))

            # Resume exactly after the last event we processed.
            resume_from = seen[-1] + 1

            async def read_rest() -> list[int]:
                async with c.watch(prefix, start_revision=resume_from) as resumed:
                    missing = len(written) - len(seen)
                    return [
                        e.kv.mod_revision for e in await collect_events(aiter(resumed), missing)
                    ]

            seen += await retry_unavailable(read_rest)
            assert seen == written
    finally:
        server.stop()


async def test_server_restart_keeps_data_and_port(tmp_path: Path) -> None:
    with EtcdServer("keep", tmp_path / "etcd") as server:
        endpoint = server.endpoint
        async with EtcdClient([endpoint], name="keep") as c:
            rev = await c.put(b"/keep/k", b"v")
            await asyncio.to_thread(server.restart)
            assert server.endpoint == endpoint
            got = await retry_unavailable(lambda: c.range(b"/keep/k"))
            assert got.kvs[0].mod_revision == rev
    assert not server.is_running()


async def test_cancelling_the_consumer_propagates(client: EtcdClient, prefix: bytes) -> None:
    watch = client.watch(prefix, start_revision=0, progress_notify=False)

    async def consume() -> None:
        async for _ in watch:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)
    await watch.close()
