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

Parts: serving/h2_limits.py (limits and defences, with their reasons), serving/h2_stream.py (one
stream), serving/h2_connection.py (connection state and lifecycle), serving/h2_events.py (frame
events, stream dispatch, abuse defences); this module is `H2Protocol` and its flow-controlled
sending (the hand-framed DATA hot path).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from uvicorn.protocols.utils import (
    get_client_addr,
    get_path_with_query_string,
)

from watchproxy import serving
from watchproxy.serving.h2_events import _H2Events
from watchproxy.serving.h2_limits import CONNECTION_HEADERS, FLUSH_THRESHOLD
from watchproxy.serving.h2_stream import H2Stream, Message, Scope

__all__ = ["H2Protocol", "H2Stream", "Message", "Scope", "hand_framed_data"]

logger = logging.getLogger("watchproxy.serving.h2")

# DATA frames of the hot path are framed here, not by h2 (see H2Protocol.send_data). Setting
# WATCHPROXY_H2_LIBRARY_DATA=1 sends every frame through h2 instead: a measurement knob for
# bench/http2.py (mode h2-tls-lib), not a setting.
hand_framed_data = os.environ.get("WATCHPROXY_H2_LIBRARY_DATA", "") != "1"


class H2Protocol(_H2Events):
    """One HTTP/2 connection (server side), as a uvicorn connection: it is in
    `server_state.connections` while open, its stream tasks in `server_state.tasks`, and
    `shutdown()` sends GOAWAY and closes once the streams in flight have finished."""

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
        if not end_stream:
            framed = self.frame_data(stream, data)
            if framed:
                return
            if framed is None:
                stream.disconnect()
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

    def frame_data(self, stream: H2Stream, data: bytes) -> bool | None:
        """The hot path (a watch event): `data` (not empty) as one DATA frame without
        END_STREAM, framed here, if writing is not paused and both send windows hold it: True
        once queued; False if it must go the slow way (`send_data`); None if the stream is gone.

        h2's send_data costs ~9 us per frame (state machine, Frame objects, serialization); for
        a DATA frame without END_STREAM on an open stream it only checks and charges the two
        windows, which is what this does (decision 0011). Frames h2 queued earlier were moved to
        self._out first (see _schedule_flush), so the order on the wire is kept. Also the
        stream's watch sink (serving/watch_sink.py): many streams' frames queued in one pass go
        out in one write."""
        conn = self.conn
        stream_id = stream.stream_id
        size = len(data)
        if (
            not hand_framed_data
            or self._write_paused
            or self.closed
            or size > conn.max_outbound_frame_size
        ):
            return False
        h2_stream = conn.streams.get(stream_id)
        if h2_stream is None or h2_stream.closed:
            return None
        if size > conn.local_flow_control_window(stream_id):
            return False
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
        return True

    def _end_stream(self, stream: H2Stream) -> None:
        try:
            self.conn.end_stream(stream.stream_id)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            stream.disconnect()
            return
        self._schedule_flush()
