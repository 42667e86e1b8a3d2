"""LIST timings of one run (bench/run.py stage `list`, and bench/list_cost.py): every pod through
watchproxy (RV=0, consistent, `limit` pages) against an etcd Range plus decode (whole and paged),
each case `repeats` times in rotating order with the client in the same run, and how many etcd
Range requests consistent LISTs cost, one at a time and concurrent (coalescing)."""

from __future__ import annotations

import asyncio
import re
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench import metrics
from bench.model import CONFIGMAP_NAMESPACE
from bench.scenarios import POD_PREFIX, Env
from watchproxy.etcd.client import prefix_range_end


async def get_head(
    sock: socket.socket, port: int, path: str, headers: str = ""
) -> tuple[bytes, bytes]:
    """Send `GET path` (Accept: application/json, Connection: close, plus `headers`, each line
    ending in CRLF) on the non-blocking `sock`; (response head, the body bytes read with it)."""
    loop = asyncio.get_running_loop()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(
        sock,
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n{headers}"
        "Connection: close\r\n\r\n".encode(),
    )
    data = b""
    while b"\r\n\r\n" not in data:
        got = await loop.sock_recv(sock, 1 << 20)
        if not got:
            raise RuntimeError(f"GET {path}: connection closed before the headers")
        data += got
    head, _, first = data.partition(b"\r\n\r\n")
    return head, first


async def http_fetch(port: int, path: str) -> tuple[int, bytes | bytearray, float]:
    """GET on a fresh connection; (status, body, seconds until the whole body arrived).

    A raw non-blocking socket reading into one preallocated buffer: receiving a 90 MB LIST
    through asyncio streams cost about 100 ms more than curl, which would be charged to the
    proxy.
    """
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        head, first = await get_head(sock, port, path)
        status = int(head[9:12])
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if m is None:
            rest = [first]
            while data := await loop.sock_recv(sock, 1 << 20):
                rest.append(data)
            return status, _dechunk(b"".join(rest)), time.perf_counter() - t0
        size = int(m.group(1))
        buf = bytearray(size)
        view = memoryview(buf)
        view[: len(first)] = first
        got = len(first)
        while got < size:
            n = await loop.sock_recv_into(sock, view[got:])
            if not n:
                raise RuntimeError(f"GET {path}: body cut at {got} of {size} bytes")
            got += n
        return status, buf, time.perf_counter() - t0
    finally:
        sock.close()


def _dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        nl = data.index(b"\r\n", pos)
        size = int(data[pos:nl].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[nl + 2 : nl + 2 + size])
        pos = nl + 4 + size


def _count_pods(body: bytes | bytearray) -> int:
    return body.count(b'"kind":"Pod",')


async def _proxy_list(port: int, path: str) -> tuple[int, float, int]:
    status, body, seconds = await http_fetch(port, path)
    if status != 200:
        raise RuntimeError(f"LIST {path}: HTTP {status}: {body[:300]!r}")
    return _count_pods(body), seconds, len(body)


async def _proxy_paged(port: int, limit: int) -> tuple[int, float, int]:
    t0 = time.perf_counter()
    items = pages = 0
    token = ""
    while True:
        path = f"/api/v1/pods?limit={limit}" + (f"&continue={token}" if token else "")
        status, body, _ = await http_fetch(port, path)
        if status != 200:
            raise RuntimeError(f"LIST {path}: HTTP {status}: {body[:300]!r}")
        items += _count_pods(body)
        pages += 1
        i = body.find(b'"continue":"', 0, 4096)
        if i < 0:
            return items, time.perf_counter() - t0, pages
        j = body.index(b'"', i + 12)
        token = body[i + 12 : j].decode()


async def _etcd_range_decode(
    stubs: list[Any], limit: int, decode: bool = True
) -> tuple[int, float, int]:
    from watchproxy.etcd._generated import rpc_pb2

    t0 = time.perf_counter()
    items = requests = 0
    loads = orjson.loads
    for stub in stubs:
        key, end, pinned = POD_PREFIX, prefix_range_end(POD_PREFIX), 0
        while True:
            resp = await stub.Range(
                rpc_pb2.RangeRequest(key=key, range_end=end, limit=limit, revision=pinned)
            )
            requests += 1
            if decode:
                for kv in resp.kvs:
                    loads(kv.value)
            items += len(resp.kvs)
            if not limit or not resp.more or not resp.kvs:
                break
            pinned = resp.header.revision
            key = resp.kvs[-1].key + b"\x00"
    return items, time.perf_counter() - t0, requests


