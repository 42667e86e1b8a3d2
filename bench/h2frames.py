"""HTTP/2 framing for the bench's hand-written clients (bench/http2.py, bench/big_cluster_h2.py):
building one frame and splitting a receive buffer into frames (RFC 9113 section 4.1). The
clients are hand-written so that their own CPU stays far below the proxy's."""

from __future__ import annotations

from collections.abc import Callable

FrameHandler = Callable[[int, int, int, memoryview], None]


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    """One frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    return (
        len(payload).to_bytes(3, "big")
        + bytes([kind, flags])
        + stream_id.to_bytes(4, "big")
        + payload
    )


def each_frame(buf: bytearray, handle: FrameHandler) -> None:
    """Call `handle(kind, flags, stream_id, payload)` for every complete frame at the start of
    `buf`, then drop those frames from `buf` (a partial frame stays for the next read). The
    payload is a view into `buf`, released when `handle` returns: copy what is kept."""
    pos, end = 0, len(buf)
    with memoryview(buf) as view:
        while end - pos >= 9:
            length = int.from_bytes(view[pos : pos + 3], "big")
            if end - pos < 9 + length:
                break
            sid = int.from_bytes(view[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            with view[pos + 9 : pos + 9 + length] as body:
                handle(view[pos + 3], view[pos + 4], sid, body)
            pos += 9 + length
    del buf[:pos]
