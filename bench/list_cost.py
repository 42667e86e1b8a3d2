"""LIST cost at scale (issue 10): a LIST of every pod through watchproxy against an etcd Range
plus decode, for RV=0, consistent and `limit=500` paged LISTs -- the ratios of
`bench.list_timing.run_list`, unchanged -- plus the proxy's CPU per LIST and gzip-compressed
LISTs. Opt-in, not part of `make bench`:

    .venv/bin/python -m bench.list_cost [--pods 50000] [--repeats 3] [--page 500]
        [--baseline /tmp/wt-base-h3] [--keep]

Two etcd shards; `--pods` pods (bench/model.py, 1.8 KB each) and their namespaces and nodes
written straight into etcd; then, for each tree measured (`--baseline DIR`, a checkout of an
older commit with its generated modules, first; this checkout second), one `watchproxy serve`
started on that store (PYTHONPATH puts the tree first), waited for until it caches every pod,
and:

1. `run_list` (bench/list_timing.py): every case `--repeats` times in rotating order, the client
   reading each body whole on a fresh connection, wall time; ratios are etcd's median over the
   proxy's median. etcd cases run from this process over grpc.aio, `orjson.loads` of each value;
2. CPU per LIST of each case, `--repeats` times, medians: the server's (the proxy's, or both
   etcd processes' for an etcd case: utime + stime of /proc/PID/stat, 10 ms ticks) and the
   client's (this process, every thread: receiving the body, or grpc + protobuf + `orjson.loads`
   of every value). The *CPU ratio* is etcd's server + client CPU over the proxy's server +
   client CPU: unlike wall time, it does not swing with the load other work puts on the
   machine;
3. gzip: the same RV=0 and consistent LISTs with `Accept-Encoding: gzip` (what client-go
   sends), wall time to the last compressed byte, and with the client's decompression of the
   body (`zlib`, as client-go's gzip reader does) -- both reported; ratios against the same
   etcd medians.

A tree is measured on an idle proxy: no writes run during the LISTs, so every LIST of a case is
at one revision (what a relist storm or a re-sync wave sees). Every process started here is
stopped at the end (bench/cluster.py). Results also go to `bench/results/list-cost-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import socket
import statistics
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from bench import metrics
from bench.cluster import Cluster, ProxyProcess, run_in_workdir
from bench.list_timing import (
    _count_pods,
    _dechunk,
    _etcd_range_decode,
    _proxy_list,
    _proxy_paged,
    get_head,
    run_list,
)
from bench.model import Population
from bench.relist_storm import seed, wait_cached
from bench.runinfo import elapsed_log, machine_info, run_header, save_results
from bench.scenarios import Env
from watchproxy.etcd._generated import rpc_pb2_grpc
from watchproxy.etcd.client import EtcdClient


async def fetch_gzip(port: int, path: str, decompress: bool) -> tuple[int, float, int]:
    """GET with `Accept-Encoding: gzip` on a fresh connection: (pods, seconds, body bytes on
    the wire). With `decompress`, the seconds include decompressing the body and the pods are
    counted in it; without, the pods are not counted (returned as -1)."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        head, body = await get_head(sock, port, path, "Accept-Encoding: gzip\r\n")
        parts = [body]
        while chunk := await loop.sock_recv(sock, 1 << 20):
            parts.append(chunk)
        raw = b"".join(parts)
        if re.search(rb"(?i)\r\ntransfer-encoding:\s*chunked", head):
            raw = _dechunk(raw)
        if int(head[9:12]) != 200:
            raise RuntimeError(f"GET {path}: {head[:200]!r}")
        if not re.search(rb"(?i)\r\ncontent-encoding:\s*gzip", head):
            raise RuntimeError(f"GET {path}: not gzip-encoded")
        pods = -1
        if decompress:
            # Every gzip member, as Go's gzip.Reader (multistream by default) reads them.
            pods = _count_pods(_gunzip(raw))
        return pods, time.perf_counter() - t0, len(raw)
    finally:
        sock.close()


