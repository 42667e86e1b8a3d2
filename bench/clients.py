"""Watch clients, run in worker subprocesses (each its own uvloop event loop).

HTTP watchers are bare `asyncio.Protocol`s: they send one GET, parse the status line, decode the
chunked body and split it into lines, and pull (object id, resourceVersion) out of each line with
byte searches -- no JSON decoding, so thousands of streams stay cheap. A composite
resourceVersion (merged views) is decoded to its vector and the event's shard entry taken.

etcd watchers (direct etcd or etcd grpc-proxy) are raw `Watch` streams on the generated gRPC
stubs; a kubelet-like watcher filters the values itself by a byte pattern.

Every live event is recorded as (watcher, object id, shard, revision, receive time) in flat
arrays and written to an .npz file when the parent says stop. Initial events (WatchList) are only
counted and summed per watcher, for the completeness check.

Over 400 lines as one module: the parent (WorkerPool) and the child (_worker, serve_commands)
are the two ends of one pipe protocol and change together; bench/big_cluster_h2.py reuses the
child's end for its HTTP/2 clients.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import random
import time
from array import array
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

INITIAL_END = b"k8s.io/initial-events-end"
RV_MARK = b'"resourceVersion":"'
NAME_MARK = b'"name":"'
TYPE_AT = len(b'{"type":"')
RETRIES_429 = 5


@dataclass(frozen=True)
class HttpWatcherDef:
    wid: int
    path: str  # path and query
    shard: int | None  # the shard of a single-shard view; None: merged view (tokens)
    initial: bool  # WatchList: initial events end with the initial-events-end bookmark


@dataclass(frozen=True)
class EtcdWatchDef:
    shard: int
    key: bytes
    range_end: bytes
    start_revision: int


@dataclass(frozen=True)
class EtcdWatcherDef:
    wid: int
    watches: tuple[EtcdWatchDef, ...]
    contains: bytes | None  # client-side filter: keep values containing this


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    out_path: str
    http_port: int = 0
    etcd_endpoints: tuple[str, ...] = ()  # per shard: etcd or grpc-proxy
    http_watchers: tuple[HttpWatcherDef, ...] = ()
    etcd_watchers: tuple[EtcdWatcherDef, ...] = ()
    pod_shards: bytes = b""  # object id -> shard, to read merged tokens
    connect_concurrency: int = 64
    ready_timeout: float = 60.0
    lifetime: float = 600.0  # the worker exits by itself after this


# -- per-worker state ---------------------------------------------------------------------------


@dataclass
class Recorder:
    wid: array[int] = field(default_factory=lambda: array("i"))
    oid: array[int] = field(default_factory=lambda: array("i"))
    shard: array[int] = field(default_factory=lambda: array("b"))
    rev: array[int] = field(default_factory=lambda: array("q"))
    t: array[float] = field(default_factory=lambda: array("d"))

    def add(self, wid: int, oid: int, shard: int, rev: int, t: float) -> None:
        self.wid.append(wid)
        self.oid.append(oid)
        self.shard.append(shard)
        self.rev.append(rev)
        self.t.append(t)


class WatcherState:
    __slots__ = (
        "bookmarks",
        "connected_t",
        "ended_early",
        "error",
        "error_lines",
        "http_status",
        "initial_count",
        "initial_done_t",
        "initial_sum",
        "ready",
        "stopping",
        "wid",
    )

    def __init__(self, wid: int, ready: asyncio.Future[bool]) -> None:
        self.wid = wid
        self.ready = ready
        self.connected_t = 0.0
        self.initial_done_t = 0.0
        self.initial_count = 0
        self.initial_sum = 0
        self.bookmarks = 0
        self.error_lines = 0
        self.http_status = 0
        self.ended_early = False
        self.stopping = False
        self.error = ""

    def set_ready(self, ok: bool) -> None:
        if not self.ready.done():
            self.ready.set_result(ok)


_token_memo: dict[bytes, tuple[int, ...]] = {}


def decode_token(token: bytes) -> tuple[int, ...]:
    """The per-shard vector of a composite resourceVersion (docs/resource-versions.md)."""
    vector = _token_memo.get(token)
    if vector is not None:
        return vector
    raw = base64.urlsafe_b64decode(token + b"=" * (-len(token) % 4))
    out: list[int] = []
    value = shift = 0
    for byte in raw[5:]:
        value |= (byte & 0x7F) << shift
        if byte & 0x80:
            shift += 7
        else:
            out.append(value)
            value = shift = 0
    vector = tuple(out)
    if len(_token_memo) > 200_000:
        _token_memo.clear()
    _token_memo[token] = vector
    return vector


class HttpWatch(asyncio.Protocol):
    """One watch stream over HTTP/1.1 with chunked transfer encoding."""

    def __init__(
        self, spec: HttpWatcherDef, state: WatcherState, rec: Recorder, request: bytes,
        pod_shards: bytes,
    ) -> None:
        self.state = state
        self.wid = spec.wid
        self.shard = spec.shard
        self.initial_done = not spec.initial
        self.rec = rec
        self.request = request
        self.pod_shards = pod_shards
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.in_body = False
        self.chunk_left = 0
        self.crlf_left = 0
        self.size_line = bytearray()
        self.buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        st = self.state
        if not st.stopping:
            st.ended_early = True
            if not st.error:
                st.error = f"connection closed: {exc}" if exc else "connection closed by server"
        st.set_ready(False)

    def close(self) -> None:
        self.state.stopping = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        t = time.time()
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end], self.head[end + 4 :]
            self.head = b""
            st = self.state
            st.http_status = int(head[9:12])
            if st.http_status != 200 or b"chunked" not in head.lower():
                st.error = f"HTTP {st.http_status}: {data[:300]!r}"
                st.set_ready(False)
                self.close()
                st.ended_early = True
                return
            self.in_body = True
            st.connected_t = t
            if self.initial_done:
                st.initial_done_t = t
                st.set_ready(True)
        self._body(data, t)

    def _body(self, data: bytes, t: float) -> None:
        pos, n = 0, len(data)
        buf = self.buf
        while pos < n:
            if self.chunk_left:
                take = min(self.chunk_left, n - pos)
                buf += data[pos : pos + take]
                pos += take
                self.chunk_left -= take
                if not self.chunk_left:
                    self.crlf_left = 2
            elif self.crlf_left:
                take = min(self.crlf_left, n - pos)
                pos += take
                self.crlf_left -= take
            else:
                nl = data.find(b"\n", pos)
                if nl < 0:
                    self.size_line += data[pos:]
                    break
                self.size_line += data[pos:nl]
                pos = nl + 1
                size = int(bytes(self.size_line).split(b";")[0].strip() or b"0", 16)
                self.size_line.clear()
                if size == 0:  # last chunk: the server ended the watch
                    self._lines(t)
                    if self.transport is not None:
                        self.transport.close()
                    return
                self.chunk_left = size
        self._lines(t)

    def _lines(self, t: float) -> None:
        buf = self.buf
        start = 0
        find = buf.find
        while True:
            nl = find(b"\n", start)
            if nl < 0:
                break
            if nl > start:
                self._line(buf, start, nl, t)
            start = nl + 1
        if start:
            del buf[:start]

    def _line(self, buf: bytearray, s: int, e: int, t: float) -> None:
        kind = buf[s + TYPE_AT]
        st = self.state
        if kind == 66:  # BOOKMARK
            st.bookmarks += 1
            if not self.initial_done and buf.find(INITIAL_END, s, e) >= 0:
                self.initial_done = True
                st.initial_done_t = t
                st.set_ready(True)
            return
        if kind == 69:  # ERROR
            st.error_lines += 1
            if not st.error:
                st.error = bytes(buf[s : min(e, s + 400)]).decode(errors="replace")
            return
        i = buf.find(RV_MARK, s, e) + len(RV_MARK)
        j = buf.find(b'"', i, e)
        k = buf.find(NAME_MARK, j, e) + len(NAME_MARK)
        m = buf.find(b'"', k, e)
        oid = int(buf[buf.rfind(b"-", k, m) + 1 : m])
        if not self.initial_done:
            st.initial_count += 1
            st.initial_sum += oid
            return
        if 48 <= buf[i] <= 57:
            rev = int(buf[i:j])
            shard = self.shard if self.shard is not None else self.pod_shards[oid]
        else:
            shard = self.pod_shards[oid] if self.shard is None else self.shard
            rev = decode_token(bytes(buf[i:j]))[shard]
        self.rec.add(self.wid, oid, shard, rev, t)


# -- etcd watchers --------------------------------------------------------------------------------


async def etcd_watch(
    stub: Any, spec: EtcdWatcherDef, wd: EtcdWatchDef, state: WatcherState, rec: Recorder,
    created: asyncio.Future[bool],
) -> None:
    import grpc

    from watchproxy.etcd._generated import rpc_pb2

    call = stub.Watch()
    wid, shard, contains = spec.wid, wd.shard, spec.contains
    add = rec.add
    try:
        create = rpc_pb2.WatchCreateRequest(
            key=wd.key, range_end=wd.range_end, start_revision=wd.start_revision
        )
        await call.write(rpc_pb2.WatchRequest(create_request=create))
        while True:
            msg = await call.read()
            if msg is grpc.aio.EOF:
                break
            if msg.canceled or msg.compact_revision:
                state.error = f"watch canceled: {msg.cancel_reason or msg.compact_revision}"
                break
            if msg.created:
                if not created.done():
                    created.set_result(True)
                if not msg.events:
                    continue
            t = time.time()
            for ev in msg.events:
                kv = ev.kv
                if contains is not None and contains not in kv.value:
                    continue
                key = kv.key
                add(wid, int(key[key.rfind(b"-") + 1 :]), shard, kv.mod_revision, t)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        state.error = f"{type(exc).__name__}: {exc}"[:300]
    finally:
        call.cancel()
        if not state.stopping:
            state.ended_early = True
        if not created.done():
            created.set_result(False)


# -- the worker process --------------------------------------------------------------------------


class _Inbox:
    """Parent commands arriving on the pipe, as an asyncio queue."""

    def __init__(self, conn: mpc.Connection) -> None:
        self.conn = conn
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), self._readable)

    def _readable(self) -> None:
        try:
            while self.conn.poll():
                self.queue.put_nowait(self.conn.recv())
        except (EOFError, OSError):
            self.queue.put_nowait("stop")
            asyncio.get_running_loop().remove_reader(self.conn.fileno())


async def _worker(conn: mpc.Connection, spec: WorkerSpec) -> None:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    states: list[WatcherState] = []
    protocols: list[HttpWatch] = []
    tasks: list[asyncio.Task[None]] = []
    channels: list[Any] = []
    sem = asyncio.Semaphore(spec.connect_concurrency)
    inbox = _Inbox(conn)
    t_start = time.time()

    async def open_http(w: HttpWatcherDef) -> None:
        request = (
            f"GET {w.path} HTTP/1.1\r\nHost: 127.0.0.1:{spec.http_port}\r\n"
            "Accept: application/json\r\nUser-Agent: watchproxy-bench\r\n\r\n"
        ).encode()
        # A 429 from the proxy's flow control (a burst of WatchLists at start) is retried after
        # its Retry-After, as client-go does (rest/request.go checkWait), a few times at most.
        for attempt in range(RETRIES_429 + 1):
            state = WatcherState(w.wid, loop.create_future())

            def protocol(st: WatcherState = state) -> HttpWatch:
                return HttpWatch(w, st, rec, request, spec.pod_shards)

            async with sem:
                try:
                    _, proto = await loop.create_connection(
                        protocol,
                        "127.0.0.1",
                        spec.http_port,
                    )
                    protocols.append(proto)
                    await asyncio.wait_for(asyncio.shield(state.ready), spec.ready_timeout)
                except (OSError, TimeoutError) as exc:
                    state.error = state.error or f"connect: {type(exc).__name__}: {exc}"
                    state.ended_early = True
                    state.set_ready(False)
            if state.http_status != 429 or attempt == RETRIES_429:
                break
            await asyncio.sleep(1.0 + random.random())
        states.append(state)

    stubs: list[Any] = []
    if spec.etcd_watchers:
        import grpc

        from watchproxy.etcd._generated import rpc_pb2_grpc

        for ep in spec.etcd_endpoints:
            channel = grpc.aio.insecure_channel(
                ep.removeprefix("http://"),
                [("grpc.max_receive_message_length", 256 * 1024 * 1024)],
            )
            channels.append(channel)
            stubs.append(rpc_pb2_grpc.WatchStub(channel))

    async def open_etcd(w: EtcdWatcherDef) -> None:
        state = WatcherState(w.wid, loop.create_future())
        states.append(state)
        async with sem:
            created: list[asyncio.Future[bool]] = []
            for wd in w.watches:
                fut: asyncio.Future[bool] = loop.create_future()
                created.append(fut)
                tasks.append(
                    asyncio.create_task(etcd_watch(stubs[wd.shard], w, wd, state, rec, fut))
                )
            try:
                oks = await asyncio.wait_for(asyncio.gather(*created), spec.ready_timeout)
            except TimeoutError:
                oks = [False]
            state.connected_t = state.initial_done_t = time.time()
            state.set_ready(all(oks))

    openers = [open_http(w) for w in spec.http_watchers] + [
        open_etcd(w) for w in spec.etcd_watchers
    ]
    await asyncio.gather(*openers)
    await serve_commands(conn, inbox, states, rec, t_start, spec.lifetime)
    for s in states:
        s.stopping = True
    for p in protocols:
        p.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()
    save_recording(spec.out_path, rec, states)
    errors = sorted({s.error for s in states if s.error})[:5]
    conn.send(("done", {"cpu": time.process_time(), "errors": errors}))


async def serve_commands(
    conn: mpc.Connection,
    inbox: _Inbox,
    states: list[WatcherState],
    rec: Recorder,
    t_start: float,
    lifetime: float,
) -> None:
    """A worker's protocol with the parent once its watches are open: report "ready", answer
    "count" until "stop" (or `lifetime` seconds after `t_start`)."""
    ok = sum(1 for s in states if s.ready.done() and s.ready.result())
    errors = sorted({s.error for s in states if s.error})[:5]
    conn.send(
        ("ready", {"ok": ok, "failed": len(states) - ok, "seconds": time.time() - t_start,
                   "errors": errors, "cpu": time.process_time()})
    )
    deadline = t_start + lifetime
    while True:
        try:
            cmd = await asyncio.wait_for(inbox.queue.get(), max(0.1, deadline - time.time()))
        except TimeoutError:
            cmd = "stop"
        if cmd != "count":
            return
        conn.send(
            ("count", {"deliveries": len(rec.t), "ended": sum(s.ended_early for s in states),
                       "cpu": time.process_time()})
        )


def save_recording(out_path: str, rec: Recorder, states: list[WatcherState]) -> None:
    """The .npz `load_deliveries` reads: every delivery, and per watcher its start figures."""
    order = sorted(states, key=lambda s: s.wid)

    def arr(a: Any, dtype: Any) -> Any:
        return np.frombuffer(a, dtype) if len(a) else np.zeros(0, dtype)

    np.savez(
        out_path,
        wid=arr(rec.wid, np.int32), oid=arr(rec.oid, np.int32), shard=arr(rec.shard, np.int8),
        rev=arr(rec.rev, np.int64), t=arr(rec.t, np.float64),
        w_id=np.array([s.wid for s in order], np.int32),
        w_connected=np.array([s.connected_t for s in order], np.float64),
        w_initial_done=np.array([s.initial_done_t for s in order], np.float64),
        w_initial_count=np.array([s.initial_count for s in order], np.int64),
        w_initial_sum=np.array([s.initial_sum for s in order], np.int64),
        w_bookmarks=np.array([s.bookmarks for s in order], np.int64),
        w_error_lines=np.array([s.error_lines for s in order], np.int64),
        w_ended_early=np.array([s.ended_early for s in order], np.bool_),
    )  # fmt: skip


def run_worker(conn: mpc.Connection, main: Coroutine[Any, Any, None]) -> None:
    """A worker process's body: every file descriptor it may have, `main` on uvloop, and an
    exception reported to the parent before it ends the process."""
    import resource

    import uvloop

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        uvloop.run(main)
    except Exception as exc:  # report, then exit
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def worker_entry(conn: mpc.Connection, spec: WorkerSpec) -> None:
    run_worker(conn, _worker(conn, spec))


# -- the parent side ------------------------------------------------------------------------------


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _recv(conn: mpc.Connection, limit_s: float) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not conn.poll():
        if loop.time() > deadline:
            raise TimeoutError("worker did not answer")
        fut: asyncio.Future[None] = loop.create_future()
        loop.add_reader(conn.fileno(), _wake, fut)
        try:
            await asyncio.wait_for(fut, max(0.01, deadline - loop.time()))
        except TimeoutError:
            pass
        finally:
            loop.remove_reader(conn.fileno())
    return conn.recv()


class WorkerPool:
    """K worker processes holding the watchers of one scenario run."""

    def __init__(
        self, specs: Sequence[Any], target: Callable[[mpc.Connection, Any], None] = worker_entry
    ) -> None:
        """`target(conn, spec)` runs in each process: worker_entry, or another client speaking
        the same pipe protocol (bench/big_cluster_h2.py)."""
        ctx = mp.get_context("spawn")
        self.specs = specs
        self.conns: list[mpc.Connection] = []
        self.procs: list[Any] = []
        for spec in specs:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=target, args=(child, spec), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    async def _expect(self, conn: mpc.Connection, kind: str, limit_s: float) -> dict[str, Any]:
        msg = await _recv(conn, limit_s)
        if msg[0] == "error":
            raise RuntimeError(f"watch worker failed: {msg[1]}")
        if msg[0] != kind:
            raise RuntimeError(f"watch worker: expected {kind}, got {msg[0]}")
        info: dict[str, Any] = msg[1]
        return info

    async def wait_ready(self, limit_s: float) -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(*(self._expect(c, "ready", limit_s) for c in self.conns))
        )

    async def counts(self) -> tuple[int, int, float]:
        """(live deliveries, watchers ended early, worker CPU seconds so far) over workers."""
        for conn in self.conns:
            conn.send("count")
        infos = await asyncio.gather(*(self._expect(c, "count", 30) for c in self.conns))
        return (
            sum(int(i["deliveries"]) for i in infos),
            sum(int(i["ended"]) for i in infos),
            sum(float(i["cpu"]) for i in infos),
        )

    async def stop(self) -> list[dict[str, Any]]:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send("stop")
        try:
            return list(
                await asyncio.gather(*(self._expect(c, "done", 120) for c in self.conns))
            )
        finally:
            await asyncio.to_thread(self.join)

    def join(self) -> None:
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self.conns:
            conn.close()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
        self.join()


def load_deliveries(paths: list[str]) -> dict[str, np.ndarray[Any, Any]]:
    """Concatenate the workers' .npz files (watcher arrays sorted by watcher id)."""
    parts = [dict(np.load(p if p.endswith(".npz") else p + ".npz")) for p in paths]
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(out["w_id"], kind="stable")
    for k in list(out):
        if k.startswith("w_"):
            out[k] = out[k][order]
    for p in paths:
        with contextlib.suppress(OSError):
            os.unlink(p if p.endswith(".npz") else p + ".npz")
    return out
