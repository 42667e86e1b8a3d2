"""The `http` protocol class given to uvicorn: one per accepted connection.

uvicorn builds it as `cls(config=..., server_state=..., app_state=..., _loop=...)` and calls
`connection_made` once the TLS handshake is done, so ALPN has been decided by then:
`h2` hands the transport to `H2Protocol`, anything else (http/1.1, no ALPN, plain TCP) to
uvicorn's httptools protocol, subclassed to put the ASGI TLS extension into every scope.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, Final, cast

import h2.config
import h2.connection
import httptools
from h2.errors import ErrorCodes
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from watchproxy import serving
from watchproxy.core.flush import WATCH_SINK
from watchproxy.serving.h2 import H2Protocol
from watchproxy.serving.watch_sink import Http1WatchSink

TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

# Connection hygiene defaults (the `Settings` fields of the same names set them in production).
DEFAULT_MAX_HEADER_BYTES: Final = 1 << 20  # Go's http.DefaultMaxHeaderBytes, as kube serves
DEFAULT_MAX_HEADER_COUNT: Final = 1000
DEFAULT_HEADER_READ_TIMEOUT_SECONDS: Final = 10.0
DEFAULT_MAX_CONNECTIONS: Final = 10_000
# Bytes a request's headers may take on the wire beyond `max_header_bytes` before they are
# refused unparsed (Go's net/http allows 4096 over MaxHeaderBytes too): httptools buffers a
# header until it is complete, so this bounds what one unfinished header can hold.
HEADER_SLACK_BYTES: Final = 4096

log = logging.getLogger("watchproxy.serving")

REASONS: Final = {
    408: (b"Request Timeout", "Timeout"),
    431: (b"Request Header Fields Too Large", "BadRequest"),
    503: (b"Service Unavailable", "ServiceUnavailable"),
}


def status_response(code: int, message: str) -> bytes:
    """A whole HTTP/1.1 response with a Kubernetes `Status` body and `Connection: close`, for
    what the server answers before (or instead of) the app."""
    phrase, reason = REASONS[code]
    body = json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    ).encode()
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (code, phrase),
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class _Pipeline(list[Any]):
    """uvicorn's queue of pipelined requests (it only calls appendleft, pop and bool): a list,
    56 bytes while empty -- always, but for pipelining clients -- where a deque holds a
    64-slot block (~620 bytes) per connection (decision 0023)."""

    __slots__ = ()

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


def slim_event(event: asyncio.Event) -> asyncio.Event:
    """`event` with its waiter deque swapped for a list while nobody waits; returns it.

    asyncio.Event (3.11-3.13) only appends, removes and iterates its `_waiters`, which a list
    does as well; an empty deque is ~620 bytes, an empty list 56. uvicorn gives every
    HTTP/1.1 connection one Event (its flow control) and every request another (the cycle's
    message event), and a watch holds both for its life (decision 0023). Anything else
    (another Python's Event, waiters already there) is left as it is.
    """
    waiters = getattr(event, "_waiters", None)
    if type(waiters) is deque and not waiters:
        event._waiters = []  # type: ignore[assignment]
    return event


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
    """uvicorn's HTTP/1.1 (httptools) with `scope["extensions"]["tls"]` on TLS connections, and
    connection hygiene: a request whose request line and header fields exceed
    `max_header_bytes`, or with more than `max_header_count` fields, gets 431 and the connection
    closes; headers not complete within `header_read_timeout_seconds` (counted from the
    connection's start for its first request, from a request's first byte afterwards) get 408
    (or, with a response under way, just the close). Idle keep-alive stays uvicorn's."""

    # This class's own attributes live in slots, uvicorn's in the instance dict: uvicorn sets
    # 27, and CPython (3.11: SHARED_KEYS_MAX_SIZE 30) shares one key table between the dicts
    # of a class's instances only up to 30 keys; past that every connection -- every
    # HTTP/1.1 watch -- carries a dict of its own (~1.6 KB instead of ~0.4; decision 0023).
    __slots__ = (
        "counted",
        "header_bytes",
        "header_count",
        "header_read_timeout_seconds",
        "header_timer",
        "kind",
        "max_header_bytes",
        "max_header_count",
        "reading_headers",
        "refusal",
        "tls",
        "wire_bytes",
    )

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        tls: dict[str, Any] | None = None,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_header_count: int = DEFAULT_MAX_HEADER_COUNT,
        header_read_timeout_seconds: float = DEFAULT_HEADER_READ_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.pipeline = _Pipeline()  # type: ignore[assignment]
        self.tls = tls
        self.kind = serving.HTTP1_TLS if tls is not None else serving.HTTP1_PLAIN
        self.counted = False
        self.max_header_bytes = max_header_bytes
        self.max_header_count = max_header_count
        self.header_read_timeout_seconds = header_read_timeout_seconds
        self.reading_headers = True  # until a request's headers are complete
        self.header_bytes = 0  # request line + fields of the current request, as parsed
        self.header_count = 0
        self.wire_bytes = 0  # received since the last headers were complete
        self.refusal: str | None = None  # set by a parser callback that refuses the request
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        slim_event(self.flow._is_writable_event)
        self.counted = True
        serving.connection_opened(self.kind)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self.counted:
            self.counted = False
            serving.connection_closed(self.kind)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's, plus the header limits (a refusal raised in a parser callback surfaces
        # as HttpParserCallbackError) and the bound on an unfinished header's bytes.
        self._unset_keepalive_if_required()
        if self.reading_headers:
            self.wire_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self.refusal is None:
                raise
            self.refuse(431, self.refusal)
            return
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.reading_headers and self.wire_bytes > self.max_header_bytes + HEADER_SLACK_BYTES:
            self.refuse(431, f"request headers exceed {self.max_header_bytes} bytes")

    def refuse(self, code: int, message: str) -> None:
        """Answer `code` with a Status body and close the connection."""
        self._cancel_header_timer()
        serving.count(f"http1_refused_{code}")
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(status_response(code, message))
        self.transport.close()  # (with a response under way nothing fits in between)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_headers = True
        self.header_bytes = 0
        self.header_count = 0
        if self.header_timer is None:
            self._arm_header_timer()
        if self.tls is not None:
            self.scope["extensions"] = {"tls": cast(dict[object, object], self.tls)}

    def on_url(self, url: bytes) -> None:
        self._charge(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.max_header_count:
            self.refusal = f"more than {self.max_header_count} request header fields"
            raise ValueError(self.refusal)
        self._charge(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        self.wire_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # (not on an upgrade)
            slim_event(cycle.message_event)  # (just made: nobody waits on it yet)
            # A watch's live events bypass `send` through this (core/flush.py).
            extensions = self.scope.setdefault("extensions", {})
            extensions[WATCH_SINK] = Http1WatchSink(cycle)  # type: ignore[assignment]

    def _charge(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > self.max_header_bytes:
            self.refusal = f"request headers exceed {self.max_header_bytes} bytes"
            raise ValueError(self.refusal)

    # -- header read timeout (slowloris) -------------------------------------------------------

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        if self.header_read_timeout_seconds > 0:
            self.header_timer = self.loop.call_later(
                self.header_read_timeout_seconds, self._header_timeout
            )

    def _cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _header_timeout(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        serving.count("http1_header_timeouts")
        self.refuse(408, "request headers not received in time")


class RefusingProtocol(asyncio.Protocol):
    """A connection over `max_connections`: HTTP/1.1 gets `503` with a Status body and
    `Connection: close`, HTTP/2 a GOAWAY before any stream (clients retry elsewhere). The answer
    goes out once the client has sent something (its request or preface), so that closing does
    not reset a connection with unread request bytes and lose the answer; a client that sends
    nothing is closed after `timeout` seconds."""

    def __init__(self, h2: bool, timeout: float) -> None:
        self.h2 = h2
        self.timeout = timeout
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.transport = transport
        serving.count("connections_refused")
        self.timer = asyncio.get_running_loop().call_later(self.timeout, transport.close)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self.h2:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            conn.close_connection(ErrorCodes.NO_ERROR, additional_data=b"too many open connections")
            transport.write(conn.data_to_send())
        else:
            transport.write(status_response(503, "too many open connections, try again later"))
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class ServingProtocol(asyncio.Protocol):
    """Dispatches a new connection by its ALPN result; never sees a byte itself.

    `h2_options` are keyword arguments for `H2Protocol` (windows, limits); tests and benchmarks
    subclass to change them, and `run_server` to set the connection-hygiene limits below
    (`max_header_bytes` is also the HTTP/2 header list limit unless `h2_options` sets one)."""

    h2_options: ClassVar[Mapping[str, int]] = {}
    max_header_bytes: ClassVar[int] = DEFAULT_MAX_HEADER_BYTES
    max_header_count: ClassVar[int] = DEFAULT_MAX_HEADER_COUNT
    header_read_timeout_seconds: ClassVar[float] = DEFAULT_HEADER_READ_TIMEOUT_SECONDS
    max_connections: ClassVar[int] = DEFAULT_MAX_CONNECTIONS

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
        is_h2 = ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2"
        protocol: asyncio.Protocol
        if len(self.server_state.connections) >= self.max_connections:
            protocol = RefusingProtocol(is_h2, self.header_read_timeout_seconds)
        elif is_h2:
            protocol = H2Protocol(
                self.config,
                self.server_state,
                self.app_state,
                self.loop,
                tls=tls_extension(ssl_object),
                **{
                    "max_header_list_size": self.max_header_bytes,
                    "max_header_count": self.max_header_count,
                    **self.h2_options,
                },
            )
        else:
            protocol = Http1Protocol(
                self.config,
                self.server_state,
                self.app_state,
                self.loop,
                tls=tls_extension(ssl_object) if ssl_object is not None else None,
                max_header_bytes=self.max_header_bytes,
                max_header_count=self.max_header_count,
                header_read_timeout_seconds=self.header_read_timeout_seconds,
            )
        transport.set_protocol(protocol)
        protocol.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        pass  # only reached if the handshake-to-dispatch hand-off itself failed

    def data_received(self, data: bytes) -> None:  # pragma: no cover - replaced before any data
        raise RuntimeError("ServingProtocol received data before choosing a protocol")
