"""Direct watch writes (decision 0019) against a real proxy over TLS: watches over HTTP/1.1
(httpx, the official Python client) and HTTP/2 (httpx, a raw h2 client) get every event once
and in order while events go out from the dispatch path with a coalescing window; a slow
reader on each protocol forces the writer-task fallback and then catches up; a client that
leaves mid-stream is reaped and the others go on."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.conftest import make_namespace
from tests.integration.test_http2 import TlsProxy, create_pods
from tests.unit.serving.harness import RawH2Client, eventually
from tests.unit.serving.pki import Pki, make_pki
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def direct_proxy(
    etcd_pair: list[EtcdServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsProxy]:
    from tests.integration.conftest import base_config

    pki: Pki = make_pki(tmp_path_factory.mktemp("direct-pki"))
    # A short queue: the slow readers' watchers fall behind and catch up from the history.
    config = base_config(
        [s.endpoint for s in etcd_pair], watcher_queue_size=50, watch_coalesce_window_seconds=0.005
    )
    proxy = TlsProxy(config, tmp_path_factory.mktemp("direct-proxy"), pki)
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


def event_names(body: bytes) -> list[str]:
    """Object names of the complete lines of `body` (a trailing partial line is left out)."""
    out = []
    for line in body.split(b"\n")[:-1]:
        if line.strip():
            event = json.loads(line)
            if event["type"] != "BOOKMARK":
                out.append(event["object"]["metadata"]["name"])
    return out


def serving(proxy: TlsProxy) -> dict[str, int]:
    with proxy.client() as api:
        counters: dict[str, int] = api.get("/debug/stats").json()["serving"]
        return counters


def pod_watchers(proxy: TlsProxy) -> int:
    with proxy.client() as api:
        resources = api.get("/debug/stats").json()["resources"]
    return sum(int(v["watchers"]) for k, v in resources.items() if k.split(".")[0] == "pods")


def python_client_watch(proxy: TlsProxy, namespace: str, rv: str, count: int) -> list[str]:
    """kubernetes.watch.Watch over HTTP/1.1 (urllib3, streamed), until `count` events."""
    from kubernetes import client as k8s
    from kubernetes import watch

    config = k8s.Configuration(host=proxy.url)
    config.ssl_ca_cert = str(proxy.pki.ca.cert)
    names: list[str] = []
    with k8s.ApiClient(config) as api_client:
        core = k8s.CoreV1Api(api_client)
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_pod, namespace, resource_version=rv, timeout_seconds=60
        ):
            names.append(event["object"].metadata.name)
            if len(names) == count:
                w.stop()
    return names


async def test_every_event_in_order_with_slow_readers_and_a_leaver(
    direct_proxy: TlsProxy,
) -> None:
    proxy = direct_proxy
    namespace, count, pad = "acme-direct", 200, 2000
    with proxy.client() as api:
        make_namespace(api, namespace)
        rv = api.get(f"/api/v1/namespaces/{namespace}/pods").json()["metadata"]["resourceVersion"]
    path = f"/api/v1/namespaces/{namespace}/pods?watch=1&resourceVersion={rv}"
    expected = [f"p{i:04d}" for i in range(count)]
    before = serving(proxy)
    watchers_before = pod_watchers(proxy)

    # HTTP/1.1 over TLS: 8 httpx watches (one connection each); one that leaves after 5 events.
    h1 = httpx.AsyncClient(base_url=proxy.url, verify=proxy.verify(), timeout=30)
    # HTTP/2: 8 watches multiplexed on one httpx connection.
    h2 = httpx.AsyncClient(
        base_url=proxy.url, http2=True, verify=proxy.verify(["h2"]), timeout=30,
        limits=httpx.Limits(max_connections=1),
    )  # fmt: skip
    got: dict[str, list[str]] = {}

    async def watch(client: httpx.AsyncClient, key: str, stop_after: int = count) -> None:
        got[key] = []
        async with client.stream("GET", path) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line:
                    got[key] += event_names(line.encode() + b"\n")
                    if len(got[key]) >= stop_after:
                        return

    # Slow readers: an HTTP/1.1 socket that reads nothing until every pod is created (its
    # transport pauses writing: the sink refuses) and an HTTP/2 stream whose window stays shut.
    ctx = proxy.verify()
    loop = asyncio.get_running_loop()
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await loop.sock_connect(raw, ("127.0.0.1", proxy.port))
    tls_reader, tls_writer = await asyncio.open_connection(
        sock=raw, ssl=ctx, server_hostname="localhost", limit=1 << 20
    )
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    tls_writer.write(request)
    slow_h2 = RawH2Client(initial_window=65535)
    await slow_h2.connect(proxy.port, proxy.verify(["h2"]))
    stalled = slow_h2.request(path)
    slow_h2.stalled.add(stalled)
    tasks = [asyncio.create_task(watch(h1, f"h1-{i}")) for i in range(8)]
    tasks += [asyncio.create_task(watch(h2, f"h2-{i}")) for i in range(8)]
    leaver = asyncio.create_task(watch(h1, "leaver", stop_after=5))
    py_result: list[list[str]] = []
    py_thread = threading.Thread(
        target=lambda: py_result.append(python_client_watch(proxy, namespace, rv, count))
    )
    py_thread.start()
    try:
        await eventually(lambda: pod_watchers(proxy) >= watchers_before + 20, "watches", 20)
        with proxy.client() as api:
            await asyncio.to_thread(create_pods, api, namespace, count, pad)
        await asyncio.wait_for(asyncio.gather(*tasks, leaver), 60)
        for key in got:
            assert got[key] == (expected[:5] if key == "leaver" else expected), key
        await asyncio.to_thread(py_thread.join, 60)
        assert py_result == [expected]
        # The slow ones have everything still to come: now they read, and catch up in order.
        assert len(slow_h2.streams[stalled].data) <= 65535
        slow_h2.release(stalled)
        await slow_h2.wait(
            lambda: len(event_names(bytes(slow_h2.streams[stalled].data))) >= count, 30
        )
        assert event_names(bytes(slow_h2.streams[stalled].data)) == expected
        body = b""
        async with asyncio.timeout(30):
            while len(event_names(dechunk(body))) < count:
                body += await tls_reader.read(1 << 16)
        assert event_names(dechunk(body)) == expected
        after = serving(proxy)
        # The sinks were consulted and refused under backpressure: the fallback ran.
        assert after.get("watch_sink_refused", 0) > before.get("watch_sink_refused", 0)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, leaver, return_exceptions=True)
        await h1.aclose()
        await h2.aclose()
        await slow_h2.close()
        tls_writer.close()
    # The leaver's watch (and everyone else's) is reaped once its client has gone.
    await eventually(lambda: pod_watchers(proxy) <= watchers_before + 1, "reaped", 20)
    assert "Traceback" not in proxy.log()


def dechunk(raw: bytes) -> bytes:
    """The body of an HTTP/1.1 chunked response received so far (headers skipped)."""
    _, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return b""
    out = bytearray()
    while True:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep or not size_line:
            return bytes(out)
        size = int(size_line, 16)
        if size == 0 or len(rest) < size + 2:
            return bytes(out)
        out += rest[:size]
        rest = rest[size + 2 :]
