"""Response bodies sent in chunks, gzip-compressed when the client asks: LIST and GET answers.

Why chunks: a LIST of 20,000 pods is 36 MB of JSON. Built as one bytes object and handed to the
server at once, it sat in the transport's buffer until the client read it; 150 LISTs from
clients that read slowly took one proxy to 5.8 GB, and building the bodies held the event loop
for up to 23 s (docs/benchmarks.md "Relist storm"). Here a body is an iterator of chunks of about
CHUNK_BYTES (`json_array_chunks`: the list's head, its items, its tail), each handed to `send`
and awaited -- uvicorn's HTTP/1.1 `send` waits for the transport to drain when the client is
slow, and serving/h2.py waits for the stream's flow-control window. A response in flight holds
the references to its objects and one chunk, whatever the list's size; kube-apiserver's
streaming list encoding (KEP-5116) encodes a list's items one by one for the same reason.
Between two chunks the LIST waits for its turn (`LoopTurns`), so that however many LISTs are in
flight, an iteration of the event loop runs about a millisecond of their work, and compression
runs on threads beside the loop.

Nothing is sent before the first chunk is built, so a request that fails (410, 429, 400, 504,
406) fails before the first byte, with a Status (house-style 5.5). A body that ends within its
first chunks (a GET, a small LIST) goes out in one message with its Content-Length; a longer one
goes out chunked (HTTP/1.1) or as DATA frames (HTTP/2) without one, as kube's streamed lists do,
unless its caller knows the length up front (a LIST of stored bytes, api/reads.py): then it has
its Content-Length and HTTP/1.1 writes each chunk as it is, without framing it (one copy less).
A gzip body kept for reuse at one revision (core/list_segments.py) goes out the same way.

gzip as kube-apiserver (endpoints/handlers/responsewriters/writers.go and compression.go): when
the request's Accept-Encoding names `gzip` (the first header's comma-separated tokens,
`ContentEncodingSupported`) and the body is over 128 KiB (`defaultGzipThresholdBytes`, judged on
what has been written so far), at level 1 (`gzipContentEncodingLevel`), with
`Content-Encoding: gzip` and `Vary: Accept-Encoding`; compressed chunk by chunk with one
`zlib.compressobj`, so streaming stays bounded. Watch streams are never compressed (kube's
watch handler does not use this writer).
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, Protocol

from watchproxy.api.http import JSON, Send

# Bytes per chunk of a streamed body. Large enough that the per-chunk costs (an ASGI message,
# HTTP/1.1 chunk framing, a socket write, a trip through the event loop) stay small next to
# the copying -- a 36 MB list is about 140 chunks -- and small enough that building one takes
# well under a millisecond, which is what other requests wait for between two chunks of every
# LIST in flight, and that a slow client pins one chunk, not its list. kube batches its streamed
# writes by 128 KiB (`streamingBatchBufferBytes`); one chunk is also over the gzip threshold, so
# the encoding is settled on the first chunk.
CHUNK_BYTES: Final = 256 * 1024
# kube-apiserver's `defaultGzipThresholdBytes`: smaller bodies are not worth compressing.
GZIP_THRESHOLD_BYTES: Final = 128 * 1024
# kube-apiserver's `gzipContentEncodingLevel`: level 1 costs the least CPU and compresses within
# 1.1-1.5x of the higher levels (kubernetes#112296).
GZIP_LEVEL: Final = 1
# zlib's wbits for a gzip wrapper (16) around a deflate stream with a 32 KiB window (15).
_GZIP_WBITS: Final = 16 + 15
# Threads that compress streamed chunks beside the event loop (zlib releases the GIL while it
# deflates): compression of a storm of gzip LISTs -- most of its CPU -- then runs on cores the
# loop does not use; more threads would compete with the loop (and with the other `--workers`
# processes) for the same cores. They start on first use.
GZIP_THREADS: Final = 2
_GZIP_POOL: Final = ThreadPoolExecutor(max_workers=GZIP_THREADS, thread_name_prefix="gzip")

assert CHUNK_BYTES > GZIP_THRESHOLD_BYTES  # the first chunk decides the encoding


class Compressor(Protocol):
    """What `zlib.compressobj()` returns, as far as streaming uses it."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


def accepts_gzip(accept_encoding: str) -> bool:
    """True when the Accept-Encoding value names `gzip` among its comma-separated tokens.

    kube-apiserver's `ContentEncodingSupported`: an exact token after trimming spaces, so
    `gzip;q=0` or `x-gzip` is not gzip, and only the first Accept-Encoding header counts.
    """
    return any(token.strip() == "gzip" for token in accept_encoding.split(","))


