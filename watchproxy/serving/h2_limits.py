"""The limits of watchproxy's HTTP/2 server and why each has its value: stream and connection
windows, header list size and count, frame size, the flush threshold, and the defences against
rapid reset (CVE-2023-44487) and PING/SETTINGS floods (CVE-2019-9512, CVE-2019-9515), as Go's
net/http2 and kube-apiserver set them; plus `_HeaderDecoder`, which answers an oversized header
list with 431 on its stream instead of ending the connection. Used by serving/h2*.py.
"""

from __future__ import annotations

from typing import Final

from hpack import Decoder

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
