"""The serving SSLContext and its reload: real handshakes over loopback after each file change."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from pathlib import Path

import pytest

from tests.unit.serving.pki import (
    CLIENT_EXT,
    SERVER_EXT,
    Pair,
    Pki,
    client_context,
    issue,
    make_ca,
    replace_file,
    serial_of,
)
from watchproxy.serving import serving_statistics
from watchproxy.serving.tls import ServingContexts, build_context


class Handshakes:
    """A TLS listener on `contexts.listener` that closes every connection after the handshake."""

    def __init__(self, contexts: ServingContexts) -> None:
        self.contexts = contexts
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Handshakes:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            asyncio.Protocol, "127.0.0.1", 0, ssl=self.contexts.listener
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def peer(self, ctx: ssl.SSLContext) -> tuple[int, str]:
        """(serial of the server certificate, ALPN) seen by a client with `ctx`."""
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
        )
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            return serial_of(ssl_object.getpeercert(binary_form=True)), str(
                ssl_object.selected_alpn_protocol()
            )
        finally:
            writer.close()


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


def copy_pair(pair: Pair, root: Path) -> Pair:
    root.mkdir(parents=True, exist_ok=True)
    out = Pair(root / "tls.crt", root / "tls.key")
    shutil.copy(pair.cert, out.cert)
    shutil.copy(pair.key, out.key)
    return out


def test_context_settings(pki: Pki) -> None:
    ctx = build_context(str(pki.server.cert), str(pki.server.key), None)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert ctx.verify_mode == ssl.CERT_NONE
    with_ca = build_context(str(pki.server.cert), str(pki.server.key), str(pki.ca.cert))
    assert with_ca.verify_mode == ssl.CERT_OPTIONAL  # token clients connect without a cert
    with pytest.raises(ssl.SSLError):
        build_context(str(pki.server.cert), str(pki.client.key), None)


async def test_alpn_prefers_h2(pki: Pki) -> None:
    contexts = ServingContexts(str(pki.server.cert), str(pki.server.key))
    async with Handshakes(contexts) as server:
        assert (await server.peer(client_context(pki, alpn=["http/1.1", "h2"])))[1] == "h2"
        assert (await server.peer(client_context(pki, alpn=["http/1.1"])))[1] == "http/1.1"


async def test_serving_certificate_reload(pki: Pki, tmp_path: Path) -> None:
    live = copy_pair(pki.server, tmp_path / "live")
    contexts = ServingContexts(str(live.cert), str(live.key), str(pki.ca.cert))
    renewed = issue(tmp_path, pki.ca, "renewed", "/CN=watchproxy", SERVER_EXT, 1002)
    ctx = client_context(pki, alpn=["h2"])
    async with Handshakes(contexts) as server:
        assert (await server.peer(ctx))[0] == 1001
        assert contexts.check() is False  # nothing changed
        before = serving_statistics()
        replace_file(renewed.key, live.key)
        # Half-way through a rotation (new key, old certificate): refused, old pair kept.
        assert contexts.check() is False
        assert serving_statistics()["tls_reload_failures"] == before["tls_reload_failures"] + 1
        assert (await server.peer(ctx))[0] == 1001
        replace_file(renewed.cert, live.cert)
        assert contexts.check() is True
        assert serving_statistics()["tls_reloads"] == before["tls_reloads"] + 1
        assert (await server.peer(ctx))[0] == 1002
        # The client CA and ALPN came along to the new context.
        assert (await server.peer(client_context(pki, alpn=["http/1.1"])))[1] == "http/1.1"
        assert contexts.current.verify_mode == ssl.CERT_OPTIONAL


async def test_watch_polls(pki: Pki, tmp_path: Path) -> None:
    live = copy_pair(pki.server, tmp_path / "live")
    contexts = ServingContexts(str(live.cert), str(live.key))
    renewed = issue(tmp_path, pki.ca, "renewed", "/CN=watchproxy", SERVER_EXT, 1003)
    task = asyncio.create_task(contexts.watch(0.05))
    try:
        async with Handshakes(contexts) as server:
            replace_file(renewed.key, live.key)
            replace_file(renewed.cert, live.cert)
            async with asyncio.timeout(5):
                while True:
                    if (await server.peer(client_context(pki, alpn=["h2"])))[0] == 1003:
                        break
                    await asyncio.sleep(0.05)
    finally:
        task.cancel()


async def test_client_ca_replacement_removes_the_old_ca(pki: Pki, tmp_path: Path) -> None:
    """OpenSSL only adds to a context's trust store; a new context per change honours the
    removal: after the CA file names only CA 2, CA 1's client certificates are refused."""
    ca2 = make_ca(tmp_path, "ca2")
    bob = issue(tmp_path, ca2, "bob", "/CN=bob/O=globex-devs", CLIENT_EXT, 3001)
    ca_file = tmp_path / "client-ca.crt"
    shutil.copy(pki.ca.cert, ca_file)
    contexts = ServingContexts(str(pki.server.cert), str(pki.server.key), str(ca_file))

    async def accepted(cert: Pair) -> bool:
        """An echo round trip with `cert` as the client certificate. (TLS 1.3: the server's
        verdict on it arrives after the client's side of the handshake; a read shows it.)"""
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context(pki, alpn=["h2"], cert=cert),
                server_hostname="localhost",
            )  # fmt: skip
            writer.write(b"x")
            data = await asyncio.wait_for(reader.read(1), 5)
            writer.close()
            return data == b"x"
        except (ssl.SSLError, ConnectionError):
            return False

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0, ssl=contexts.listener)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await accepted(pki.client)
        assert not await accepted(bob)
        replace_file(ca2.cert, ca_file)
        assert contexts.check() is True
        assert await accepted(bob)
        assert not await accepted(pki.client)
    finally:
        server.close()