def json_array_chunks(
    head: bytes,
    items: Iterable[bytes],
    tail: bytes,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    chunk_items: int = 0,
) -> Iterator[bytes]:
    """`head + b",".join(items) + tail`, cut into chunks.

    A chunk ends after the item that takes it to `chunk_bytes` or more, or after `chunk_items`
    items when that is set (for items that are costly to render: Table rows); so a chunk is at
    most `chunk_bytes` plus one item. Items are pulled from `items` only as chunks are taken,
    so rendering them is spread over the stream too. The last chunk ends with `tail`.
    """
    parts: list[bytes] = [head]
    size = len(head)
    count = 0
    separator = b""
    for item in items:
        parts.append(separator)
        parts.append(item)
        separator = b","
        size += len(item) + 1
        count += 1
        if size >= chunk_bytes or count == chunk_items:
            yield b"".join(parts)
            parts, size, count = [], 0, 0
    parts.append(tail)
    yield b"".join(parts)


# A streamed body must be taken by its client within kube's default --request-timeout (60 s),
# which bounds every non-long-running request there: a client that stops reading a LIST would
# otherwise hold the LIST's flow-control seats for ever. Past it the response is cut off.
SEND_TIMEOUT_SECONDS: Final = 60.0


class SendTimeout(Exception):
    """The client did not take a streamed body within SEND_TIMEOUT_SECONDS: the response is
    abandoned (its connection closes) and its seats are freed."""


async def send_chunks(
    send: Send,
    chunks: Iterable[bytes],
    *,
    gzip: bool,
    status: int = 200,
    content_type: bytes = JSON,
    length: int | None = None,
    keep: Callable[[list[bytes]], None] | None = None,
    keep_limit: int = 0,
) -> None:
    """Answer `status` with the concatenation of `chunks` as the body.

    The chunks are built as they are sent: the first ones (over GZIP_THRESHOLD_BYTES, and one
    more to know whether the body ends there) before the status line, so an exception raised
    while building them still becomes a Status; each further chunk waits for its turn
    (`TURNS`). `gzip` (the client accepts it: `accepts_gzip`) compresses a body over
    GZIP_THRESHOLD_BYTES. A body that ends within those first chunks goes out in one message
    with its Content-Length; so does a longer one sent uncompressed when the caller knows its
    `length` in bytes (the body is then written as it is, without chunked framing).

    `keep`: called with the whole compressed body (chunks of about CHUNK_BYTES) once it has
    been sent, when it was streamed gzip-compressed and is at most `keep_limit` bytes
    (core/list_segments.py keeps it for the next LIST at the same revision).
    """
    it = iter(chunks)
    buffered: list[bytes] = []
    size = 0
    # The encoding is decided on the first bytes, as kube's deferredResponseWriter does: the
    # body so far is over the threshold, or it has ended.
    while size <= GZIP_THRESHOLD_BYTES:
        chunk = next(it, None)
        if chunk is None:
            await _send_whole(send, b"".join(buffered), gzip, status, content_type)
            return
        buffered.append(chunk)
        size += len(chunk)
    following = next(it, None)
    if following is None:
        await _send_whole(send, b"".join(buffered), gzip, status, content_type)
        return
    headers = [(b"content-type", content_type)]
    compressor = None
    if gzip:
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    elif length is not None:
        headers.append((b"content-length", b"%d" % length))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    built = buffered  # the chunks built to settle the encoding go out first
    built.append(following)
    del following, buffered
    kept = _Kept(keep_limit) if keep is not None and compressor is not None else None
    await _timed(_send_rest(send, built, it, compressor, kept))
    if kept is not None and kept.parts is not None and keep is not None:
        keep(kept.joined())


async def _timed(sending: Awaitable[None]) -> None:
    """`sending` within SEND_TIMEOUT_SECONDS, else SendTimeout."""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await sending
    except TimeoutError as exc:
        raise SendTimeout(
            f"the client read less than the body in {SEND_TIMEOUT_SECONDS:g} s"
        ) from exc


class _Kept:
    """The compressed output of a streamed body, collected while it is at most `limit` bytes
    (past it `parts` is None and nothing more is held)."""

    __slots__ = ("limit", "parts", "size")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] | None = []
        self.size = 0

    def add(self, out: bytes) -> None:
        if self.parts is None or not out:
            return
        self.size += len(out)
        if self.size > self.limit:
            self.parts = None
        else:
            self.parts.append(out)

    def joined(self) -> list[bytes]:
        """The parts joined into chunks of about CHUNK_BYTES (fewer sends when reused)."""
        assert self.parts is not None
        out: list[bytes] = []
        group: list[bytes] = []
        size = 0
        for part in self.parts:
            group.append(part)
            size += len(part)
            if size >= CHUNK_BYTES:
                out.append(b"".join(group))
                group, size = [], 0
        if group:
            out.append(b"".join(group))
        return out


