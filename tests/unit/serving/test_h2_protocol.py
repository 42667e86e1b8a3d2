"""The serving protocols over real loopback TLS sockets: ALPN dispatch, the ASGI TLS extension
on both protocols, HTTP/2 streams, flow control and backpressure, limits, errors, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import ssl
import time
from collections.abc import Callable
from typing import Any

import h2.connection
import h2.errors
import h2.events
import h2.settings
import httpx
import pytest
from hyperframe.frame import GoAwayFrame

from tests.unit.serving.harness import RawH2Client, eventually, serve
from tests.unit.serving.pki import Pki, client_context
from watchproxy.serving import serving_statistics
from watchproxy.serving.tls import ServingContexts

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class App:
    """Routes by path: /echo (the scope as JSON), /stream?n=N&size=S (N chunks of S bytes,
    recording how many bytes `send` accepted), /wait (a streaming response held open until
    `release` is set), /mixed?n=N (N chunks of 10 B, 2 KiB and 20 KiB in turn), /boom (raises
    before responding), /boom-after (raises mid-response), /noread (answers
    after 0.1 s without reading the request body)."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.disconnects: list[bool] = []

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        path = scope["path"]
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
        if path == "/echo":
            await self.echo(scope, receive, send)
        elif path == "/stream":
            await self.stream(query, send)
        elif path == "/mixed":
            await self.mixed(query, send)
        elif path == "/wait":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
            self.started.set()
            await self.release.wait()
            await send({"type": "http.response.body", "body": b"last\n"})
        elif path == "/watch-disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            self.started.set()
            while (await receive())["type"] != "http.disconnect":
                pass
            self.disconnects.append(receive.__self__.disconnected)  # type: ignore[attr-defined]
        elif path == "/boom":
            raise RuntimeError("boom")
        elif path == "/boom-after":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"partial", "more_body": True})
            raise RuntimeError("boom after start")
        elif path == "/noread":
            await asyncio.sleep(0.1)  # the body arrives and waits, unread
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    async def echo(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        tls = dict(scope.get("extensions", {}).get("tls") or {})
        der = tls.pop("client_cert_der", None)
        out = {
            "http_version": scope["http_version"],
            "scheme": scope["scheme"],
            "method": scope["method"],
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "query_string": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "has_tls": "tls" in scope.get("extensions", {}),
            "tls": tls,
            "der": der.hex() if der else None,
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        payload = json.dumps(out).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    # Connection-specific: must be dropped on HTTP/2 (h2 refuses to send it).
                    (b"connection", b"keep-alive"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def stream(self, query: dict[str, str], send: Send) -> None:
        name, n, size = query.get("name", ""), int(query["n"]), int(query["size"])
        self.sent[name] = 0
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(n):
            chunk = bytes([65 + i % 26]) * size
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            self.sent[name] += size
        await send({"type": "http.response.body", "body": b""})

    async def mixed(self, query: dict[str, str], send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(int(query["n"])):
            size = MIXED_SIZES[i % len(MIXED_SIZES)]
            await send({"type": "http.response.body", "body": b"m" * size, "more_body": True})
            await asyncio.sleep(0)  # interleave with the other streams, as watch writers do
        await send({"type": "http.response.body", "body": b""})


MIXED_SIZES = (10, 2 << 10, 20 << 10)


@pytest.fixture()
def contexts(pki: Pki) -> ServingContexts:
    return ServingContexts(str(pki.server.cert), str(pki.server.key), str(pki.ca.cert))


def delta(before: dict[str, int], key: str) -> int:
    return serving_statistics()[key] - before[key]


async def test_h2_scope_and_client_certificate(pki: Pki, contexts: ServingContexts) -> None:
    app = App()
    ctx = client_context(pki, alpn=["h2", "http/1.1"], cert=pki.client)
    async with serve(app, contexts.listener) as served:
        before = serving_statistics()
        async with httpx.AsyncClient(http2=True, verify=ctx) as client:
            r = await client.post(
                f"https://localhost:{served.port}/echo?watch=1&x=%2F",
                content=b"hello",
                headers={"X-Test": "Yes"},
            )
        assert r.http_version == "HTTP/2"
        assert "connection" not in r.headers
        echo = r.json()
        assert echo["http_version"] == "2"
        assert echo["scheme"] == "https"
        assert echo["method"] == "POST"
        assert echo["path"] == "/echo" and echo["raw_path"] == "/echo"
        assert echo["query_string"] == "watch=1&x=%2F"
        assert echo["headers"][0] == ["host", f"localhost:{served.port}"]
        assert ["x-test", "Yes"] in echo["headers"]
        assert not any(name.startswith(":") for name, _ in echo["headers"])
        assert echo["body_length"] == 5
        assert echo["tls"] == {
            "client_cert_chain": [pki.client.cert.read_text()],
            "client_cert_name": None,
            "client_cert_error": None,
            "tls_version": 0x0304,
            "cipher_suite": None,
            "server_cert": None,
        }
        assert bytes.fromhex(echo["der"]) == pki.client.der()
        assert delta(before, "connections_total_h2_tls") == 1
        assert delta(before, "connections_total_http1_tls") == 0


async def test_http1_over_tls_gets_the_tls_extension(pki: Pki, contexts: ServingContexts) -> None:
    ctx = client_context(pki, alpn=["http/1.1"], cert=pki.client)
    async with serve(App(), contexts.listener) as served:
        before = serving_statistics()
        async with httpx.AsyncClient(http2=False, verify=ctx) as client:
            echoes = [
                (await client.get(f"https://localhost:{served.port}/echo")).json() for _ in range(2)
            ]
        for echo in echoes:  # every request of the connection, not only the first
            assert echo["http_version"] == "1.1" and echo["scheme"] == "https"
            assert bytes.fromhex(echo["der"]) == pki.client.der()
            assert echo["tls"]["client_cert_chain"] == [pki.client.cert.read_text()]
        assert delta(before, "connections_total_http1_tls") == 1
        assert delta(before, "connections_total_h2_tls") == 0


async def test_no_client_certificate(pki: Pki, contexts: ServingContexts) -> None:
    ctx = client_context(pki, alpn=["h2"])
    async with serve(App(), contexts.listener) as served:
        async with httpx.AsyncClient(http2=True, verify=ctx) as client:
            echo = (await client.get(f"https://localhost:{served.port}/echo")).json()
    assert echo["tls"]["client_cert_chain"] == [] and echo["der"] is None


async def test_plain_http1_has_no_tls_extension() -> None:
    async with serve(App(), None) as served:
        before = serving_statistics()
        async with httpx.AsyncClient() as client:
            echo = (await client.get(f"http://127.0.0.1:{served.port}/echo")).json()
        assert echo["http_version"] == "1.1" and echo["scheme"] == "http"
        assert echo["has_tls"] is False
        assert delta(before, "connections_total_http1_plain") == 1


async def test_settings_advertised(pki: Pki, contexts: ServingContexts) -> None:
    async with serve(App(), contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            await client.wait(lambda: bool(client.remote_settings))
            settings = h2.settings.SettingCodes
            assert client.remote_settings[settings.MAX_CONCURRENT_STREAMS] == 1000
            assert client.remote_settings[settings.INITIAL_WINDOW_SIZE] == 1 << 20
            assert client.remote_settings[settings.MAX_HEADER_LIST_SIZE] == 1 << 20
        finally:
            await client.close()


async def test_many_streams_share_one_connection(pki: Pki, contexts: ServingContexts) -> None:
    ctx = client_context(pki, alpn=["h2"])
    async with serve(App(), contexts.listener) as served:
        before = serving_statistics()
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(http2=True, verify=ctx, limits=limits) as client:
            url = f"https://localhost:{served.port}/stream?n=20&size=1000"
            responses = await asyncio.gather(*(client.get(url) for _ in range(200)))
        assert all(r.status_code == 200 and len(r.content) == 20_000 for r in responses)
        assert delta(before, "connections_total_h2_tls") == 1
        assert delta(before, "h2_streams_total") == 200
        assert serving_statistics()["h2_streams_open"] == before["h2_streams_open"]


async def test_request_body_larger_than_the_windows(pki: Pki, contexts: ServingContexts) -> None:
    """5 MiB through a 256 KiB stream window and a 1 MiB connection window: only the app's
    reads give the windows back, so this completes only if they do."""
    body = bytes(range(256)) * (5 * 4096)
    options = {"stream_window": 256 << 10, "connection_window": 1 << 20}
    async with serve(App(), contexts.listener, h2_options=options) as served:
        ctx = client_context(pki, alpn=["h2"])
        async with httpx.AsyncClient(http2=True, verify=ctx, timeout=10) as client:
            r = await client.put(f"https://localhost:{served.port}/echo", content=body)
    echo = r.json()
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_unread_bodies_give_the_connection_window_back(
    pki: Pki, contexts: ServingContexts
) -> None:
    options = {"stream_window": 128 << 10, "connection_window": 256 << 10}
    async with serve(App(), contexts.listener, h2_options=options) as served:
        ctx = client_context(pki, alpn=["h2"])
        async with httpx.AsyncClient(http2=True, verify=ctx, timeout=10) as client:
            url = f"https://localhost:{served.port}"
            for _ in range(8):  # 8 x 100 KiB never read > the 256 KiB connection window
                r = await client.post(url + "/noread", content=b"x" * (100 << 10))
                assert r.status_code == 204
            echo = (await client.post(url + "/echo", content=b"y" * (200 << 10))).json()
    assert echo["body_length"] == 200 << 10


async def test_stalled_stream_does_not_hold_up_the_others(
    pki: Pki, contexts: ServingContexts
) -> None:
    """The client never acknowledges stream A: the app's `send` for A waits once A's window
    is spent (so nothing piles up in memory), while B on the same connection gets its 2 MiB.
    Once A's window opens, A completes."""
    app = App()
    async with serve(app, contexts.listener) as served:
        before = serving_statistics()
        client = RawH2Client(initial_window=65535)
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            a = client.request("/stream?name=a&n=512&size=4096")
            client.stalled.add(a)
            b = client.request("/stream?name=b&n=512&size=4096")
            await client.wait(lambda: client.streams[b].ended)
            assert len(client.streams[b].data) == 2 << 20
            assert len(client.streams[a].data) == 65535
            assert not client.streams[a].ended
            await asyncio.sleep(0.2)
            # Handed to send() and not yet refused: at most the window plus the waiting chunk.
            assert app.sent["a"] <= 65535 + 4096
            assert delta(before, "h2_flow_control_waits") >= 1
            client.release(a)
            await client.wait(lambda: client.streams[a].ended)
            assert len(client.streams[a].data) == 2 << 20
            assert app.sent["a"] == 2 << 20
        finally:
            await client.close()


async def test_small_stream_windows_share_the_connection_window(
    pki: Pki, contexts: ServingContexts
) -> None:
    """60 streams with 8 KiB windows on one connection whose 64 KiB window the first 8 of
    them can use up, bodies of 10 B to 20 KiB (more than a stream window: those wait for it),
    the client acknowledging every frame as h2 does (a WINDOW_UPDATE once half a window is
    used): every stream gets its whole body. A stream parked for the connection window must
    be woken whenever the connection window opens (goes red if a connection WINDOW_UPDATE
    wakes nobody). Guards the review finding of issue 10 (42 of 60 watches were reported to
    get nothing), which did not reproduce on this code."""
    n = 30
    expected = sum(MIXED_SIZES[i % len(MIXED_SIZES)] for i in range(n))
    async with serve(App(), contexts.listener) as served:
        client = RawH2Client(initial_window=8192)
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            sids = [client.request(f"/mixed?n={n}") for _ in range(60)]

            def done() -> bool:
                return all(client.streams[sid].ended for sid in sids)

            with contextlib.suppress(TimeoutError):
                await client.wait(done, bound=30)
            got = [len(client.streams[sid].data) for sid in sids]
            assert got == [expected] * 60, f"bytes per stream: {got}"
        finally:
            await client.close()


async def test_events_of_many_streams_leave_in_one_write() -> None:
    """Coalescing: chunks sent by 100 stream tasks in one loop iteration reach the transport
    as one write (plain transport here, to count writes exactly)."""
    import h2.config
    import h2.connection
    import uvicorn
    from uvicorn.server import ServerState

    from watchproxy.serving.h2 import H2Protocol

    go = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await go.wait()
        await send({"type": "http.response.body", "body": b"event\n", "more_body": True})
        await asyncio.Event().wait()  # held open until cancelled

    class Transport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[bytes] = []

        def write(self, data: Any) -> None:
            self.writes.append(bytes(data))

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return default

    config = uvicorn.Config(app, lifespan="off", proxy_headers=False)
    config.load()
    state = ServerState()
    protocol = H2Protocol(config, state, {}, asyncio.get_running_loop())
    transport = Transport()
    protocol.connection_made(transport)
    client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
    client.initiate_connection()
    for _ in range(100):
        sid = client.get_next_available_stream_id()
        client.send_headers(
            sid,
            [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"http"), (b":authority", b"x")],
            end_stream=True,
        )
    protocol.data_received(client.data_to_send())
    for _ in range(5):
        await asyncio.sleep(0)
    for data in transport.writes:  # settings, 100 response HEADERS
        client.receive_data(data)
    transport.writes.clear()
    go.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(transport.writes) == 1
    events = client.receive_data(transport.writes[0])
    assert sum(isinstance(e, h2.events.DataReceived) for e in events) == 100
    for task in list(state.tasks):
        task.cancel()
    await asyncio.sleep(0)


async def test_oversized_header_list(pki: Pki, contexts: ServingContexts) -> None:
    """Over the advertised limit: 431 on that stream, the connection goes on. Over the hard
    limit (2x, at least 64 KiB): GOAWAY ENHANCE_YOUR_CALM for that connection; the server
    keeps serving."""
    options = {"max_header_list_size": 16 << 10}
    async with serve(App(), contexts.listener, h2_options=options) as served:
        before = serving_statistics()
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            big = client.request("/echo", headers=[(b"x-big", b"v" * (20 << 10))])
            ok = client.request("/echo")
            await client.wait(lambda: client.streams[big].ended and client.streams[ok].ended)
            assert client.streams[big].status == 431
            assert client.streams[ok].status == 200
            assert delta(before, "h2_header_list_refused") == 1
            client.request("/echo", headers=[(b"x-huge", b"v" * (80 << 10))])
            await client.wait(lambda: client.terminated is not None)
            assert client.terminated is not None
            assert client.terminated.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
            await client.wait(lambda: client.closed.is_set())
        finally:
            await client.close()
        async with httpx.AsyncClient(http2=True, verify=client_context(pki, alpn=["h2"])) as c:
            assert (await c.get(f"https://localhost:{served.port}/echo")).status_code == 200


async def test_too_many_header_fields(pki: Pki, contexts: ServingContexts) -> None:
    """More fields than `max_header_count` (pseudo-headers not counted): 431 on that stream."""
    async with serve(App(), contexts.listener, h2_options={"max_header_count": 20}) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            fields = [(b"x-h%d" % i, b"v") for i in range(21)]
            many = client.request("/echo", headers=fields)
            ok = client.request("/echo", headers=fields[:20])
            await client.wait(lambda: client.streams[many].ended and client.streams[ok].ended)
            assert client.streams[many].status == 431
            assert client.streams[ok].status == 200
        finally:
            await client.close()


async def test_app_errors(pki: Pki, contexts: ServingContexts) -> None:
    async with serve(App(), contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            before = client.request("/boom")
            after = client.request("/boom-after")
            await client.wait(
                lambda: (
                    client.streams[before].ended and client.streams[after].reset_code is not None
                )
            )
            assert client.streams[before].status == 500
            assert client.streams[before].data == b""
            assert client.streams[after].reset_code == h2.errors.ErrorCodes.INTERNAL_ERROR
            ok = client.request("/echo")
            await client.wait(lambda: client.streams[ok].ended)
            assert client.streams[ok].status == 200
            assert client.terminated is None
        finally:
            await client.close()


async def test_client_reset_is_a_disconnect(pki: Pki, contexts: ServingContexts) -> None:
    app = App()
    async with serve(app, contexts.listener) as served:
        before = serving_statistics()
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            sid = client.request("/watch-disconnect")
            await asyncio.wait_for(app.started.wait(), 5)
            client.conn.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
            client.flush()
            await eventually(lambda: bool(app.disconnects), "the app saw the disconnect")
            assert app.disconnects == [True]
            assert delta(before, "h2_streams_reset_by_client") == 1
        finally:
            await client.close()


async def test_graceful_shutdown(pki: Pki, contexts: ServingContexts) -> None:
    """shutdown(): GOAWAY naming the last stream; the stream in flight finishes; a new stream
    is refused; the connection closes once nothing is in flight."""
    app = App()
    async with serve(app, contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            held = client.request("/wait")
            await asyncio.wait_for(app.started.wait(), 5)
            served.shutdown_connections()
            await client.wait(lambda: client.terminated is not None)
            assert client.terminated is not None
            assert client.terminated.last_stream_id == held
            assert client.terminated.error_code == h2.errors.ErrorCodes.NO_ERROR
            # A client that sent its request before the GOAWAY reached it (h2's client state
            # machine refuses to send after GOAWAY: reopen it to play that race).
            client.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
            late = client.request("/echo")
            await client.wait(lambda: client.streams[late].reset_code is not None)
            assert client.streams[late].reset_code == h2.errors.ErrorCodes.REFUSED_STREAM
            assert not client.closed.is_set()
            app.release.set()
            await client.wait(lambda: client.closed.is_set())
            assert bytes(client.streams[held].data) == b"first\nlast\n"
            assert client.streams[held].ended
            await eventually(lambda: not served.state.connections, "connection_lost")
            assert not served.state.connections  # what uvicorn waits for before exiting
        finally:
            await client.close()


async def test_idle_connection_is_closed(pki: Pki, contexts: ServingContexts) -> None:
    async with serve(App(), contexts.listener, keep_alive=1) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            sid = client.request("/echo")
            await client.wait(lambda: client.streams[sid].ended)
            started = time.monotonic()
            await client.wait(lambda: client.closed.is_set(), bound=5)
            assert 0.5 < time.monotonic() - started < 3
            assert client.terminated is not None
        finally:
            await client.close()


async def test_certificate_from_another_ca_fails_the_handshake(
    pki: Pki, contexts: ServingContexts, tmp_path: Any
) -> None:
    from tests.unit.serving.pki import CLIENT_EXT, issue, make_ca

    other = make_ca(tmp_path, "other-ca")
    mallory = issue(tmp_path, other, "mallory", "/CN=mallory/O=system:masters", CLIENT_EXT, 7)
    ctx = client_context(pki, alpn=["h2"], cert=mallory)
    async with serve(App(), contexts.listener) as served:
        with pytest.raises((ssl.SSLError, ConnectionError, httpx.HTTPError)):
            async with httpx.AsyncClient(http2=True, verify=ctx) as client:
                await client.get(f"https://localhost:{served.port}/echo")


async def test_client_goaway_closes_the_connection(pki: Pki, contexts: ServingContexts) -> None:
    """h2 refuses to send anything after receiving a GOAWAY (its connection state machine goes
    to CLOSED), so the streams in flight cannot finish: the server hangs up at once and their
    apps see a disconnect."""
    app = App()
    async with serve(app, contexts.listener) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            client.request("/watch-disconnect")
            await asyncio.wait_for(app.started.wait(), 5)
            # Written past the client's h2, which would refuse to receive after sending it.
            client.write_raw(GoAwayFrame(stream_id=0, last_stream_id=0).serialize())
            await client.wait(lambda: client.closed.is_set())
            await eventually(lambda: app.disconnects == [True], "the app saw the disconnect")
            await eventually(lambda: not served.state.connections, "connection_lost")
        finally:
            await client.close()
