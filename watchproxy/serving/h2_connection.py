"""The connection half of serving/h2.py: `_H2ConnectionState`, one HTTP/2 connection's state
(h2's state machine with watchproxy's settings, the streams, the send queue written once per
event-loop iteration, write pausing), its asyncio and uvicorn lifecycle (connection made and lost,
graceful GOAWAY, the keep-alive idle timer) and the per-stream bookkeeping every part shares.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from hyperframe.frame import GoAwayFrame
from uvicorn.config import Config
from uvicorn.protocols.utils import (
    get_local_addr,
    get_remote_addr,
)
from uvicorn.server import ServerState

from watchproxy import serving
from watchproxy.serving.h2_limits import (
    DEFAULT_CONNECTION_WINDOW,
    DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_MAX_EARLY_RESETS_PER_SECOND,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_HEADER_COUNT,
    DEFAULT_MAX_HEADER_LIST_SIZE,
    DEFAULT_STREAM_WINDOW,
    _HeaderDecoder,
)
from watchproxy.serving.h2_stream import H2Stream

logger = logging.getLogger("watchproxy.serving.h2")


class _H2ConnectionState(asyncio.Protocol):
    """The state of one HTTP/2 connection and its lifecycle: settings, streams, the coalesced
    flush, write pausing, stream bookkeeping (resets, acknowledgements, release of unread body
    windows) and the idle timer. H2Protocol (serving/h2.py) adds the frame events and sending."""

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
