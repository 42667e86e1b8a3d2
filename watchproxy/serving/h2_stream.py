"""One HTTP/2 request/response exchange of serving/h2.py: `H2Stream`, the ASGI `receive` and `send`
of one stream and the task running the app for it. Request bodies are acknowledged (the client's
window reopened) only as the app reads them; response bodies go out through the connection's
flow-controlled `send_data`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from h2.errors import ErrorCodes

if TYPE_CHECKING:
    from watchproxy.serving.h2 import H2Protocol

logger = logging.getLogger("watchproxy.serving.h2")

Scope = dict[str, Any]
Message = dict[str, Any]


class H2Stream:
    """One request/response exchange. `receive` and `send` are the ASGI callables.

    `disconnected` is the attribute uvicorn's request cycle has: the watch code polls it (through
    `receive.__self__`) instead of parking a task in `receive()` per watch.
    """

    __slots__ = (
        "__weakref__",  # (its watch sink, serving/watch_sink.py)
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
