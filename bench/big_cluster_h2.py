"""Watch clients over HTTP/2 and TLS for bench/big_cluster.py: one connection per kubelet
carrying its five watch streams (as client-go multiplexes a kubelet's watches), one per
controller. Runs in WorkerPool processes (bench/clients.py) and speaks their pipe protocol:
"ready" after every stream's initial events, "count", then "stop" -> an .npz of the same shape
as bench/clients.py writes, read by `load_deliveries` and checked by bench/analysis.py.

Frames are parsed by hand (frame headers; HPACK only for response headers, via `hpack`); each
stream's DATA is handed to a bench.clients.HttpWatch used as a line parser, so events are read,
checked and recorded exactly as the HTTP/1.1 bench reads them. Windows are opened to 2^31-1 up
front and replenished, so flow control never stalls the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.connection as mpc
import ssl
import struct
import time
from dataclasses import dataclass

from hpack import Decoder, Encoder

from bench.big_cluster_plan import StreamDef
from bench.clients import (
    HttpWatch,
    HttpWatcherDef,
    Recorder,
    WatcherState,
    _Inbox,
    run_worker,
    save_recording,
    serve_commands,
)
from bench.h2frames import each_frame, frame

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_WINDOW = 2**31 - 1
REPLENISH = 1 << 28  # give back a window once this much of it was consumed
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, PADDED, PRIORITY = 0x1, 0x4, 0x8, 0x20


@dataclass(frozen=True)
class H2WorkerSpec:
    index: int
    out_path: str
    port: int
    ca_file: str
    connections: tuple[tuple[StreamDef, ...], ...]
    pod_shards: bytes  # object id -> shard, to read merged tokens (controllers)
    connect_concurrency: int = 64
    ready_timeout: float = 300.0
    lifetime: float = 900.0  # the worker exits by itself after this


class _Stream:
    __slots__ = ("consumed", "state", "watch")

    def __init__(self, watch: HttpWatch, state: WatcherState) -> None:
        self.watch = watch
        self.state = state
        self.consumed = 0


class H2Watches(asyncio.Protocol):
    """One TLS connection, ALPN h2, one GET stream per StreamDef."""

    def __init__(self, defs: tuple[StreamDef, ...], states: list[WatcherState], rec: Recorder,
                 pod_shards: bytes) -> None:
        self.defs = defs
        self.streams: dict[int, _Stream] = {}
        for i, (d, st) in enumerate(zip(defs, states, strict=True)):
            watch = HttpWatch(HttpWatcherDef(d.wid, d.path, d.shard, True), st, rec, b"",
                              pod_shards)
            watch.in_body = True
            self.streams[2 * i + 1] = _Stream(watch, st)
        self.decoder = Decoder()
        self.buffer = bytearray()
        self.consumed = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        settings = struct.pack(">HI", 0x2, 0) + struct.pack(">HI", 0x4, MAX_WINDOW)
        out = [H2_PREFACE, frame(SETTINGS, 0, 0, settings),
               frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - 65535))]
        encoder = Encoder()
        for i, d in enumerate(self.defs):
            block = encoder.encode(
                [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"),
                 (b":path", d.path.encode()), (b"accept", b"application/json"),
                 (b"user-agent", b"watchproxy-bench-kubelet")]
            )
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, block))
        transport.write(b"".join(out))  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        for s in self.streams.values():
            self._ended(s, f"connection closed: {exc}" if exc else "connection closed by server")

    @staticmethod
    def _ended(s: _Stream, why: str) -> None:
        st = s.state
        if not st.stopping:
            st.ended_early = True
            st.error = st.error or why
        st.set_ready(False)

    def close(self) -> None:
        for s in self.streams.values():
            s.state.stopping = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        t = time.time()
        self.buffer += data
        each_frame(self.buffer, lambda kind, flags, sid, body: self._frame(
            kind, flags, sid, bytes(body), t
        ))

    def _frame(self, kind: int, flags: int, sid: int, body: bytes, t: float) -> None:
        s = self.streams.get(sid)
        if kind == DATA and s is not None:
            if flags & PADDED:
                body = body[1 : len(body) - body[0]]
            if s.state.http_status != 200:  # an error's Status body: keep its message
                s.state.error = f"{s.state.error}: {body[:300].decode(errors='replace')}"
                return
            w = s.watch
            w.buf += body
            w._lines(t)
            self._consume(sid, s, len(body))
            if flags & END_STREAM:
                self._ended(s, "stream ended by server")
        elif kind == HEADERS:
            if flags & PADDED:
                body = body[1 : len(body) - body[0]]
            if flags & PRIORITY:
                body = body[5:]
            headers = dict(self.decoder.decode(body, raw=True))
            if s is None:
                return
            status = headers.get(b":status")
            if status is not None and status != b"200":
                s.state.http_status = int(status)
                s.state.error = f"HTTP {status.decode()}"
                self._ended(s, s.state.error)
            elif status is not None:
                s.state.http_status = 200
                s.state.connected_t = t
            if flags & END_STREAM:
                self._ended(s, "stream ended by server")
        elif kind == SETTINGS and not flags & 0x1:
            self._write(frame(SETTINGS, 0x1, 0, b""))
        elif kind == PING and not flags & 0x1:
            self._write(frame(PING, 0x1, 0, body))
        elif kind == RST_STREAM and s is not None:
            self._ended(s, f"RST_STREAM {int.from_bytes(body[:4], 'big')}")
        elif kind == GOAWAY:
            for st in self.streams.values():
                self._ended(st, f"GOAWAY {int.from_bytes(body[4:8], 'big')}")

    def _consume(self, sid: int, s: _Stream, n: int) -> None:
        s.consumed += n
        self.consumed += n
        if s.consumed >= REPLENISH:
            self._write(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", s.consumed)))
            s.consumed = 0
        if self.consumed >= REPLENISH:
            self._write(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", self.consumed)))
            self.consumed = 0

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def client_context(ca_file: str, alpn: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.set_alpn_protocols([alpn])
    return ctx


async def _worker(conn: mpc.Connection, spec: H2WorkerSpec) -> None:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    states: list[WatcherState] = []
    protocols: list[H2Watches] = []
    sem = asyncio.Semaphore(spec.connect_concurrency)
    inbox = _Inbox(conn)
    ctx = client_context(spec.ca_file, "h2")
    t_start = time.time()

    async def open_conn(defs: tuple[StreamDef, ...]) -> None:
        mine = [WatcherState(d.wid, loop.create_future()) for d in defs]
        states.extend(mine)
        async with sem:
            try:
                _, proto = await loop.create_connection(
                    lambda: H2Watches(defs, mine, rec, spec.pod_shards), "127.0.0.1", spec.port,
                    ssl=ctx, server_hostname="localhost", ssl_handshake_timeout=spec.ready_timeout,
                )
                protocols.append(proto)
            except OSError as exc:
                for st in mine:
                    st.error = f"connect: {type(exc).__name__}: {exc}"
                    st.ended_early = True
                    st.set_ready(False)
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(st.ready for st in mine)), spec.ready_timeout)

    await asyncio.gather(*(open_conn(c) for c in spec.connections))
    await serve_commands(conn, inbox, states, rec, t_start, spec.lifetime)
    for p in protocols:
        p.close()
    save_recording(spec.out_path, rec, states)
    errors = sorted({s.error for s in states if s.error})[:5]
    conn.send(("done", {"cpu": time.process_time(), "errors": errors}))


def h2_worker_entry(conn: mpc.Connection, spec: H2WorkerSpec) -> None:
    run_worker(conn, _worker(conn, spec))
