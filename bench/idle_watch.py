"""Memory of an idle watch (decision 0023): RSS per idle kubelet watch, and with --tracemalloc
where the Python heap of each one goes.

    .venv/bin/python -m bench.idle_watch [--watches 500] [--mode rv|watchlist] [--tracemalloc]
        [--tree DIR]

Two etcd shards seeded with 1,000 nodes and 2,000 pods, one `watchproxy serve` (from `--tree`, a
checkout such as a `git worktree` of the commit before, or this one) started through
bench/tmwrap.py. 50 watches are opened and closed first (warm-up), then `--watches` kubelet
watches (`spec.nodeName=node-K`, from the list's resourceVersion or as WatchList starts) stay
open and idle; the figure is the proxy's RSS after minus before, each read after a full
collection (SIGUSR1), over the watches. With --tracemalloc the proxy also runs tracemalloc and
the heap growth is printed by file and by allocation site, per watch.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

from bench import metrics
from bench.cluster import Cluster, ProxyProcess, http_get, run_in_workdir
from bench.model import Population
from bench.relist_storm import seed, wait_cached
from watchproxy.etcd.client import EtcdClient

TMWRAP = Path(__file__).resolve().parent / "tmwrap.py"
WARM_UP = 50
Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_watch(port: int, path: str) -> Stream:
    """One watch on its own HTTP/1.1 connection, its 200 read; raises on any other answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head[:20]:
        raise RuntimeError(f"watch refused: {head[:200]!r}")
    return reader, writer


def watch_path(i: int, pop: Population, mode: str, rv: str) -> str:
    node = pop.node_name(i % pop.nodes)
    base = f"/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3D{node}&allowWatchBookmarks=true"
    if mode == "rv":
        return f"{base}&resourceVersion={rv}&timeoutSeconds=600"
    return f"{base}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=600"


async def collected_rss(pid: int, settle: float) -> int:
    os.kill(pid, signal.SIGUSR1)  # a full collection (and a snapshot with --tracemalloc)
    await asyncio.sleep(settle)
    return metrics.rss_bytes(pid)


async def measure(
    args: argparse.Namespace, workdir: Path, snapshots: str, tree: Path | None
) -> None:
    cluster = Cluster(workdir)
    clients: list[EtcdClient] = []
    try:
        cluster.start_etcd()
        clients = [EtcdClient([ep]) for ep in cluster.endpoints]
        pop = Population(nodes=1000, pods=2000)
        await seed(clients, pop)
        proxy = cluster.proxy = ProxyProcess(
            workdir, cluster.endpoints, tree=tree, launcher=[str(TMWRAP), snapshots]
        )
        proxy.start()
        await wait_cached(proxy.url, pop.pods)
        await asyncio.sleep(1)
        rv = json.loads(http_get(proxy.url + "/api/v1/pods?limit=1")[1])["metadata"][
            "resourceVersion"
        ]
        for _, writer in [
            await open_watch(proxy.port, watch_path(i, pop, args.mode, rv)) for i in range(WARM_UP)
        ]:
            writer.close()
        await asyncio.sleep(2)
        before = await collected_rss(proxy.pid, 2)
        streams = [
            await open_watch(proxy.port, watch_path(i, pop, args.mode, rv))
            for i in range(args.watches)
        ]
        await asyncio.sleep(3)
        after = await collected_rss(proxy.pid, 4 if args.tracemalloc else 2)
        per_watch_kb = (after - before) / args.watches / 1024
        tracing = "on" if args.tracemalloc else "off"
        print(
            f"RSS per idle watch ({args.mode}, {args.watches} watches, tracemalloc {tracing}): "
            f"{per_watch_kb:.2f} KB",
            flush=True,
        )
        for _, writer in streams:
            writer.close()
    finally:
        for client in clients:
            await client.close()
        cluster.close()


def breakdown(snapshots: str, watches: int, root: str) -> None:
    """The heap growth between the two snapshots, per watch: by file, then by site."""
    import tracemalloc

    first = tracemalloc.Snapshot.load(f"{snapshots}.0")
    second = tracemalloc.Snapshot.load(f"{snapshots}.1")
    stats = second.compare_to(first, "traceback")
    print(f"traced per watch: {sum(s.size_diff for s in stats) / watches:.0f} B")
    by_file: collections.Counter[str] = collections.Counter()
    for stat in stats:
        name = stat.traceback[-1].filename if len(stat.traceback) else "?"
        by_file[name.split("site-packages/")[-1].replace(root + "/", "")] += stat.size_diff
    for name, size in by_file.most_common(20):
        print(f"  by file {size / watches:7.0f} B  {name}")
    for stat in stats[:40]:
        if stat.size_diff / watches < 30:
            break
        frames = [f"{Path(fr.filename).name}:{fr.lineno}" for fr in reversed(stat.traceback)]
        print(
            f"  {stat.size_diff / watches:7.0f} B  {stat.count_diff / watches:5.2f}x  "
            + " <- ".join(frames[:5])
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_watch", description=__doc__)
    parser.add_argument("--watches", type=int, default=500)
    parser.add_argument("--mode", choices=("rv", "watchlist"), default="rv")
    parser.add_argument("--tracemalloc", action="store_true", help="also the heap breakdown")
    parser.add_argument("--tree", default="", help="run the proxy from this checkout")
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    snapshots = tempfile.mktemp(prefix="idle-watch-tm-") if args.tracemalloc else "-"
    tree = Path(args.tree).resolve() if args.tree else None

    async def run(workdir: Path) -> int:
        await measure(args, workdir, snapshots, tree)
        return 0

    status = run_in_workdir("idle-watch-", run, keep=args.keep)
    if args.tracemalloc:
        root = str(tree or TMWRAP.parent.parent)
        breakdown(snapshots, args.watches, root)
        for n in (0, 1):
            Path(f"{snapshots}.{n}").unlink(missing_ok=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
