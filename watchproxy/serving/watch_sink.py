"""The servers' `WatchSink`s (core/flush.py): how a watch writes response-body bytes straight
to its connection from the dispatch path, without its ASGI `send` (decision 0019).

Each sink refuses (False) rather than wait: the watch's writer task then sends the same bytes
through `send`, which waits for the transport or the peer's window as before. The sinks hold
their request weakly: the sink sits in the request's scope, which the request holds, and a
strong reference back would make every request a reference cycle left to the cyclic GC.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from watchproxy import serving

if TYPE_CHECKING:
    from watchproxy.serving.h2_stream import H2Stream

# The last chunk framed and its framing: the chunks of one flush pass are mostly the same
# shared line (one event to many watchers), so most deliveries reuse one framed bytes object.
_framed: list[bytes] = [b"", b"0\r\n\r\n"]


def chunk_framed(data: bytes) -> bytes:
    """`data` as one HTTP/1.1 chunk (RFC 9112 section 7.1: hex size CRLF data CRLF)."""
    memo = _framed
    if memo[0] is data:
        return memo[1]
    framed = b"%x\r\n%b\r\n" % (len(data), data)
    memo[0], memo[1] = data, framed
    return framed


class Http1WatchSink:
    """HTTP/1.1 (uvicorn's httptools cycle): one chunked-encoding chunk per write, written to
    the transport unless uvicorn's flow control has paused writing (the transport's buffer is
    over its high-water mark: the client is not reading), which is where uvicorn's own `send`
    would wait. Refuses until the response has started with chunked encoding, and after it is
    complete or the client left."""

    __slots__ = ("_cycle", "direct_bytes")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self._cycle = weakref.ref(cycle)
        self.direct_bytes = 0

    def write_body(self, data: bytes) -> bool:
        cycle = self._cycle()
        if (
            cycle is None
            or not cycle.chunked_encoding  # None before the response starts, and for HEAD
            or cycle.response_complete
            or cycle.disconnected
        ):
            return False
        if cycle.flow.write_paused:
            serving.count("watch_sink_refused")  # backpressure: the writer task waits
            return False
        transport = cycle.transport
        if transport.is_closing():
            return False
        transport.write(chunk_framed(data))
        self.direct_bytes += len(data)
        return True


class H2WatchSink:
    """HTTP/2: one DATA frame per write, queued on the connection (`H2Protocol.frame_data`)
    when the stream's and the connection's send windows both hold it and writing is not
    paused; the connection writes everything queued in one write per loop iteration, so one
    event to many streams of one connection is one TLS record and one write(2)."""

    __slots__ = ("_stream", "direct_bytes")

    def __init__(self, stream: H2Stream) -> None:
        self._stream = weakref.ref(stream)
        self.direct_bytes = 0

    def write_body(self, data: bytes) -> bool:
        stream = self._stream()
        if (
            stream is None
            or not stream.response_started
            or stream.response_complete
            or stream.disconnected
            or stream.head
        ):
            return False
        framed = stream.protocol.frame_data(stream, data)
        if not framed:
            if framed is False:
                serving.count("watch_sink_refused")  # backpressure: the writer task waits
            return False
        self.direct_bytes += len(data)
        return True