async def send_kept_gzip(send: Send, chunks: list[bytes], content_type: bytes = JSON) -> None:
    """A 200 whose body is a kept gzip-compressed body (`send_chunks`'s `keep`): with its
    Content-Length, chunk by chunk (each awaited: a slow client holds the transport's buffer,
    the chunks themselves are shared), in turns with the other big LISTs."""
    headers = [
        (b"content-type", content_type),
        (b"content-encoding", b"gzip"),
        (b"vary", b"Accept-Encoding"),
        (b"content-length", b"%d" % sum(map(len, chunks))),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def rest() -> None:
        last = len(chunks) - 1
        for i, chunk in enumerate(chunks):
            if i:
                await TURNS.wait_until_turn()
            await send({"type": "http.response.body", "body": chunk, "more_body": i < last})
        if not chunks:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    await _timed(rest())


async def _send_rest(
    send: Send,
    built: list[bytes],
    it: Iterator[bytes],
    compressor: Compressor | None,
    kept: _Kept | None = None,
) -> None:
    first = True
    while True:
        if not first:
            # Every further chunk (building, compressing, writing it) is a step of its own,
            # taken in turn with the other big LISTs in flight.
            await TURNS.wait_until_turn()
        first = False
        chunk = built.pop(0) if built else next(it, None)
        if chunk is None:
            break
        out = chunk if compressor is None else await _compress(compressor, chunk)
        if out:
            if kept is not None:
                kept.add(out)
            await send({"type": "http.response.body", "body": out, "more_body": True})
        # Drop the references before waiting: a slow client then pins what the transport
        # holds, not this chunk too.
        out = chunk = b""
    last = compressor.flush() if compressor is not None else b""
    if kept is not None:
        kept.add(last)
    await send({"type": "http.response.body", "body": last, "more_body": False})


async def _compress(compressor: Compressor, chunk: bytes) -> bytes:
    """`compressor.compress(chunk)` on a GZIP_THREADS thread: zlib releases the GIL while it
    deflates, so the event loop goes on serving meanwhile (one chunk's compression is about 0.4
    ms; a storm of gzip LISTs is mostly compression). A LIST awaits each chunk before the next,
    so its compressor is never used by two threads at once."""
    loop = asyncio.get_running_loop()
    out: bytes = await loop.run_in_executor(_GZIP_POOL, compressor.compress, chunk)
    return out


class LoopTurns:
    """Big LISTs' steps take turns: each iteration of the event loop lets go steps worth
    `per_turn` units of work at most (one step at least), first come first served.

    Yielding alone (`asyncio.sleep(0)`) does not bound a loop iteration: every task that is
    ready runs once per iteration, so 150 LISTs each building a chunk hold every other request
    for 150 chunks per iteration, and a small GET crosses several iterations. Here a step
    waits for a future that a once-per-iteration tick resolves for the first waiters only, so
    an iteration runs about `per_turn` units of LIST work whatever the number of LISTs in
    flight; the LISTs share what is left of the CPU, and other requests wait for about that
    much per iteration. A step declares its `weight` in units (STEPS_PER_TURN); small requests
    (a GET, a LIST that fits in one chunk) never wait here.

    Owner: the running event loop (one tick callback at most is scheduled); the first use on
    another loop (tests) starts afresh.
    """

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: deque[tuple[asyncio.Future[None], int]] = deque()
        self._ticking = False

    async def wait_until_turn(self, weight: int = 1) -> None:
        """Return in a later iteration of the loop, when this step's turn has come; `weight`
        is the step's work in units (a heavier step leaves fewer others in its iteration)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._waiting, self._ticking = loop, deque(), False
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting.append((waiter, weight))
        if not self._ticking:
            self._ticking = True
            loop.call_soon(self._tick)
        await waiter

    def _tick(self) -> None:
        """Let the next waiters go, up to `per_turn` units (they run in the next iteration);
        tick again in the next iteration while any wait."""
        released = 0
        waiting = self._waiting
        while waiting and (not released or released + waiting[0][1] <= self.per_turn):
            waiter, weight = waiting.popleft()
            if not waiter.done():  # a cancelled request's turn goes to the next one
                waiter.set_result(None)
                released += weight
        if waiting and self._loop is not None:
            self._loop.call_soon(self._tick)
        else:
            self._ticking = False


# Units of LIST work let go per iteration of the event loop. A unit is about 0.2 ms: a
# CHUNK_BYTES step (joining 256 KiB and handing it to the transport; compressing it runs on a
# GZIP_THREADS thread), or selecting and merging api/reads.py's SELECT_OBJECTS_PER_UNIT objects.
# Four are about a millisecond: other requests wait that long per iteration however many LISTs
# are in flight, while the LISTs still get most of the CPU.
STEPS_PER_TURN: Final = 4
TURNS: Final = LoopTurns(STEPS_PER_TURN)


async def _send_whole(
    send: Send, body: bytes, gzip: bool, status: int, content_type: bytes
) -> None:
    """A body that ended within the first chunk: one message with its Content-Length."""
    headers = [(b"content-type", content_type)]
    if gzip and len(body) > GZIP_THRESHOLD_BYTES:
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        body = compressor.compress(body) + compressor.flush()
        headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
