"""Connection hygiene over real loopback sockets: HTTP/1.1 request-header limits (431), the
header read timeout (408, slowloris), the per-process connection cap (503 / GOAWAY), the file
limit warning, and the settings that configure them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import h2.errors
import h2.settings
import pytest

from tests.unit.serving.harness import RawH2Client, serve
from tests.unit.serving.pki import Pki, client_context
from tests.unit.test_config import mutate
from watchproxy.config import ConfigError, parse_settings
from watchproxy.serving.filelimit import warn_if_file_limit_low
from watchproxy.serving.tls import ServingContexts

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


async def ok_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    assert scope["type"] == "http"
    body = json.dumps({"headers": len(scope["headers"])}).encode()
    length = str(len(body)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def contexts(pki: Pki) -> ServingContexts:
    return ServingContexts(str(pki.server.cert), str(pki.server.key), str(pki.ca.cert))


async def exchange(port: int, request: bytes) -> tuple[bytes, float]:
    """Send `request` on a new plain connection; everything read until the server closes, and
    how long that took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(-1), 5)
    finally:
        writer.close()
    return data, loop.time() - start


def status_of(response: bytes) -> tuple[int, dict[str, Any], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    code = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(b":") for ln in lines[1:])}
    return code, {k.decode(): v.decode() for k, v in headers.items()}, body


def request(headers: list[tuple[str, str]] = (), path: str = "/") -> bytes:  # type: ignore[assignment]
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- request-header limits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(request([("x-big", "v" * 5000)]), id="one big header"),
        pytest.param(request([(f"x-h{i}", "v" * 200) for i in range(30)]), id="many medium"),
        pytest.param(request(path="/" + "a" * 5000), id="long url"),
        pytest.param(request([(f"x-h{i}", "v") for i in range(11)]), id="too many fields"),
        # never finished: refused once the unparsed bytes pass the limit + 4 KiB slack
        pytest.param(b"GET / HTTP/1.1\r\nx-endless: " + b"v" * 20000, id="unfinished header"),
    ],
)
async def test_request_headers_over_the_limits_get_431_and_close(raw: bytes) -> None:
    limits = {"max_header_bytes": 4096, "max_header_count": 10}
    async with serve(ok_app, None, limits=limits) as served:
        data, _ = await exchange(served.port, raw)
    code, headers, body = status_of(data)
    assert code == 431 and data.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert headers["connection"] == "close"
    status = json.loads(body)
    assert status["kind"] == "Status" and status["code"] == 431
    # the server closed the connection: reading returned EOF (exchange would time out)


async def test_requests_within_the_limits_are_served_on_one_connection() -> None:
    limits = {"max_header_bytes": 4096, "max_header_count": 10}
    async with serve(ok_app, None, limits=limits) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        try:
            for _ in range(3):
                writer.write(request([(f"x-h{i}", "v" * 300) for i in range(9)]))
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200")
                length = int(status_of(head)[1]["content-length"])
                assert json.loads(await reader.readexactly(length)) == {"headers": 10}
        finally:
            writer.close()


async def test_http2_header_list_limit_is_max_header_bytes(
    pki: Pki, contexts: ServingContexts
) -> None:
    async with serve(ok_app, contexts.listener, limits={"max_header_bytes": 12345}) as served:
        client = RawH2Client()
        await client.connect(served.port, client_context(pki, alpn=["h2"]))
        try:
            code = h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE
            await client.wait(lambda: code in client.remote_settings)
            assert client.remote_settings[code] == 12345
        finally:
            await client.close()


# -- header read timeout --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"GET / HTTP/1.1\r\nHost: localhost\r\nx-slow: a", id="slowloris"),
        pytest.param(b"", id="connection that never sends a request"),
    ],
)
async def test_headers_not_complete_in_time_get_408_and_close(raw: bytes) -> None:
    async with serve(ok_app, None, limits={"header_read_timeout_seconds": 0.3}) as served:
        data, took = await exchange(served.port, raw)
    code, headers, body = status_of(data)
    assert code == 408 and headers["connection"] == "close"
    assert json.loads(body)["reason"] == "Timeout"
    assert 0.25 < took < 3


async def test_header_timeout_does_not_cut_idle_keep_alive() -> None:
    """After a complete request the connection idles under keep-alive (30 s here), not the
    header timeout; the next request's timer starts at its first byte."""
    async with serve(ok_app, None, limits={"header_read_timeout_seconds": 0.3}) as served:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        try:
            for _ in range(2):
                writer.write(request())
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200")
                await reader.readexactly(int(status_of(head)[1]["content-length"]))
                await asyncio.sleep(0.6)
            writer.write(b"GET / HTTP/1.1\r\n")  # and then nothing: the timer runs again
            data = await asyncio.wait_for(reader.read(-1), 5)
            assert data.startswith(b"HTTP/1.1 408")
        finally:
            writer.close()


# -- connection cap -------------------------------------------------------------------------


async def test_connection_over_max_connections_gets_503_then_a_free_slot_serves() -> None:
    async with serve(ok_app, None, limits={"max_connections": 2}) as served:
        held = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
            writer.write(request())
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            held.append(writer)
        data, _ = await exchange(served.port, request())
        code, headers, body = status_of(data)
        assert code == 503 and headers["connection"] == "close"
        assert headers["content-type"] == "application/json"
        assert json.loads(body)["reason"] == "ServiceUnavailable"
        held.pop().close()
        await asyncio.sleep(0.1)
        data, _ = await exchange(served.port, request([("Connection", "close")]))
        assert data.startswith(b"HTTP/1.1 200")
        for writer in held:
            writer.close()


async def test_h2_connection_over_max_connections_gets_goaway(
    pki: Pki, contexts: ServingContexts
) -> None:
    async with serve(ok_app, contexts.listener, limits={"max_connections": 1}) as served:
        first = RawH2Client()
        await first.connect(served.port, client_context(pki, alpn=["h2"]))
        second = RawH2Client()
        try:
            await second.connect(served.port, client_context(pki, alpn=["h2"]))
            await second.wait(lambda: second.terminated is not None)
            assert second.terminated is not None
            assert second.terminated.error_code == h2.errors.ErrorCodes.NO_ERROR
            assert second.terminated.last_stream_id == 0
            assert first.terminated is None
        finally:
            await second.close()
            await first.close()


def test_file_limit_warning_names_the_field(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert warn_if_file_limit_low(1) is False
        assert not caplog.records
        assert warn_if_file_limit_low(10**12) is True
    assert "max_connections" in caplog.text


# -- settings -------------------------------------------------------------------------------


def test_hygiene_settings_defaults_and_overrides() -> None:
    settings = parse_settings(mutate("history_size", 10))
    assert settings.max_header_bytes == 1 << 20
    assert settings.max_header_count == 1000
    assert settings.header_read_timeout_seconds == 10.0
    assert settings.max_connections == 10_000
    changed = mutate("max_connections", 50)
    changed.update(max_header_bytes=8192, max_header_count=20, header_read_timeout_seconds=2.5)
    settings = parse_settings(changed)
    assert (settings.max_connections, settings.max_header_bytes) == (50, 8192)
    assert (settings.max_header_count, settings.header_read_timeout_seconds) == (20, 2.5)


@pytest.mark.parametrize(
    "field",
    ["max_header_bytes", "max_header_count", "header_read_timeout_seconds", "max_connections"],
)
@pytest.mark.parametrize("value", [0, -1, "many", float("nan")])
def test_bad_hygiene_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(mutate(field, value))
    assert str(info.value).startswith(field)
