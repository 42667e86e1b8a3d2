"""The frame events of serving/h2.py: `_H2Events` turns what h2 parsed from the client into
stream work -- a request becomes an ASGI scope and an app task (stream dispatch), DATA feeds the
stream's body, WINDOW_UPDATE and SETTINGS wake blocked senders -- and holds the abuse defences:
the concurrent-stream cap that counts reset streams, the early-reset rate (rapid reset,
CVE-2023-44487) and the queued-control-frame cap (PING/SETTINGS floods); see serving/h2_limits.py.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from h2.settings import SettingCodes
from uvicorn.protocols.http.flow_control import service_unavailable

from watchproxy import serving
from watchproxy.core.flush import WATCH_SINK
from watchproxy.serving.h2_connection import _H2ConnectionState
from watchproxy.serving.h2_limits import MAX_QUEUED_CONTROL_FRAMES, MAX_WRITE_BUFFER
from watchproxy.serving.h2_stream import H2Stream, Scope
from watchproxy.serving.watch_sink import H2WatchSink

if TYPE_CHECKING:
    from watchproxy.serving.h2 import H2Protocol

logger = logging.getLogger("watchproxy.serving.h2")


class _H2Events(_H2ConnectionState):
    """Frame events and the abuse defences of one connection (see the module docstring)."""

    @functools.cached_property
    def _handlers(self) -> dict[type[h2.events.Event], Callable[[Any], None]]:
        # Built on first use and then a plain instance attribute (cached_property stores it).
        return {
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
        # H2Protocol is the one concrete connection class: its streams send through it.
        stream = H2Stream(cast("H2Protocol", self), stream_id, scope)
        scope["extensions"][WATCH_SINK] = H2WatchSink(stream)  # core/flush.py
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
