"""HTTP/2 for ASGI over the `h2` state machine: one `H2Protocol` per connection, one `H2Stream`
(and one task running the app) per request.

Flow control is the backpressure: a response body goes out only as far as the stream's and the
connection's send windows allow; the rest waits in the app's `await send(...)` for the peer's
WINDOW_UPDATE. A client that stops reading one watch therefore stops only that watch's writer
(whose queue is bounded: it falls behind and later catches up from the history), while the other
streams on the connection go on. Request bodies are acknowledged (the client's window reopened)
only as the app reads them, so an unread body holds at most one stream window of memory.

Frames are not written one by one: every change marks the connection dirty and one callback per
event-loop iteration writes everything h2 has queued, so one event fanned out to many streams of
one connection costs one TLS record and one write(2).

One module, over 400 lines: one HTTP/2 connection's state (streams, windows, the coalesced flush,
the hand-framed DATA path) is shared by every method; splitting it would pass that state around.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hpack import Decoder
from hyperframe.frame import GoAwayFrame
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.utils import (
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
)
from uvicorn.server import ServerState

from watchproxy import serving

logger = logging.getLogger("watchproxy.serving.h2")

Scope = dict[str, Any]
Message = dict[str, Any]

DEFAULT_MAX_CONCURRENT_STREAMS: Final = 1000  # kube-apiserver's --http2-max-streams-per-connection
DEFAULT_STREAM_WINDOW: Final = 1 << 20  # receive window per stream (request bodies)
DEFAULT_CONNECTION_WINDOW: Final = 16 << 20  # receive window of the whole connection
DEFAULT_MAX_HEADER_LIST_SIZE: Final = 1 << 20  # Go's http.DefaultMaxHeaderBytes, as kube serves
# Header fields of one request (not counting pseudo-headers), as HTTP/1.1's `max_header_count`.
DEFAULT_MAX_HEADER_COUNT: Final = 1000
# Frames up to 64 KiB: a header block may span 64 CONTINUATION frames (h2's backlog limit), so
# 16 KiB frames would end the connection on a header list below the 1 MiB limit above.
DEFAULT_MAX_FRAME_SIZE: Final = 1 << 16
# Flush synchronously once this much is queued inside one iteration (one large body).
FLUSH_THRESHOLD: Final = 256 << 10

# HTTP/2 rapid reset (CVE-2023-44487): a client sends HEADERS then RST_STREAM at once, over and
# over, so h2's concurrent-stream limit (which counts only open streams) never bites while every
# request still costs the server an app task. Three defences, as Go's net/http2 fix (x/net
# 0.17.0) and nginx 1.25.3: a stream reset before its response started has its app task
# cancelled (never started if it had not run yet); a connection never has more app tasks than
# its advertised MAX_CONCURRENT_STREAMS, reset streams included (Go: "reset streams count
# against the concurrency limit until their handler returns"; over it, REFUSED_STREAM); and more
# than this many such early resets within one second end the connection with GOAWAY
# ENHANCE_YOUR_CALM (Go ends it once 4 x MAX_CONCURRENT_STREAMS handlers queue up: its
# "too_many_early_resets"). A real client cancels a request before its response head only when
# its caller gives up (a timeout, a cancelled context): a handful per second; watches, once their
# head is out, are not counted. The attack runs at tens of thousands per second, so it is cut
# within a few milliseconds of its start, with at most 200 cheap cancelled tasks behind it.
DEFAULT_MAX_EARLY_RESETS_PER_SECOND: Final = 200
# PING / SETTINGS flood (CVE-2019-9512, CVE-2019-9515): h2 answers every PING and SETTINGS
# frame, and a client that sends them without reading grows the transport's write buffer without
# bound. While the transport's writes are paused (the client is not reading), count the control
# frames queued in reply (acks, RST_STREAMs); over Go's `maxQueuedControlFrames` (10,000) or
# with the write buffer over MAX_WRITE_BUFFER, GOAWAY ENHANCE_YOUR_CALM and abort. Response DATA
# cannot get there: it stops at the pause (send_data waits for the drain), so at most
# FLUSH_THRESHOLD + one frame + the high-water mark (~400 KiB) of it sits in the buffer.
# Reading is not paused while writes are: the non-reading client would then never be detected
# and its connection, its buffer and its stream tasks would stay until the keep-alive timeout
# (whose close waits for a flush that never comes).
MAX_QUEUED_CONTROL_FRAMES: Final = 10_000
MAX_WRITE_BUFFER: Final = 4 << 20

# DATA frames of the hot path are framed here, not by h2 (see H2Protocol.send_data). Setting
# WATCHPROXY_H2_LIBRARY_DATA=1 sends every frame through h2 instead: a measurement knob for
# bench/http2.py (mode h2-tls-lib), not a setting.
hand_framed_data = os.environ.get("WATCHPROXY_H2_LIBRARY_DATA", "") != "1"

# RFC 9113 section 8.2.2: connection-specific header fields must not appear in HTTP/2.
CONNECTION_HEADERS: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)


class _HeaderDecoder(Decoder):
    """An HPACK decoder with a fixed hard limit on the decoded header list.

    h2 sets the decoder's limit to the advertised SETTINGS_MAX_HEADER_LIST_SIZE, and a list over
    it ends the whole connection. Here the decoder accepts up to `hard_limit` (twice the
    advertised one) and `H2Protocol` answers a list between the two with 431 on that stream,
    as Go's server does, so one oversized request does not take its neighbours down. Only a list
    over the hard limit is a connection error (ENHANCE_YOUR_CALM).
    """

    def __init__(self, hard_limit: int) -> None:
        self.hard_limit = hard_limit
        super().__init__(max_header_list_size=hard_limit)

    @property
    def max_header_list_size(self) -> int:
        return self.hard_limit

    @max_header_list_size.setter
    def max_header_list_size(self, value: int) -> None:
        pass  # h2 lowers it to the advertised value once the client acknowledges SETTINGS


class H2Stream:
    """One request/response exchange. `receive` and `send` are the ASGI callables.

    `disconnected` is the attribute uvicorn's request cycle has: the watch code polls it (through
    `receive.__self__`) instead of parking a task in `receive()` per watch.
    """

    __slots__ = (
        "_body_waiter",
        "_window_waiter",
        "body",
        "body_done",
        "data_frame_tail",
        "disconnected",
        "head",
        "more_body",
        "pending_ack",
        "protocol",
        "response_complete",
        "response_started",
        "scope",
        "stream_id",
        "task",
    )

    def __init__(self, protocol: H2Protocol, stream_id: int, scope: Scope) -> None:
        self.protocol = protocol
        self.stream_id = stream_id
        # A DATA frame header after its 3-byte length: type 0, no flags, the stream id.
        self.data_frame_tail = b"\x00\x00" + stream_id.to_bytes(4, "big")
        self.scope = scope
        self.head = scope["method"] == "HEAD"
        self.disconnected = False
        self.body = bytearray()
        self.more_body = True
        self.body_done = False
        self.pending_ack = 0
        self.response_started = False
        self.response_complete = False
        self.task: asyncio.Task[None] | None = None
        self._body_waiter: asyncio.Future[None] | None = None
        self._window_waiter: asyncio.Future[None] | None = None

    # -- called by the protocol --------------------------------------------------------------

    def wake_body(self) -> None:
        waiter = self._body_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake_window(self) -> None:
        waiter = self._window_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def disconnect(self) -> None:
        self.disconnected = True
        self.wake_body()
        self.wake_window()

    async def wait_window(self) -> None:
        waiter = self._window_waiter = self.protocol.loop.create_future()
        try:
            await waiter
        finally:
            self._window_waiter = None

    # -- ASGI --------------------------------------------------------------------------------

    async def receive(self) -> Message:
        while True:
            if self.disconnected or self.response_complete:
                return {"type": "http.disconnect"}
            if self.body or (not self.more_body and not self.body_done):
                body = bytes(self.body)
                self.body.clear()
                if self.pending_ack:
                    self.protocol.acknowledge(self.stream_id, self.pending_ack)
                    self.pending_ack = 0
                if not self.more_body:
                    self.body_done = True
                return {"type": "http.request", "body": body, "more_body": self.more_body}
            waiter = self._body_waiter = self.protocol.loop.create_future()
            try:
                await waiter
            finally:
                self._body_waiter = None

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if not self.response_started or self.response_complete:
                raise RuntimeError(f"Unexpected ASGI message {kind!r} in this state")
            more_body = message.get("more_body", False)
            if not more_body:
                self.response_complete = True
            if self.disconnected:
                return
            body = b"" if self.head else message.get("body", b"")
            await self.protocol.send_data(self, body, not more_body)
            if not more_body:
                self.protocol.response_done(self)
        elif kind == "http.response.start":
            if self.response_started:
                raise RuntimeError("Unexpected ASGI message 'http.response.start' sent twice")
            self.response_started = True
            if self.disconnected:
                return
            self.protocol.send_headers(self, message["status"], message.get("headers", ()))
        else:
            raise RuntimeError(f"Unexpected ASGI message {kind!r} on an HTTP/2 stream")

    async def run(self, app: Callable[..., Any]) -> None:
        protocol = self.protocol
        try:
            result = await app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            # uvicorn cancels what is left after its graceful-shutdown timeout.
            protocol.reset(self, ErrorCodes.CANCEL)
            raise
        except Exception:
            logger.exception("Exception in ASGI application")
            self._abort()
        else:
            if result is not None:
                logger.error("ASGI callable should return None, but returned %r", result)
            if not self.response_complete and not self.disconnected:
                logger.error("ASGI callable returned without completing its response")
                self._abort()
        finally:
            protocol.stream_finished(self)

    def _abort(self) -> None:
        """After an app failure: 500 with an empty body if nothing was sent, else RST_STREAM."""
        if self.disconnected:
            return
        if not self.response_started:
            self.response_started = self.response_complete = True
            self.protocol.send_headers(self, 500, [(b"content-length", b"0")], end_stream=True)
            self.protocol.response_done(self)
        else:
            self.response_complete = True
            self.protocol.reset(self, ErrorCodes.INTERNAL_ERROR)


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection (server side), as a uvicorn connection: it is in
    `server_state.connections` while open, its stream tasks in `server_state.tasks`, and
    `shutdown()` sends GOAWAY and closes once the streams in flight have finished."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        tls: dict[str, Any] | None = None,
        max_concurrent_streams: int = DEFAULT_MAX_CONCURRENT_STREAMS,
        stream_window: int = DEFAULT_STREAM_WINDOW,
        connection_window: int = DEFAULT_CONNECTION_WINDOW,
        max_header_list_size: int = DEFAULT_MAX_HEADER_LIST_SIZE,
        max_header_count: int = DEFAULT_MAX_HEADER_COUNT,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_early_resets_per_second: int = DEFAULT_MAX_EARLY_RESETS_PER_SECOND,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.server_state = server_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.app_state = app_state
        self.root_path = config.root_path
        self.asgi = {"version": config.asgi_version, "spec_version": "2.3"}
        self.limit_concurrency = config.limit_concurrency
        self.keep_alive_seconds = config.timeout_keep_alive
        self.access_logger = logging.getLogger("uvicorn.access")
        self.access_log = self.access_logger.hasHandlers()
        self.extensions = {"tls": tls} if tls is not None else {}
        self.kind = serving.H2_TLS if tls is not None else serving.H2_PLAIN

        self.max_header_list_size = max_header_list_size
        self.max_concurrent_streams = max_concurrent_streams
        self.max_early_resets_per_second = max_early_resets_per_second
        self.max_header_count = max_header_count
        self.connection_window = connection_window
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding=None)
        )
        self.conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
                SettingCodes.INITIAL_WINDOW_SIZE: stream_window,
                SettingCodes.MAX_HEADER_LIST_SIZE: max_header_list_size,
                SettingCodes.MAX_FRAME_SIZE: max_frame_size,
            },
        )
        self.conn.decoder = _HeaderDecoder(max(2 * max_header_list_size, 64 << 10))
        # Accept the advertised frame size at once: h2 raises its limit when the client's ACK is
        # processed, but checks every frame of one read against the limit at the read's start,
        # so a client's first large frame, arriving in the same read as its ACK, would end the
        # connection.
        self.conn.max_inbound_frame_size = max_frame_size

        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "https" if tls is not None else "http"
        self.streams: dict[int, H2Stream] = {}
        self.blocked: set[H2Stream] = set()  # streams waiting for a send window
        self.closed = False
        self.goaway_sent = False
        self._out: list[bytes] = []  # frames to write at the next flush, in order
        self._flush_scheduled = False
        self._unflushed = 0
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._early_resets = 0  # in the second that began at _early_resets_since
        self._early_resets_since = 0.0
        self._queued_control = 0  # control frames queued since writes were paused
        self._handlers: dict[type[h2.events.Event], Callable[[Any], None]] = {
            h2.events.RequestReceived: self._on_request,
            h2.events.DataReceived: self._on_data,
            h2.events.StreamEnded: self._on_stream_ended,
            h2.events.TrailersReceived: self._on_trailers,
            h2.events.StreamReset: self._on_stream_reset,
            h2.events.WindowUpdated: self._on_window_updated,
            h2.events.RemoteSettingsChanged: self._on_settings_changed,
            h2.events.ConnectionTerminated: self._on_connection_terminated,
            h2.events.PingReceived: self._on_control_frame,
        }

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # (uvloop's transports are not asyncio.Transport subclasses: no isinstance check)
        self.transport = transport
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.connections.add(self)  # type: ignore[arg-type]
        serving.connection_opened(self.kind)
        self.conn.initiate_connection()
        extra = self.connection_window - self.conn.inbound_flow_control_window
        if extra > 0:
            self.conn.increment_flow_control_window(extra)
        self._flush()
        self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.connections.discard(self)
        serving.connection_closed(self.kind)
        self._cancel_idle_timer()
        for stream in self.streams.values():
            stream.disconnect()
        self.blocked.clear()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._queued_control = 0
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def data_received(self, data: bytes) -> None:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            # h2 has queued a GOAWAY with the right error code: send it and hang up.
            serving.count("h2_protocol_errors")
            logger.info("HTTP/2 protocol error from %s: %s", self.client, exc)
            self._flush()
            self.transport.close()
            return
        handlers = self._handlers
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
                if self.closed or self.transport.is_closing():
                    return
        if self._write_paused and (
            self._queued_control > MAX_QUEUED_CONTROL_FRAMES
            or self.transport.get_write_buffer_size() > MAX_WRITE_BUFFER
        ):
            self._enhance_your_calm("control frames queued while it does not read", abort=True)
            return
        self._schedule_flush()

    def _enhance_your_calm(self, reason: str, *, abort: bool = False) -> None:
        """End an abusive connection: GOAWAY ENHANCE_YOUR_CALM, then close (or abort, when the
        client does not read and a close would wait for it forever). Apps that have not
        responded yet are cancelled, the others see a disconnect (connection_lost)."""
        serving.count("h2_protocol_errors")
        logger.warning("HTTP/2 connection from %s ended: %s", self.client, reason)
        self.goaway_sent = True
        for stream in list(self.streams.values()):
            if not stream.response_started:
                self._cancel_app(stream)
        try:
            self.conn.close_connection(ErrorCodes.ENHANCE_YOUR_CALM)
        except h2.exceptions.ProtocolError:
            pass
        self._flush()
        if abort:
            self.transport.abort()
        else:
            self.transport.close()

    # -- uvicorn's connection interface --------------------------------------------------------

    def shutdown(self) -> None:
        """Graceful shutdown: GOAWAY naming the last stream taken; streams in flight go on
        (watches were told to end just before); new ones are refused; close when none is left."""
        if self.closed or self.goaway_sent:
            return
        self.goaway_sent = True
        self._flush()
        frame = GoAwayFrame(stream_id=0, last_stream_id=self.conn.highest_inbound_stream_id)
        self.transport.write(frame.serialize())
        if not self.streams:
            self.transport.close()

    # -- events ------------------------------------------------------------------------------

    def _on_request(self, event: h2.events.RequestReceived) -> None:
        stream_id = event.stream_id
        if self.goaway_sent:
            self._reset_id(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        if len(self.streams) >= self.max_concurrent_streams:
            # Streams the client reset whose app has not returned yet still count (see
            # DEFAULT_MAX_EARLY_RESETS_PER_SECOND): REFUSED_STREAM, which clients retry.
            serving.count("h2_streams_refused")
            self._reset_id(stream_id, ErrorCodes.REFUSED_STREAM)
            return
        method = path = authority = b""
        headers: list[tuple[bytes, bytes]] = []
        size = 0
        for name, value in event.headers or ():
            size += len(name) + len(value) + 32
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    path = value
                elif name == b":authority":
                    authority = value
            else:
                headers.append((name, value))
        if size > self.max_header_list_size or len(headers) > self.max_header_count:
            serving.count("h2_header_list_refused")
            self._refuse(stream_id, 431, event.stream_ended is not None)
            return
        raw_path, _, query = path.partition(b"?")
        if not raw_path.startswith(b"/") or not raw_path.isascii():
            self._refuse(stream_id, 400, event.stream_ended is not None)
            return
        if authority and not any(name == b"host" for name, _ in headers):
            headers.insert(0, (b"host", authority))
        text_path = raw_path.decode("ascii")
        if "%" in text_path:
            text_path = unquote(text_path)
        scope: Scope = {
            "type": "http",
            "asgi": self.asgi,
            "http_version": "2",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": method.decode("ascii", "replace"),
            "root_path": self.root_path,
            "path": self.root_path + text_path,
            "raw_path": self.root_path.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            "state": self.app_state.copy(),
            "extensions": dict(self.extensions),
        }
        stream = H2Stream(self, stream_id, scope)
        if event.stream_ended is not None:
            stream.more_body = False
        self.streams[stream_id] = stream
        serving.count("h2_streams_open")
        serving.count("h2_streams_total")
        self._cancel_idle_timer()
        app = self.app
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            logger.warning("Exceeded concurrency limit.")
            app = service_unavailable
        if self.config.reset_contextvars:
            task = self.loop.create_task(stream.run(app), context=contextvars.Context())
        else:
            task = self.loop.create_task(stream.run(app))
        stream.task = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _on_data(self, event: h2.events.DataReceived) -> None:
        length = event.flow_controlled_length or 0
        stream = self.streams.get(event.stream_id)
        if stream is None or stream.body_done or stream.response_complete:
            if length:
                self.acknowledge(event.stream_id, length)
            return
        stream.body += event.data or b""
        stream.pending_ack += length
        if event.stream_ended is not None:
            stream.more_body = False
        stream.wake_body()

    def _on_stream_ended(self, event: h2.events.StreamEnded) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None:
            stream.more_body = False
            stream.wake_body()

    def _on_trailers(self, event: h2.events.TrailersReceived) -> None:
        pass  # request trailers are dropped; StreamEnded follows

    def _on_stream_reset(self, event: h2.events.StreamReset) -> None:
        stream = self.streams.get(event.stream_id)
        if stream is not None and not stream.disconnected:
            serving.count("h2_streams_reset_by_client")
            self._release(stream)
            stream.disconnect()
            if not stream.response_started and stream.task is not None:
                self._cancel_app(stream)  # nobody waits for this response
                now = self.loop.time()
                if now - self._early_resets_since >= 1.0:
                    self._early_resets_since = now
                    self._early_resets = 0
                self._early_resets += 1
                if self._early_resets > self.max_early_resets_per_second:
                    self._enhance_your_calm("too many streams reset early (rapid reset)")

    def _cancel_app(self, stream: H2Stream) -> None:
        """Cancel the stream's app task. One that has not run yet never starts (and never runs
        H2Stream.run's finally): stream_finished then runs from the task's done callback."""
        task = stream.task
        if task is not None:
            task.cancel()
            task.add_done_callback(lambda _: self.stream_finished(stream))

    def _on_control_frame(self, event: h2.events.Event) -> None:
        """A PING (SETTINGS: _on_settings_changed) that h2 has queued an ack for."""
        if self._write_paused:
            self._queued_control += 1

    def _on_window_updated(self, event: h2.events.WindowUpdated) -> None:
        if not self.blocked:
            return
        if event.stream_id:
            stream = self.streams.get(event.stream_id)
            if stream is not None and stream in self.blocked:
                stream.wake_window()
        else:
            for stream in self.blocked:
                stream.wake_window()

    def _on_settings_changed(self, event: h2.events.RemoteSettingsChanged) -> None:
        self._on_control_frame(event)
        changed = event.changed_settings
        if SettingCodes.INITIAL_WINDOW_SIZE in changed or SettingCodes.MAX_FRAME_SIZE in changed:
            for stream in self.blocked:
                stream.wake_window()

    def _on_connection_terminated(self, event: h2.events.ConnectionTerminated) -> None:
        # The client's GOAWAY. RFC 9113 lets the streams in flight finish, but h2 moves the
        # connection to CLOSED on receiving it and refuses to send anything more: hang up.
        # (Clients send GOAWAY when they are done with a connection, rarely mid-stream.)
        self._flush()
        self.transport.close()

    # -- sending -----------------------------------------------------------------------------

    def send_headers(
        self,
        stream: H2Stream,
        status: int,
        headers: Any,
        end_stream: bool = False,
    ) -> None:
        out = [(b":status", b"%d" % status)]
        for name, value in self.server_state.default_headers:
            out.append((name, value))
        for name, value in headers:
            name = name.lower()
            if name not in CONNECTION_HEADERS:
                out.append((name, value))
        if self.access_log:  # uvicorn's access line (its formatter expects these 5 values)
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(stream.scope),  # type: ignore[arg-type]
                stream.scope["method"],
                get_path_with_query_string(stream.scope),  # type: ignore[arg-type]
                "2",
                status,
            )
        try:
            self.conn.send_headers(stream.stream_id, out, end_stream=end_stream)
        except h2.exceptions.ProtocolError:  # reset by the client, or the connection is gone
            stream.disconnect()
            return
        self._schedule_flush()

    async def send_data(self, stream: H2Stream, data: bytes, end_stream: bool) -> None:
        conn = self.conn
        stream_id = stream.stream_id
        if not data:
            if end_stream:
                self._end_stream(stream)
            return
        size = len(data)
        if (
            hand_framed_data
            and not end_stream
            and not self._write_paused
            and size <= conn.max_outbound_frame_size
            and size <= conn.local_flow_control_window(stream_id)
        ):
            # The hot path (a watch event): one DATA frame, framed here. h2's send_data costs
            # ~9 us per frame (state machine, Frame objects, serialization); for a DATA frame
            # without END_STREAM on an open stream it only checks and charges the two windows,
            # which is what this does (decision 0011). Frames h2 queued earlier were moved to
            # self._out first (see _schedule_flush), so the order on the wire is kept.
            h2_stream = conn.streams.get(stream_id)
            if h2_stream is None or h2_stream.closed:
                stream.disconnect()
                return
            h2_stream.outbound_flow_control_window -= size
            conn.outbound_flow_control_window -= size
            self._out.append(size.to_bytes(3, "big") + stream.data_frame_tail)
            self._out.append(data)
            self._unflushed += size
            if self._unflushed >= FLUSH_THRESHOLD:
                self._flush()
            elif not self._flush_scheduled:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)
            return
        view = memoryview(data)
        while True:
            if self._write_paused and not self.closed:
                serving.count("h2_write_buffer_waits")
                await self._drain()
            if stream.disconnected:
                return
            size = min(
                len(view), conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size
            )
            if size <= 0:
                serving.count("h2_flow_control_waits")
                self.blocked.add(stream)
                try:
                    await stream.wait_window()
                finally:
                    self.blocked.discard(stream)
                continue
            last = size == len(view)
            try:
                conn.send_data(
                    stream_id, view if last else view[:size], end_stream=end_stream and last
                )
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                stream.disconnect()
                return
            self._unflushed += size
            if self._unflushed >= FLUSH_THRESHOLD:
                self._flush()
            else:
                self._schedule_flush()
            if last:
                return
            view = view[size:]

    def _end_stream(self, stream: H2Stream) -> None:
        try:
            self.conn.end_stream(stream.stream_id)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            stream.disconnect()
            return
        self._schedule_flush()

    def response_done(self, stream: H2Stream) -> None:
        """The response is complete: if the client is still sending, stop it (RST_STREAM
        NO_ERROR, RFC 9113 section 8.1) and give back the window of what it sent."""
        self.server_state.total_requests += 1
        if stream.more_body and not stream.disconnected:
            self._reset_id(stream.stream_id, ErrorCodes.NO_ERROR)
            stream.disconnected = True
        self._release(stream)

    def reset(self, stream: H2Stream, code: ErrorCodes) -> None:
        if stream.disconnected or self.closed:
            return
        self._reset_id(stream.stream_id, code)
        self._release(stream)
        stream.disconnect()

    def acknowledge(self, stream_id: int, length: int) -> None:
        if self.closed:
            return
        try:
            self.conn.acknowledge_received_data(length, stream_id)
        except h2.exceptions.ProtocolError:
            return
        self._schedule_flush()

    def stream_finished(self, stream: H2Stream) -> None:
        if self.streams.pop(stream.stream_id, None) is None:
            return
        serving.count("h2_streams_open", -1)
        self._release(stream)
        if self.closed:
            return
        if not self.streams:
            if self.goaway_sent:
                self._flush()
                self.transport.close()
            else:
                self._arm_idle_timer()

    def _release(self, stream: H2Stream) -> None:
        """Give back the connection window held by body bytes the app never read."""
        if stream.pending_ack and not self.closed:
            length, stream.pending_ack = stream.pending_ack, 0
            stream.body.clear()
            self.acknowledge(stream.stream_id, length)

    def _reset_id(self, stream_id: int, code: ErrorCodes) -> None:
        try:
            self.conn.reset_stream(stream_id, code)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return
        if self._write_paused:
            self._queued_control += 1
        self._schedule_flush()

    def _refuse(self, stream_id: int, status: int, request_ended: bool) -> None:
        """Answer a request the app never sees (431, 400) and stop its body, if any."""
        try:
            headers = [(b":status", b"%d" % status), (b"content-length", b"0")]
            self.conn.send_headers(stream_id, headers, end_stream=True)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return
        if not request_ended:
            self._reset_id(stream_id, ErrorCodes.NO_ERROR)
        self._schedule_flush()

    async def _drain(self) -> None:
        if self._drained is None:
            self._drained = self.loop.create_future()
        await asyncio.shield(self._drained)

    def _schedule_flush(self) -> None:
        """Called after every h2 call that may queue frames: moves them to self._out at once
        (before any hand-framed DATA can be appended behind them), and flushes this iteration."""
        data = self.conn.data_to_send()
        if data:
            self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        self._unflushed = 0
        out = self._out
        data = self.conn.data_to_send()
        if data:
            out.append(data)
        if out:
            if not self.closed and not self.transport.is_closing():
                self.transport.write(b"".join(out))
            out.clear()

    # -- idle connections ----------------------------------------------------------------------

    def _arm_idle_timer(self) -> None:
        self._cancel_idle_timer()
        if self.keep_alive_seconds and self.keep_alive_seconds > 0:
            self._idle_timer = self.loop.call_later(self.keep_alive_seconds, self._idle_timeout)

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _idle_timeout(self) -> None:
        self._idle_timer = None
        if self.streams or self.closed:
            return
        if not self.goaway_sent:
            self.goaway_sent = True
            self.conn.close_connection(ErrorCodes.NO_ERROR)
            self._flush()
        self.transport.close()