async def run_list(env: Env, repeats: int, page: int = 500) -> dict[str, Any]:
    import grpc

    from watchproxy.etcd._generated import rpc_pb2_grpc

    cl, pop = env.cluster, env.pop
    assert cl.proxy is not None
    port = cl.proxy.port
    channels = [
        grpc.aio.insecure_channel(
            ep.removeprefix("http://"), [("grpc.max_receive_message_length", 1 << 30)]
        )
        for ep in cl.endpoints
    ]
    stubs = [rpc_pb2_grpc.KVStub(c) for c in channels]
    cases: dict[str, Callable[[], Any]] = {
        "watchproxy RV=0": lambda: _proxy_list(port, "/api/v1/pods?resourceVersion=0"),
        "watchproxy consistent": lambda: _proxy_list(port, "/api/v1/pods"),
        f"watchproxy limit={page} pages": lambda: _proxy_paged(port, page),
        "etcd range+decode": lambda: _etcd_range_decode(stubs, 0),
        f"etcd range limit={page}+decode": lambda: _etcd_range_decode(stubs, page),
        "etcd range only (no decode)": lambda: _etcd_range_decode(stubs, 0, decode=False),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    extra: dict[str, int] = {}
    ranges_consistent: list[float] = []
    try:
        for rep in range(repeats):
            names = list(cases)
            names = names[rep % len(names) :] + names[: rep % len(names)]
            for name in names:
                e0 = await metrics.scrape(cl.endpoints, [])
                items, seconds, info = await cases[name]()
                e1 = await metrics.scrape(cl.endpoints, [])
                if items != pop.pods:
                    env.notes.append(f"LIST {name}: {items} items, expected {pop.pods}")
                times[name].append(seconds)
                extra[name] = info
                if name == "watchproxy consistent":
                    ranges_consistent.append((e1 - e0).range_requests)
        coalescing = await _coalescing(env, port)
    finally:
        for c in channels:
            await c.close()
    med = {name: statistics.median(v) for name, v in times.items()}
    result = {
        "pods": pop.pods,
        "repeats": repeats,
        "median_s": med,
        "all_s": times,
        "info": extra,  # body bytes or pages/requests
        "speedup_rv0": med["etcd range+decode"] / med["watchproxy RV=0"],
        "speedup_consistent": med["etcd range+decode"] / med["watchproxy consistent"],
        "speedup_paged": med[f"etcd range limit={page}+decode"]
        / med[f"watchproxy limit={page} pages"],
        "etcd_ranges_per_consistent_list": statistics.median(ranges_consistent),
        "coalescing": coalescing,
    }
    env.log(
        f"  LIST {pop.pods} pods: "
        + ", ".join(f"{n} {v * 1000:.0f} ms" for n, v in med.items())
        + f"; speed-up RV=0 {result['speedup_rv0']:.1f}x, consistent "
        f"{result['speedup_consistent']:.1f}x, paged {result['speedup_paged']:.1f}x"
    )
    return result


async def _coalescing(env: Env, port: int, concurrency: int = 50) -> dict[str, Any]:
    """etcd Range requests per consistent LIST, sequential and `concurrency` at once."""
    cl = env.cluster
    assert cl.proxy is not None
    path = f"/api/v1/namespaces/{CONFIGMAP_NAMESPACE}/configmaps"
    sequential = 10
    e0 = await metrics.scrape(cl.endpoints, [])
    for _ in range(sequential):
        status, body, _ = await http_fetch(port, path)
        if status != 200:
            raise RuntimeError(f"LIST {path}: HTTP {status}: {body[:200]!r}")
    e1 = await metrics.scrape(cl.endpoints, [])
    t0 = time.perf_counter()
    answers = await asyncio.gather(*(http_fetch(port, path) for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    e2 = await metrics.scrape(cl.endpoints, [])
    bad = sum(1 for status, _, _ in answers if status != 200)
    out = {
        "sequential_lists": sequential,
        "sequential_ranges": (e1 - e0).range_requests,
        "concurrent_lists": concurrency,
        "concurrent_ranges": (e2 - e1).range_requests,
        "concurrent_errors": bad,
        "concurrent_seconds": elapsed,
        "ranges_per_list_sequential": (e1 - e0).range_requests / sequential,
        "ranges_per_list_concurrent": (e2 - e1).range_requests / concurrency,
    }
    env.log(
        f"  consistent LIST coalescing: {out['ranges_per_list_sequential']:.2f} Range/LIST "
        f"sequential, {out['ranges_per_list_concurrent']:.2f} Range/LIST with {concurrency} "
        "concurrent"
    )
    return out


# -- memory per cached object -------------------------------------------------------------------
