"""The etcd watch's two transports (watchproxy/etcd/watch.py: "h2", its own HTTP/2 connection read
on the loop, and "grpc", grpc.aio) against real etcd, through `EtcdWatch.run` as the reflector
uses it, and the reflector on top: nothing lost or reordered across an etcd restart, a compaction
while the watch is behind relists, and the stream goes away with close() or cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import grpc
import orjson
import pytest

from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd import h2stream
from watchproxy.etcd.client import EtcdClient, EtcdCompacted, EtcdWatch, WatchResponse
from watchproxy.etcd.protos import rpc_pb2, rpc_pb2_grpc
from watchproxy.etcd.server import EtcdServer
from watchproxy.etcd.watch import TRANSPORT_ENV
from watchproxy.reflector import ShardReflector
from watchproxy.resources import Registry
from watchproxy.shard import ShardBackend

pytestmark = pytest.mark.etcd

WAIT_S = 15.0
TRANSPORTS = ["h2", "grpc"]
REGISTRY = Registry()


@pytest.fixture(scope="module")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    with EtcdServer("transports", tmp_path_factory.mktemp("etcd-transports")) as server:
        yield server


@pytest.fixture
async def client(etcd_server: EtcdServer) -> AsyncIterator[EtcdClient]:
    async with EtcdClient([etcd_server.endpoint], name="test") as c:
        yield c


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> bytes:
    return f"/transports/{request.node.name}/".encode()


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def start(watch: EtcdWatch, got: list[WatchResponse]) -> asyncio.Task[None]:
    return asyncio.create_task(watch.run(got.append))


def events(got: list[WatchResponse]) -> list[tuple[bytes, int]]:
    return [(e.kv.key, e.kv.mod_revision) for r in got for e in r.events]


def connection_closed(watch: EtcdWatch) -> bool:
    """True once the watch holds no open connection (h2) or call (grpc)."""
    if watch.transport == "h2":
        stream = watch._stream
        return stream is None or stream._transport is None or stream._transport.is_closing()
    return watch._call is None or watch._call.done()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_run_delivers_catch_up_and_live_events_in_order_until_close(
    client: EtcdClient, prefix: bytes, transport: str
) -> None:
    start_rev = await client.current_revision(prefix) + 1
    written = [await client.put(prefix + b"k%d" % i, b"v") for i in range(20)]
    watch = client.watch(prefix, start_revision=start_rev, transport=transport)
    got: list[WatchResponse] = []
    task = start(watch, got)
    await until(lambda: len(events(got)) == 20, "catch-up")
    written += [await client.put(prefix + b"k%d" % i, b"v2") for i in range(5)]
    await until(lambda: len(events(got)) == 25, "live events")
    assert [rev for _, rev in events(got)] == written
    await watch.close()
    await asyncio.wait_for(task, WAIT_S)  # returns quietly
    assert connection_closed(watch)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_progress_request_answered_on_run(
    client: EtcdClient, prefix: bytes, transport: str
) -> None:
    rev = await client.put(prefix + b"k", b"v")
    watch = client.watch(prefix, start_revision=rev + 1, progress_notify=False, transport=transport)
    got: list[WatchResponse] = []
    task = start(watch, got)
    await watch.request_progress()
    await until(lambda: any(r.requested_progress for r in got), "progress answer")
    assert got[-1].events == [] and got[-1].header_revision >= rev
    await watch.close()
    await asyncio.wait_for(task, WAIT_S)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_closing_the_client_ends_a_running_watch(
    etcd_server: EtcdServer, prefix: bytes, transport: str
) -> None:
    """The proxy's shutdown path: EtcdClient.close() closes its watches, run() returns."""
    c = EtcdClient([etcd_server.endpoint], name="closing")
    watch = c.watch(prefix, start_revision=0, transport=transport)
    task = start(watch, [])
    await asyncio.sleep(0.3)
    await c.close()
    await asyncio.wait_for(task, WAIT_S)
    assert connection_closed(watch)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cancelling_run_propagates_and_closes_the_connection(
    client: EtcdClient, prefix: bytes, transport: str
) -> None:
    watch = client.watch(prefix, start_revision=0, transport=transport)
    task = start(watch, [])
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, WAIT_S)
    assert connection_closed(watch)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_compacted_start_revision_raises_on_run(
    client: EtcdClient, prefix: bytes, transport: str
) -> None:
    first = await client.put(prefix + b"k", b"1")
    latest = await client.put(prefix + b"k", b"2")
    await client.compact(latest)
    watch = client.watch(prefix, start_revision=first, transport=transport)
    with pytest.raises(EtcdCompacted) as info:
        await asyncio.wait_for(watch.run(lambda _: None), WAIT_S)
    assert info.value.compact_revision == latest
    assert connection_closed(watch)


