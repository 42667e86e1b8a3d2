"""The `http` protocol class given to uvicorn: one per accepted connection.

uvicorn builds it as `cls(config=..., server_state=..., app_state=..., _loop=...)` and calls
`connection_made` once the TLS handshake is done, so ALPN has been decided by then:
`h2` hands the transport to `H2Protocol`, anything else (http/1.1, no ALPN, plain TCP) to
uvicorn's httptools protocol, subclassed to put the ASGI TLS extension into every scope.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar, Final, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from watchproxy import serving
from watchproxy.serving.h2 import H2Protocol

TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension (https://asgi.readthedocs.io/en/latest/specs/tls.html) of one
    connection, computed once. The client certificate, when there is one, has been verified
    against the client CA during the handshake (CERT_OPTIONAL: a certificate that does not
    verify fails the handshake). `client_cert_der` (private key) is the leaf as DER, so the
    authenticator need not parse PEM. Only the leaf is given: Python 3.11 cannot read the chain
    the client sent."""
    der = ssl_object.getpeercert(binary_form=True)
    version = ssl_object.version()
    return {
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": TLS_VERSIONS.get(version or ""),
        "cipher_suite": None,
        "server_cert": None,
        "client_cert_der": der or None,
    }


class Http1Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 (httptools) with `scope["extensions"]["tls"]` on TLS connections."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        tls: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.tls = tls
        self.kind = serving.HTTP1_TLS if tls is not None else serving.HTTP1_PLAIN
        self.counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.counted = True
        serving.connection_opened(self.kind)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.counted:
            self.counted = False
            serving.connection_closed(self.kind)
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.tls is not None:
            self.scope["extensions"] = {"tls": cast(dict[object, object], self.tls)}


class ServingProtocol(asyncio.Protocol):
    """Dispatches a new connection by its ALPN result; never sees a byte itself.

    `h2_options` are keyword arguments for `H2Protocol` (windows, limits); tests and benchmarks
    subclass to change them."""

    h2_options: ClassVar[Mapping[str, int]] = {}

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.loop = _loop

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # (uvloop's transports are not asyncio.Transport subclasses: no isinstance check)
        ssl_object = transport.get_extra_info("ssl_object")
        tls = tls_extension(ssl_object) if ssl_object is not None else None
        protocol: asyncio.Protocol
        if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
            protocol = H2Protocol(
                self.config,
                self.server_state,
                self.app_state,
                self.loop,
                tls=tls,
                **self.h2_options,
            )
        else:
            protocol = Http1Protocol(
                self.config, self.server_state, self.app_state, self.loop, tls=tls
            )
        transport.set_protocol(protocol)
        protocol.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        pass  # only reached if the handshake-to-dispatch hand-off itself failed

    def data_received(self, data: bytes) -> None:  # pragma: no cover - replaced before any data
        raise RuntimeError("ServingProtocol received data before choosing a protocol")
