"""One gRPC bidirectional stream over a plain HTTP/2 connection on the event loop: what the etcd
Watch stream needs, without grpc's C-core (docs/decisions/0020-ingest.md).

Why: with grpc.aio every watch response crosses grpc's event_engine threads, a completion queue
and the aio poller before Python sees it -- ~350 µs of CPU per etcd event when the proxy sleeps
between events, ~55 µs of which is the loop's own wake-up. Here the bytes arrive in
`data_received` on the loop thread and the message callback runs right there.

Scope (RFC 9113 client side, one stream per connection): the preface and SETTINGS (acked),
PING (answered; sent as keepalive), flow control both ways (receive windows credited as data
arrives; sends held back while the peer's window is short), HEADERS/CONTINUATION decoded with
hpack (the dynamic table must follow every block), DATA reassembled into gRPC length-prefixed
messages (gRPC over HTTP/2, PROTOCOL-HTTP2.md), trailers' grpc-status/grpc-message,
RST_STREAM and GOAWAY. Not supported, because etcd never needs them: compressed messages
(we do not offer any grpc-encoding), server push (disabled in our SETTINGS), several streams.

Ownership: the event loop. The stream ends by setting `done`: result None after `cancel()`,
else an exception -- `StreamFailed` (with the gRPC status code, or None for transport failures).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Sequence
from typing import Final, cast

import hpack

_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Frame types and flags (RFC 9113 section 6).
_DATA, _HEADERS, _RST_STREAM, _SETTINGS, _PING, _GOAWAY, _WINDOW_UPDATE, _CONTINUATION = (
    0, 1, 3, 4, 6, 7, 8, 9,
)  # fmt: skip
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_SETTINGS_ENABLE_PUSH, _SETTINGS_INITIAL_WINDOW_SIZE = 0x2, 0x4
_CANCEL: Final = 0x8  # RST_STREAM error code
# Our receive window (stream and connection): credited back as soon as data arrives, once half
# is used. 16 MiB keeps a catch-up burst flowing without a round trip per 64 KiB.
RECEIVE_WINDOW: Final = 16 * 1024 * 1024
_DEFAULT_WINDOW: Final = 65_535
_STREAM_ID: Final = 1  # the only stream of the connection


class StreamFailed(Exception):
    """The stream ended without cancel(): ``code`` is the gRPC status code number (0 = OK, the
    server ended the stream; 14 = UNAVAILABLE...), or None when the connection failed (closed,
    reset, keepalive unanswered, HTTP error); ``details`` says what happened."""

    def __init__(self, code: int | None, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes((kind, flags))
        + struct.pack(">I", stream)
        + payload
    )


class GrpcStreamProtocol(asyncio.Protocol):
    """An HTTP/2 client connection carrying one gRPC stream (``path``), opened on connect with
    ``first_message`` (a serialized request) and left open for more (`send_message`).

    ``on_message(payload)`` gets every response message (bytes, the protobuf encoding) in order,
    on the loop thread; if it raises, the stream is reset and `done` fails with that exception.
    ``keepalive`` (seconds): a PING after that long without a frame from the server, and the
    connection is given up ``keepalive_timeout`` seconds later if unanswered (grpc's
    keepalive_time_ms / keepalive_timeout_ms, as the grpc channel options set them).
    """

    def __init__(
        self,
        *,
        authority: str,
        scheme: str,
        path: str,
        metadata: Sequence[tuple[str, str]],
        first_message: bytes,
        on_message: Callable[[bytes], None],
        keepalive: float = 30.0,
        keepalive_timeout: float = 10.0,
        coalesce: float = 0.0,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.done: asyncio.Future[None] = loop.create_future()
        # Mark the outcome retrieved: a stream nobody waits for any more must not log it.
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._on_message = on_message
        headers = [
            (":method", "POST"),
            (":scheme", scheme),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("user-agent", "watchproxy-h2"),
            *metadata,
        ]
        self._header_block = hpack.Encoder().encode(headers)
        self._decoder = hpack.Decoder()
        self._first_message = first_message
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()  # unparsed frame bytes
        self._message = bytearray()  # gRPC message bytes not yet complete
        self._headers_seen = False
        self._continuation: tuple[int, bytearray] | None = None  # (flags, block) in progress
        self._received = 0  # bytes of DATA not yet credited back
        self._send_window = _DEFAULT_WINDOW  # the peer's connection window
        self._stream_send_window = _DEFAULT_WINDOW  # the peer's window for our stream
        self._initial_stream_window = _DEFAULT_WINDOW
        self._held: list[bytes] = []  # DATA payloads waiting for send window
        self._keepalive = keepalive
        self._keepalive_timeout = keepalive_timeout
        self._heard = loop.time()
        self._ping_sent_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Reading is paused for `coalesce` seconds after each read (0: never), so responses
        # arriving meanwhile are read and handled together in one wake-up.
        self._coalesce = coalesce
        self._coalescing: asyncio.TimerHandle | None = None
        self._consumer_paused = False
        self._reading_paused = False

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        settings = struct.pack(">HI", _SETTINGS_ENABLE_PUSH, 0) + struct.pack(
            ">HI", _SETTINGS_INITIAL_WINDOW_SIZE, RECEIVE_WINDOW
        )
        # The connection window starts at 65,535 whatever SETTINGS say; only an update raises it.
        extra = RECEIVE_WINDOW - _DEFAULT_WINDOW
        transport.write(
            _PREFACE
            + _frame(_SETTINGS, 0, 0, settings)
            + (_frame(_WINDOW_UPDATE, 0, 0, struct.pack(">I", extra)) if extra > 0 else b"")
            + _frame(_HEADERS, _END_HEADERS, _STREAM_ID, self._header_block)
        )
        self.send_message(self._first_message)
        self._arm_keepalive()

    def data_received(self, data: bytes) -> None:
        self._heard = self._loop.time()
        if self._buffer:
            self._buffer += data
            data = bytes(self._buffer)
            self._buffer.clear()
        view = memoryview(data)
        size = len(data)
        pos = 0
        try:
            while size - pos >= 9 and not self.done.done():
                length = int.from_bytes(view[pos : pos + 3], "big")
                if size - pos - 9 < length:
                    break
                kind = view[pos + 3]
                flags = view[pos + 4]
                stream = int.from_bytes(view[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
                payload = view[pos + 9 : pos + 9 + length]
                pos += 9 + length
                if kind == _DATA:
                    self._data(flags, stream, payload)
                else:
                    self._control(kind, flags, stream, payload)
        except StreamFailed as exc:
            self._fail(exc)
        except Exception as exc:  # the message callback's error ends the stream
            self._fail(exc)
        if pos < size and not self.done.done():
            self._buffer += view[pos:]
        if self._coalesce > 0 and self._coalescing is None and not self.done.done():
            self._coalescing = self._loop.call_later(self._coalesce, self._coalesce_done)
            self._set_reading()
        if self._received >= RECEIVE_WINDOW // 2 and not self.done.done():
            credit = struct.pack(">I", self._received)
            self._received = 0
            self._write(
                _frame(_WINDOW_UPDATE, 0, 0, credit) + _frame(_WINDOW_UPDATE, 0, _STREAM_ID, credit)
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
        if not self.done.done():
            self.done.set_exception(StreamFailed(None, f"connection lost ({exc or 'closed'})"))

    # -- frames --------------------------------------------------------------------------------

    def _data(self, flags: int, stream: int, payload: memoryview) -> None:
        self._received += len(payload)
        if stream != _STREAM_ID:
            return
        if flags & _PADDED:
            payload = payload[1 : len(payload) - payload[0]]
        message = self._message
        if message:
            message += payload
            chunk = memoryview(bytes(message))
            message.clear()
        else:
            chunk = payload
        pos, size = 0, len(chunk)
        while size - pos >= 5:
            if chunk[pos]:
                raise StreamFailed(13, "compressed gRPC message (none was offered)")
            length = int.from_bytes(chunk[pos + 1 : pos + 5], "big")
            if size - pos - 5 < length:
                break
            self._on_message(bytes(chunk[pos + 5 : pos + 5 + length]))
            pos += 5 + length
        if pos < size:
            message += chunk[pos:]
        if flags & _END_STREAM:
            raise StreamFailed(None, "stream ended without gRPC trailers")

    def _control(self, kind: int, flags: int, stream: int, payload: memoryview) -> None:
        if self._continuation is not None and kind != _CONTINUATION:
            raise StreamFailed(None, "HTTP/2 protocol error: header block interrupted")
        if kind == _HEADERS or kind == _CONTINUATION:
            self._header_frame(kind, flags, stream, payload)
        elif kind == _SETTINGS:
            if not flags & _ACK:
                self._settings(payload)
                self._write(_frame(_SETTINGS, _ACK, 0))
        elif kind == _PING:
            if flags & _ACK:
                self._ping_sent_at = None
            else:
                self._write(_frame(_PING, _ACK, 0, bytes(payload)))
        elif kind == _WINDOW_UPDATE:
            increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if stream == 0:
                self._send_window += increment
            elif stream == _STREAM_ID:
                self._stream_send_window += increment
            self._flush_held()
        elif kind == _RST_STREAM and stream == _STREAM_ID:
            code = int.from_bytes(payload[:4], "big")
            raise StreamFailed(None, f"stream reset by server (HTTP/2 error code {code})")
        elif kind == _GOAWAY:
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            code = int.from_bytes(payload[4:8], "big")
            if last < _STREAM_ID or code != 0:
                debug = bytes(payload[8:]).decode(errors="replace")
                raise StreamFailed(None, f"GOAWAY from server (code {code}) {debug}".rstrip())
            # A graceful GOAWAY covering our stream: it ends with trailers or the connection.
        # PRIORITY, PUSH_PROMISE (disabled) and unknown frame types are ignored (RFC 9113 4.1).

    def _settings(self, payload: memoryview) -> None:
        for offset in range(0, len(payload) - 5, 6):
            ident = int.from_bytes(payload[offset : offset + 2], "big")
            value = int.from_bytes(payload[offset + 2 : offset + 6], "big")
            if ident == _SETTINGS_INITIAL_WINDOW_SIZE:
                self._stream_send_window += value - self._initial_stream_window
                self._initial_stream_window = value
        self._flush_held()

    def _header_frame(self, kind: int, flags: int, stream: int, payload: memoryview) -> None:
        if kind == _HEADERS:
            if flags & _PADDED:
                payload = payload[1 : len(payload) - payload[0]]
            if flags & _PRIORITY:
                payload = payload[5:]
            self._continuation = (flags, bytearray(payload))
        else:
            assert self._continuation is not None  # checked by _control
            self._continuation[1].extend(payload)
        if not flags & _END_HEADERS:
            return
        first_flags, block = self._continuation
        self._continuation = None
        # Decode every block, ours or not: the hpack dynamic table depends on all of them.
        headers = {
            bytes(k).decode(errors="replace"): bytes(v).decode(errors="replace")
            for k, v in self._decoder.decode(bytes(block), raw=True)
        }
        if stream != _STREAM_ID:
            return
        if not self._headers_seen:
            self._headers_seen = True
            status = headers.get(":status", "")
            if status != "200":
                raise StreamFailed(None, f"HTTP status {status or '?'} from server")
            if not first_flags & _END_STREAM:
                return  # response headers; a trailers-only response falls through
        elif not first_flags & _END_STREAM:
            return
        code = headers.get("grpc-status")
        raise StreamFailed(
            int(code) if code and code.isdigit() else None,
            headers.get("grpc-message", "") or f"stream ended (grpc-status {code})",
        )

    # -- sending -------------------------------------------------------------------------------

    def send_message(self, message: bytes) -> None:
        """Send one gRPC message on the stream (held while the peer's window is short)."""
        self._held.append(b"\x00" + struct.pack(">I", len(message)) + message)
        self._flush_held()

    def _flush_held(self) -> None:
        while self._held and self._transport is not None:
            payload = self._held[0]
            if len(payload) > min(self._send_window, self._stream_send_window):
                return
            self._held.pop(0)
            self._send_window -= len(payload)
            self._stream_send_window -= len(payload)
            self._write(_frame(_DATA, 0, _STREAM_ID, payload))

    def pause_reading(self, paused: bool) -> None:
        """Stop (True) or resume (False) reading the socket: back-pressure for a slow consumer;
        the server then stops when our receive window is used up."""
        self._consumer_paused = paused
        self._set_reading()

    def _set_reading(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        paused = self._consumer_paused or self._coalescing is not None
        if paused != self._reading_paused:
            self._reading_paused = paused
            if paused:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _coalesce_done(self) -> None:
        self._coalescing = None
        self._set_reading()

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    # -- keepalive and ending ------------------------------------------------------------------

    def _arm_keepalive(self) -> None:
        self._timer = self._loop.call_later(self._keepalive, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        if self.done.done():
            return
        now = self._loop.time()
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at >= self._keepalive_timeout:
                self._fail(StreamFailed(None, "keepalive ping not answered"))
                return
            self._timer = self._loop.call_later(
                self._ping_sent_at + self._keepalive_timeout - now, self._keepalive_tick
            )
            return
        if now - self._heard >= self._keepalive:
            self._ping_sent_at = now
            self._write(_frame(_PING, 0, 0, b"\x00" * 8))
            self._timer = self._loop.call_later(self._keepalive_timeout, self._keepalive_tick)
        else:
            self._timer = self._loop.call_later(
                self._heard + self._keepalive - now, self._keepalive_tick
            )

    def _fail(self, exc: BaseException) -> None:
        if not self.done.done():
            self.done.set_exception(exc)
        self._close(reset=True)

    def cancel(self) -> None:
        """End the stream (RST_STREAM CANCEL) and the connection; `done` -> None. Idempotent."""
        if not self.done.done():
            self.done.set_result(None)
        self._close(reset=True)

    def _close(self, *, reset: bool) -> None:
        for timer in (self._timer, self._coalescing):
            if timer is not None:
                timer.cancel()
        self._timer = self._coalescing = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            if reset:
                transport.write(_frame(_RST_STREAM, 0, _STREAM_ID, struct.pack(">I", _CANCEL)))
            transport.close()