# -- the reflector on each transport ------------------------------------------------------------


def reflector(endpoint: str, key_prefix: str) -> tuple[ShardReflector, ResourceCache]:
    shard = ShardBackend(
        index=0, name="a", client=EtcdClient([endpoint], request_timeout=2), key_prefix=key_prefix
    )
    caches = {
        r.key: ResourceCache(shard_count=1, history_size=10_000, expired_line=lambda m: b"")
        for r in REGISTRY.resources
    }
    served = [(r, caches[r.key]) for r in REGISTRY.resources]
    return ShardReflector(shard=shard, served=served, page_size=100), caches["configmaps"]


def configmap(name: str, pad: int = 0) -> bytes:
    return orjson.dumps({"metadata": {"name": name, "namespace": "ns"}, "data": {"pad": "x" * pad}})


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_reflector_loses_and_reorders_nothing_across_an_etcd_restart(
    tmp_path: Path, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, transport)
    with EtcdServer("restart", tmp_path / "etcd") as server:
        refl, cache = reflector(server.endpoint, "/r")
        applied: list[int] = []
        apply = refl.apply

        def record(response: WatchResponse) -> None:
            applied.extend(e.kv.mod_revision for e in response.events)
            apply(response)

        refl.apply = record  # type: ignore[method-assign]
        task = asyncio.create_task(refl.run())
        writer = EtcdClient([server.endpoint], request_timeout=2)
        try:
            await until(lambda: refl.relists == 1, "first list")
            key = b"/r/configmaps/ns/c%d"
            written = [await writer.put(key % i, configmap(f"c{i}")) for i in range(30)]
            server.kill()  # some of those may not have reached the reflector yet
            await asyncio.to_thread(server.start)
            for i in range(30, 60):
                written.append(await writer.put(key % i, configmap(f"c{i}")))
            await until(lambda: len(applied) >= 60, "every event")
            assert applied == written  # once each, in order
            assert refl.relists == 1 and refl.watch_restarts >= 1
            assert len(cache.shards[0].objects) == 60
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await writer.close()
            await refl.shard.client.close()


async def test_compaction_while_the_watch_is_behind_relists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop is blocked (as a frozen proxy) with a small receive window, so etcd cannot
    hand the stream its events; a compaction past them cancels the watch, and the reflector
    relists and ends with every object."""
    monkeypatch.setenv(TRANSPORT_ENV, "h2")
    monkeypatch.setattr(h2stream, "RECEIVE_WINDOW", 65_535)
    with EtcdServer("compact", tmp_path / "etcd") as server:
        refl, cache = reflector(server.endpoint, "/c")
        task = asyncio.create_task(refl.run())
        try:
            await until(lambda: refl.relists == 1, "first list")
            await asyncio.sleep(0.3)  # the watch is open
            channel = grpc.insecure_channel(server.endpoint.removeprefix("http://"))
            kv = rpc_pb2_grpc.KVStub(channel)
            revision = 0
            for i in range(300):  # ~9 MB: far more than the window and etcd's send buffers
                put = rpc_pb2.PutRequest(
                    key=b"/c/configmaps/ns/big%d" % i, value=configmap(f"big{i}", 30_000)
                )
                revision = kv.Put(put).header.revision
            kv.Compact(rpc_pb2.CompactionRequest(revision=revision, physical=True))
            channel.close()
            await until(lambda: refl.relists == 2 and len(cache.shards[0].objects) == 300, "relist")
            assert refl.revision >= revision
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await refl.shard.client.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_watch_over_tls_with_a_client_certificate(tmp_path: Path, transport: str) -> None:
    """etcd speaking only TLS with client-certificate authentication (tests/integration/
    test_tls.py's PKI): the h2 transport's own connection verifies etcd and presents the
    client certificate as grpc does."""
    from tests.integration.test_tls import TlsEtcd, make_pki

    pki = tmp_path / "pki"
    pki.mkdir()
    make_pki(pki)
    server = TlsEtcd(pki, tmp_path / "etcd")
    server.data_dir.mkdir(parents=True)
    server.start()
    try:
        async with EtcdClient(
            [server.endpoint],
            name="tls",
            ca_file=str(pki / "ca.crt"),
            cert_file=str(pki / "client.crt"),
            key_file=str(pki / "client.key"),
        ) as c:
            start_rev = await c.current_revision(b"/tls/") + 1
            watch = c.watch(b"/tls/", start_revision=start_rev, transport=transport)
            got: list[WatchResponse] = []
            task = start(watch, got)
            written = [await c.put(b"/tls/k%d" % i, b"v") for i in range(3)]
            await until(lambda: len(events(got)) == 3, "events over TLS")
            assert [rev for _, rev in events(got)] == written
            await watch.close()
            await asyncio.wait_for(task, WAIT_S)
    finally:
        server.stop()