def _gunzip(data: bytes) -> bytes:
    out: list[bytes] = []
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(d.decompress(data))
        data = d.unused_data
    return b"".join(out)


def _self_cpu() -> float:
    """This process's CPU seconds (every thread: grpc's included)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _cpu_cases(
    port: int,
    pid: int,
    repeats: int,
    page: int,
    pods: int,
    etcd_pids: list[int],
    stubs: list[Any],
) -> dict[str, dict[str, float]]:
    """Per case: median wall seconds, server CPU seconds (the proxy; for etcd cases both etcd
    processes) and client CPU seconds (this process: receiving, or grpc + protobuf + decode)
    per LIST, and wire bytes (or pages / Range requests)."""
    cases: dict[str, Callable[[], Awaitable[tuple[int, float, int]]]] = {
        "etcd range+decode": lambda: _etcd_range_decode(stubs, 0),
        f"etcd range limit={page}+decode": lambda: _etcd_range_decode(stubs, page),
        "RV=0": lambda: _proxy_list(port, "/api/v1/pods?resourceVersion=0"),
        "consistent": lambda: _proxy_list(port, "/api/v1/pods"),
        f"limit={page} pages": lambda: _proxy_paged(port, page),
        "RV=0 gzip": lambda: fetch_gzip(port, "/api/v1/pods?resourceVersion=0", False),
        "consistent gzip": lambda: fetch_gzip(port, "/api/v1/pods", False),
        "RV=0 gzip+gunzip": lambda: fetch_gzip(port, "/api/v1/pods?resourceVersion=0", True),
        "consistent gzip+gunzip": lambda: fetch_gzip(port, "/api/v1/pods", True),
    }
    out: dict[str, dict[str, float]] = {}
    for name, case in cases.items():
        walls, cpus, clients = [], [], []
        info = 0
        servers = etcd_pids if name.startswith("etcd") else [pid]
        for _ in range(repeats):
            c0, s0 = metrics.tree_cpu(servers), _self_cpu()
            items, seconds, info = await case()
            cpus.append(metrics.tree_cpu(servers) - c0)
            clients.append(_self_cpu() - s0)
            walls.append(seconds)
            if items not in (-1, pods):
                raise RuntimeError(f"{name}: {items} pods, expected {pods}")
        out[name] = {
            "wall_s": statistics.median(walls),
            "cpu_s": statistics.median(cpus),
            "client_cpu_s": statistics.median(clients),
            "info": info,
        }
    return out


async def measure_tree(
    env: Env, label: str, proxy: ProxyProcess, repeats: int, page: int
) -> dict[str, Any]:
    cl = env.cluster
    cl.stop_proxy()
    cl.proxy = proxy
    start_s = proxy.start()
    await wait_cached(proxy.url, env.pop.pods)
    await asyncio.sleep(1.0)
    rss = metrics.rss_bytes(proxy.pid)
    env.log(f"{label}: proxy pid {proxy.pid} ready in {start_s:.1f}s, caches {env.pop.pods} pods")
    ratios = await run_list(env, repeats, page)
    channels = [
        grpc.aio.insecure_channel(
            ep.removeprefix("http://"), [("grpc.max_receive_message_length", 1 << 30)]
        )
        for ep in cl.endpoints
    ]
    try:
        stubs = [rpc_pb2_grpc.KVStub(c) for c in channels]
        cpu = await _cpu_cases(
            proxy.port, proxy.pid, repeats, page, env.pop.pods, cl.etcd_pids, stubs
        )
    finally:
        for c in channels:
            await c.close()
    etcd = ratios["median_s"]["etcd range+decode"]
    for name in ("RV=0 gzip", "consistent gzip", "RV=0 gzip+gunzip", "consistent gzip+gunzip"):
        cpu[name]["ratio"] = etcd / cpu[name]["wall_s"]

    # CPU ratios (robust on a loaded machine, where wall times swing): etcd's CPU plus its
    # client's (grpc, protobuf, decode) over the proxy's CPU plus its client's (receiving).
    def total(name: str) -> float:
        return cpu[name]["cpu_s"] + cpu[name]["client_cpu_s"]

    for name, versus in (
        ("RV=0", "etcd range+decode"),
        ("consistent", "etcd range+decode"),
        (f"limit={page} pages", f"etcd range limit={page}+decode"),
        ("RV=0 gzip", "etcd range+decode"),
        ("consistent gzip", "etcd range+decode"),
        ("RV=0 gzip+gunzip", "etcd range+decode"),
        ("consistent gzip+gunzip", "etcd range+decode"),
    ):
        cpu[name]["cpu_ratio"] = total(versus) / max(total(name), 0.005)
    rss_after = metrics.rss_bytes(proxy.pid)
    cl.stop_proxy()
    return {
        "ratios": ratios,
        "cases": cpu,
        "rss_mb": rss / 2**20,
        "rss_after_mb": rss_after / 2**20,
    }


def report(results: dict[str, dict[str, Any]], page: int) -> str:
    lines = [
        f"| tree | RV=0 | consistent | limit={page} pages | RV=0 gzip (+gunzip) | consistent gzip"
        " (+gunzip) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, r in results.items():
        q, c = r["ratios"], r["cases"]
        lines.append(
            f"| {label} | {q['speedup_rv0']:.1f}x | {q['speedup_consistent']:.1f}x"
            f" | {q['speedup_paged']:.1f}x | {c['RV=0 gzip']['ratio']:.1f}x"
            f" ({c['RV=0 gzip+gunzip']['ratio']:.1f}x) | {c['consistent gzip']['ratio']:.1f}x"
            f" ({c['consistent gzip+gunzip']['ratio']:.1f}x) |"
        )
    lines += [
        "",
        "| tree | case | wall ms | server CPU ms | client CPU ms | CPU ratio | bytes or pages |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, r in results.items():
        for name, v in r["ratios"]["median_s"].items():
            if name.startswith("etcd"):
                lines.append(f"| {label} | {name} (run_list) | {v * 1000:.0f} | | | | |")
        for name, c in r["cases"].items():
            ratio = f"{c['cpu_ratio']:.1f}x" if "cpu_ratio" in c else ""
            lines.append(
                f"| {label} | {name} | {c['wall_s'] * 1000:.0f} | {c['cpu_s'] * 1000:.0f}"
                f" | {c['client_cpu_s'] * 1000:.0f} | {ratio} | {c['info']:,} |"
            )
        lines.append(
            f"| {label} | proxy RSS | {r['rss_mb']:.0f} MB -> {r['rss_after_mb']:.0f}"
            " MB after the LISTs | | | | |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    log = elapsed_log(started)

    info = machine_info()
    pop = Population(nodes=max(1, min(2000, args.pods // 25)), pods=args.pods)
    cluster = Cluster(workdir)
    clients: list[EtcdClient] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        cluster.start_etcd()
        clients = [EtcdClient([ep], name=f"list-{i}") for i, ep in enumerate(cluster.endpoints)]
        n = await seed(clients, pop)
        log(f"seeded {n} objects ({pop.pods} pods) into 2 etcd shards")
        env = Env(cluster, pop, workdir, clients, log)
        trees: list[tuple[str, ProxyProcess]] = []
        if args.baseline:
            base = Path(args.baseline)
            baseline = ProxyProcess(workdir, cluster.endpoints, tree=base)
            trees.append((f"baseline ({base})", baseline))
        trees.append(("this checkout", ProxyProcess(workdir, cluster.endpoints)))
        for label, proxy in trees:
            results[label] = await measure_tree(env, label, proxy, args.repeats, args.page)
        if env.notes:
            log("notes: " + "; ".join(env.notes))
    finally:
        for client in clients:
            await client.close()
        cluster.close()
    print("\n" + run_header(info, started) + "\n\n" + report(results, args.page))
    path = save_results("list-cost", {"machine": info, "args": vars(args), "results": results})
    log(f"results: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.list_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pods", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--baseline", default="", help="a checkout to measure first")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    return run_in_workdir("bench-list-cost-", lambda w: main_async(args, w), keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
