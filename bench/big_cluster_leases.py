"""Node Lease renewals through the proxy for bench/big_cluster.py, in a WorkerPool process.

Every lease n is renewed once per `period_s`, at offset n/N of the period (so the N renewals are
spread evenly: N/period PUTs per second), as kubelet's node lease controller does: a PUT of the
whole Lease with a new spec.renewTime and the resourceVersion of its last write (the first from
one LIST at start), over kept-alive HTTP/1.1-over-TLS connections. A 409 is answered by a GET and
one retry, as the controller re-reads. Each kubelet renews one at a time: a renewal due while
the previous one of the same lease is still queued or in flight is skipped and counted (the
proxy is then behind), so the backlog stays bounded by N. The pipe protocol is
bench/clients.py's: "ready", then "go" starts the renewals, "count", "stop" -> "done"
with the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.connection as mpc
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from bench.big_cluster_h2 import client_context
from bench.big_cluster_plan import LEASE_NAMESPACE, lease_object
from bench.clients import _Inbox
from bench.model import Population

LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases"
RV_MARK = b'"resourceVersion":"'


@dataclass(frozen=True)
class LeaseSpec:
    port: int
    ca_file: str
    nodes: int
    period_s: float = 10.0
    connections: int = 64
    lifetime: float = 900.0


class Http1:
    """One kept-alive HTTP/1.1 connection (TLS); one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                f"Content-Type: application/json\r\nUser-Agent: watchproxy-bench-kubelet\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        headers = raw.lower()
        i = headers.find(b"content-length:")
        if i >= 0:
            n = int(headers[i + 15 : headers.index(b"\r\n", i)])
            return status, await self.reader.readexactly(n)
        out = bytearray()
        while True:  # chunked
            size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
            chunk = await self.reader.readexactly(size + 2)
            if not size:
                return status, bytes(out)
            out += chunk[:-2]


def _rv(body: bytes) -> str:
    i = body.find(RV_MARK) + len(RV_MARK)
    return body[i : body.index(b'"', i)].decode()


def _micro_time(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


async def _renewer(conn: mpc.Connection, spec: LeaseSpec) -> None:
    loop = asyncio.get_running_loop()
    inbox = _Inbox(conn)
    pop = Population(nodes=spec.nodes, pods=0)
    ctx = client_context(spec.ca_file, "http/1.1")
    t_start = time.time()
    conns = []
    for _ in range(spec.connections):
        r, w = await asyncio.open_connection("127.0.0.1", spec.port, ssl=ctx,
                                             server_hostname="localhost")
        conns.append(Http1(r, w))
    status, body = await conns[0].request("GET", LEASES)
    rv: dict[int, str] = {}
    if status == 200:
        for item in orjson.loads(body)["items"]:
            name = item["metadata"]["name"]
            rv[int(name[name.rindex("-") + 1 :])] = item["metadata"]["resourceVersion"]
    conn.send(("ready", {"ok": len(rv), "failed": spec.nodes - len(rv),
                         "seconds": time.time() - t_start,
                         "errors": [] if status == 200 else [f"LIST leases: HTTP {status}"],
                         "cpu": time.process_time()}))
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    lat: list[float] = []
    late: list[float] = []
    stats = {"ok": 0, "errors": 0, "conflicts": 0, "skipped": 0}
    errors: set[str] = set()

    pending: set[int] = set()

    async def schedule(t0: float) -> None:
        step = spec.period_s / spec.nodes
        seq = 0
        while True:
            now = loop.time()
            while t0 + seq * step <= now:
                n = seq % spec.nodes
                if n in pending:  # kubelet renews one at a time: a late renewal is skipped
                    stats["skipped"] += 1
                else:
                    pending.add(n)
                    queue.put_nowait((n, t0 + seq * step))
                seq += 1
            await asyncio.sleep(max(0.002, t0 + seq * step - loop.time()))

    async def renew(c: Http1) -> None:
        while True:
            n, due = await queue.get()
            t0 = loop.time()
            late.append(t0 - due)
            path = f"{LEASES}/{pop.node_name(n)}"
            try:
                for _attempt in range(2):
                    body = orjson.dumps(lease_object(pop, n, _micro_time(time.time()), rv.get(n)))
                    status, resp = await c.request("PUT", path, body)
                    if status == 200:
                        rv[n] = _rv(resp)
                        stats["ok"] += 1
                        break
                    if status == 409:
                        stats["conflicts"] += 1
                        status, resp = await c.request("GET", path)
                        if status == 200:
                            rv[n] = _rv(resp)
                            continue
                    stats["errors"] += 1
                    errors.add(f"HTTP {status}: {resp[:200]!r}")
                    break
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                stats["errors"] += 1
                errors.add(f"{type(exc).__name__}: {exc}")
                return
            pending.discard(n)
            lat.append(loop.time() - t0)

    tasks: list[asyncio.Task[None]] = []
    t_go = 0.0
    deadline = t_start + spec.lifetime
    while True:
        try:
            cmd = await asyncio.wait_for(inbox.queue.get(), max(0.1, deadline - time.time()))
        except TimeoutError:
            cmd = "stop"
        if cmd == "go" and not tasks:
            t_go = time.time()
            tasks.append(asyncio.create_task(schedule(loop.time())))
            tasks.extend(asyncio.create_task(renew(c)) for c in conns)
        elif cmd == "count":
            conn.send(("count", {"deliveries": stats["ok"], "ended": stats["errors"],
                                 "cpu": time.process_time()}))
        elif cmd != "go":
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for c in conns:
        c.writer.close()
    span = time.time() - t_go if t_go else 0.0
    lat_ms = np.array(lat) * 1000
    late_ms = np.array(late) * 1000
    conn.send(("done", {
        "cpu": time.process_time(), "errors": sorted(errors)[:5], **stats,
        "rate": stats["ok"] / span if span else 0.0, "backlog": queue.qsize(),
        "p50_ms": float(np.percentile(lat_ms, 50)) if lat else float("nan"),
        "p99_ms": float(np.percentile(lat_ms, 99)) if lat else float("nan"),
        "late_p99_ms": float(np.percentile(late_ms, 99)) if late else float("nan"),
    }))


def lease_entry(conn: mpc.Connection, spec: LeaseSpec) -> None:
    import uvloop

    try:
        uvloop.run(_renewer(conn, spec))
    except Exception as exc:  # report, then exit
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def summarize(done: dict[str, Any]) -> str:
    return (f"leases: {done['ok']} renewed ({done['rate']:.0f}/s), {done['errors']} errors, "
            f"{done['conflicts']} conflicts, {done['skipped']} skipped (still in flight), "
            f"p50 {done['p50_ms']:.1f} p99 {done['p99_ms']:.1f} ms,"
            f" late p99 {done['late_p99_ms']:.1f} ms")
