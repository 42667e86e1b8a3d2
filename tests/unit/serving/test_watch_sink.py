"""The watch sinks of both servers (serving/watch_sink.py, decision 0019) over real loopback
sockets: every request's scope offers one; it refuses before the response starts, writes chunks
(HTTP/1.1 chunked encoding, HTTP/2 DATA frames) in order with what `send` wrote, refuses under
backpressure (paused writing; a spent HTTP/2 stream window) without taking a byte, and counts
what it wrote."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from tests.unit.serving.harness import RawH2Client, eventually, serve
from tests.unit.serving.pki import Pki, client_context
from watchproxy.core.flush import WATCH_SINK
from watchproxy.serving import serving_statistics
from watchproxy.serving.tls import ServingContexts
from watchproxy.serving.watch_sink import chunk_framed


class SinkApp:
    """/lines?n=N&size=S: N lines of S bytes, alternately through the sink and `send`;
    /flood?size=S: sink writes of S bytes until the sink refuses, then `release` ends it."""

    def __init__(self) -> None:
        self.refused_before_start: list[bool] = []
        self.sinks: dict[str, Any] = {}
        self.taken: dict[str, int] = {}
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        sink = scope["extensions"][WATCH_SINK]
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&"))
        name = query.get("name", scope["path"])
        self.sinks[name] = sink
        self.refused_before_start.append(sink.write_body(b"early\n") is False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        size = int(query["size"])
        if scope["path"] == "/lines":
            for i in range(int(query["n"])):
                line = (b"%05d" % i).ljust(size - 1, b"x") + b"\n"
                if i % 2 or not sink.write_body(line):
                    await send({"type": "http.response.body", "body": line, "more_body": True})
        else:
            self.taken[name] = 0
            for _ in range(10_000):
                if not sink.write_body(b"y" * size):
                    break
                self.taken[name] += size
            await self.release.wait()
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture()
def contexts(pki: Pki) -> ServingContexts:
    return ServingContexts(str(pki.server.cert), str(pki.server.key), str(pki.ca.cert))


def expected_lines(n: int, size: int) -> bytes:
    return b"".join((b"%05d" % i).ljust(size - 1, b"x") + b"\n" for i in range(n))


def test_chunk_framing_is_shared_by_identical_chunks() -> None:
    line = b'{"type":"ADDED"}\n'
    framed = chunk_framed(line)
    assert framed == b"11\r\n" + line + b"\r\n"
    assert chunk_framed(line) is framed  # the same bytes object for the next watcher
    assert chunk_framed(b"ab") == b"2\r\nab\r\n"


async def test_http1_sink_writes_chunks_in_order_with_send() -> None:
    app = SinkApp()
    async with serve(app, None) as served:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{served.port}/lines?n=50&size=100")
        assert r.status_code == 200
        assert r.content == expected_lines(50, 100)
        assert app.refused_before_start == [True]
        assert app.sinks["/lines"].direct_bytes == 25 * 100


async def test_h2_sink_writes_frames_in_order_with_send(
    pki: Pki, contexts: ServingContexts
) -> None:
    app = SinkApp()
    async with serve(app, contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            a = client.request("/lines?name=a&n=50&size=100")
            b = client.request("/lines?name=b&n=50&size=100")
            await client.wait(lambda: client.streams[a].ended and client.streams[b].ended)
            for sid in (a, b):
                assert bytes(client.streams[sid].data) == expected_lines(50, 100)
            assert app.refused_before_start == [True, True]
            assert app.sinks["a"].direct_bytes == 25 * 100
        finally:
            await client.close()


async def test_h2_sink_refuses_once_the_stream_window_is_spent(
    pki: Pki, contexts: ServingContexts
) -> None:
    app = SinkApp()
    async with serve(app, contexts.listener) as served:
        before = serving_statistics()
        client = RawH2Client(initial_window=65535)
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            a = client.request("/flood?name=a&size=4096")
            client.stalled.add(a)
            await eventually(lambda: "a" in app.taken and len(client.streams[a].data) > 0, "a")
            # 15 frames of 4 KiB fit the 64 KiB window; the 16th would not: refused, untaken.
            assert app.taken["a"] == 15 * 4096
            assert app.sinks["a"].direct_bytes == 15 * 4096
            after = serving_statistics()
            assert after["watch_sink_refused"] - before.get("watch_sink_refused", 0) == 1
            app.release.set()
            await client.wait(lambda: client.streams[a].ended)
            assert len(client.streams[a].data) == 15 * 4096
        finally:
            await client.close()


async def test_http1_sink_refuses_while_writing_is_paused() -> None:
    """A client that does not read: the transport's buffer passes its high-water mark, uvicorn
    pauses writing, and the sink refuses (where `send` would wait) -- bounded memory."""
    app = SinkApp()
    async with serve(app, None) as served:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", served.port))
        try:
            await loop.sock_sendall(sock, b"GET /flood?size=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
            await eventually(lambda: "/flood" in app.taken, "the sink refused")
            # Taken: what the socket buffers held plus at most uvicorn's 64 KiB high water.
            assert app.taken["/flood"] < 16 << 20
            assert app.sinks["/flood"].direct_bytes == app.taken["/flood"]
            app.release.set()
        finally:
            sock.close()
