"""HTTP/2 abuse over real loopback TLS sockets: rapid reset (CVE-2023-44487) and PING flood
(CVE-2019-9512) end the abusive connection with GOAWAY ENHANCE_YOUR_CALM while the server goes
on serving others; a client that resets a few streams is unaffected."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.errors
import httpx
import pytest
from hyperframe.frame import PingFrame

from tests.unit.serving.harness import RawH2Client, eventually, serve
from tests.unit.serving.pki import Pki, client_context
from watchproxy.serving.tls import ServingContexts

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class SlowApp:
    """/slow: 0.5 s of "work" before the response (an expensive request: auth, a list);
    /hold: a response head, then held until `release` (a watch that ignores disconnects);
    anything else: 200 at once. Counts calls, /slow calls and cancellations."""

    def __init__(self) -> None:
        self.calls = 0
        self.slow = 0  # /slow calls
        self.cancelled = 0
        self.held = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        self.calls += 1
        path = scope["path"]
        try:
            if path == "/slow":
                self.slow += 1
                await asyncio.sleep(0.5)
            elif path == "/hold":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"", "more_body": True})
                self.held += 1
                await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if path == "/hold":
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture()
def contexts(pki: Pki) -> ServingContexts:
    return ServingContexts(str(pki.server.cert), str(pki.server.key), str(pki.ca.cert))


async def served_promptly(pki: Pki, port: int) -> None:
    """One request on a new connection succeeds (the 5 s bound only keeps a stuck server from
    hanging the test; performance is measured in bench/, not asserted here)."""
    async with httpx.AsyncClient(http2=True, verify=client_context(pki, alpn=["h2"])) as c:
        response = await c.get(f"https://localhost:{port}/", timeout=5)
    assert response.status_code == 200


async def test_rapid_reset_gets_enhance_your_calm(pki: Pki, contexts: ServingContexts) -> None:
    """2,000 HEADERS + RST_STREAM pairs: GOAWAY ENHANCE_YOUR_CALM, the reset requests' apps are
    cancelled (mostly before they ever ran), and another connection is served at once."""
    app = SlowApp()
    async with serve(app, contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            await client.wait(lambda: bool(client.remote_settings))
            for _ in range(20):
                for _ in range(100):
                    sid = client.conn.get_next_available_stream_id()
                    client.conn.send_headers(
                        sid,
                        [
                            (b":method", b"GET"),
                            (b":path", b"/slow"),
                            (b":scheme", b"https"),
                            (b":authority", b"localhost"),
                        ],
                        end_stream=True,
                    )
                    client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                client.flush()
                await asyncio.sleep(0)
                if client.terminated is not None:
                    break
            await client.wait(lambda: client.terminated is not None, bound=5)
            assert client.terminated is not None
            assert client.terminated.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
            await client.wait(lambda: client.closed.is_set())
            await served_promptly(pki, served.port)
            # No reset request finished its 0.5 s of work: every one that started was cancelled.
            await eventually(lambda: app.slow == app.cancelled, "reset apps cancelled")
            assert app.slow < 1000
            await eventually(lambda: len(served.state.tasks) == 0, "no task left")
        finally:
            await client.close()


async def test_reset_streams_count_against_the_stream_limit(
    pki: Pki, contexts: ServingContexts
) -> None:
    """Streams reset after their response started whose app has not returned still hold a
    slot of MAX_CONCURRENT_STREAMS: the next request is refused, not run."""
    app = SlowApp()
    options = {"max_concurrent_streams": 10}
    async with serve(app, contexts.listener, h2_options=options) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            await client.wait(lambda: bool(client.remote_settings))
            held = [client.request("/hold") for _ in range(10)]
            await eventually(lambda: app.held == 10, "10 streams held")
            for sid in held:
                client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client.flush()
            extra = client.request("/")
            await client.wait(lambda: client.streams[extra].reset_code is not None)
            assert client.streams[extra].reset_code == h2.errors.ErrorCodes.REFUSED_STREAM
            assert app.calls == 10
            app.release.set()
            await eventually(lambda: len(served.state.tasks) == 0, "held apps returned")
            ok = client.request("/")
            await client.wait(lambda: client.streams[ok].ended)
            assert client.streams[ok].status == 200
            assert client.terminated is None
        finally:
            await client.close()


async def test_a_few_resets_are_fine_and_cancel_the_app(
    pki: Pki, contexts: ServingContexts
) -> None:
    """A client cancelling some requests (before and after their response head) keeps its
    connection; an app reset before responding is cancelled instead of doing its work."""
    app = SlowApp()
    async with serve(app, contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            for held in range(1, 6):
                slow = client.request("/slow")
                watch = client.request("/hold")
                await eventually(lambda: app.held == held, "watch held")  # noqa: B023
                client.conn.reset_stream(slow, h2.errors.ErrorCodes.CANCEL)
                client.conn.reset_stream(watch, h2.errors.ErrorCodes.CANCEL)
                client.flush()
                ok = client.request("/")
                await client.wait(lambda: client.streams[ok].ended)  # noqa: B023
                assert client.streams[ok].status == 200
            await eventually(lambda: app.cancelled == 5, "the 5 slow apps cancelled")
            assert client.terminated is None
            assert not client.closed.is_set()
            app.release.set()
        finally:
            await client.close()


async def _open_non_reading(port: int, ctx: ssl.SSLContext) -> asyncio.StreamWriter:
    """A TLS connection whose client reads (almost) nothing: a 4 KiB receive buffer and a
    StreamReader that stops reading the socket after 2 KiB."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(
        sock=sock, ssl=ctx, server_hostname="localhost", limit=1024
    )
    return writer


async def test_ping_flood_without_reading_is_cut_off(pki: Pki, contexts: ServingContexts) -> None:
    """PINGs from a client that does not read: the server drops the connection (its replies
    pile up) instead of buffering them without bound, and meanwhile serves others promptly."""
    async with serve(SlowApp(), contexts.listener) as served:
        writer = await _open_non_reading(served.port, client_context(pki, alpn=["h2"]))
        try:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            writer.write(conn.data_to_send())
            pings = PingFrame(0, opaque_data=b"12345678").serialize() * 1000  # 17 KB
            await eventually(lambda: len(served.state.connections) == 1, "connected")
            for batch in range(1000):  # at most 17 MB of PINGs
                if not served.state.connections:
                    break
                writer.write(pings)
                with contextlib.suppress(ConnectionError, ssl.SSLError):
                    await asyncio.wait_for(writer.drain(), 5)
                if batch % 100 == 0:
                    await served_promptly(pki, served.port)
            await eventually(lambda: not served.state.connections, "the flood connection closed")
            await served_promptly(pki, served.port)
        finally:
            writer.transport.abort()
