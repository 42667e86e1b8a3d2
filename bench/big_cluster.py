"""A whole cluster's watch load on one watchproxy process, at several sizes (issue 10):

    .venv/bin/python -m bench.big_cluster [--nodes 1000,3000,10000] [--quick] [--seconds 30]

Per size (bench/big_cluster_plan.py has the workload), on fresh etcd shards:
1. seed namespaces, nodes, Leases, per-kubelet ConfigMaps/Secrets and `30 x nodes` pods straight
   into etcd (128-put transactions), start `watchproxy serve` with TLS (HTTP/2 by ALPN) and wait
   until it has listed them: proxy RSS "cache";
2. connect every kubelet (one HTTP/2 connection, five WatchList streams) and the controllers
   (WatchList of every pod), spread over client processes; wait for every initial-events-end:
   proxy RSS "+watches";
3. idle window: proxy CPU with every watch open and nothing written;
4. Lease renewals start (N/10 PUTs per second through the proxy, bench/big_cluster_leases.py);
   after one period, a leases-only window;
5. pod writes (straight into etcd, bench/writer.paced_writes) and ConfigMap/Secret writes join;
   the full window. Then every stream is checked by sequence (bench/analysis.py).
Proxy CPU is utime + stime from /proc over each window, in cores (CPU seconds per second);
client CPU likewise per client process, to show the clients were not the bottleneck. The fit
(least squares over the sizes) and the report are in bench/big_cluster_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bench import metrics
from bench.analysis import Expectation, WatcherPlan, analyse
from bench.big_cluster_h2 import H2WorkerSpec, h2_worker_entry
from bench.big_cluster_leases import LeaseSpec, lease_entry, summarize
from bench.big_cluster_plan import (
    BigSize,
    object_expect_id,
    object_key,
    object_value,
    object_write,
    plan_watchers,
    pod_write,
    seed_items,
)
from bench.big_cluster_report import report, write_docs
from bench.big_cluster_setup import TlsProxy, seed
from bench.clients import WorkerPool, load_deliveries
from bench.cluster import Cluster, run_in_workdir
from bench.http2 import make_pki
from bench.writer import WriteLog, paced_writes
from watchproxy.etcd.client import EtcdClient

ROOT = Path(__file__).resolve().parent.parent


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          check=False).stdout.strip()


async def _counts(pool: WorkerPool) -> list[dict[str, Any]]:
    for c in pool.conns:
        c.send("count")
    return list(await asyncio.gather(*(pool._expect(c, "count", 30) for c in pool.conns)))


async def _window(pid: int, seconds: float) -> float:
    """Proxy cores over `seconds` of sleep."""
    c0, t0 = metrics.cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (metrics.cpu_seconds(pid) - c0) / (time.monotonic() - t0)


async def run_size(
    size: BigSize, workdir: Path, seconds: float, warmup: float, root: Path, log: Any
) -> dict[str, Any]:
    """One size, steps 1-5 of the module docstring; `warmup`: seconds of Lease renewals before
    the leases-only window (a full period lets every lease renew once)."""
    pop = size.population()
    cl = Cluster(workdir)
    out: dict[str, Any] = {"nodes": size.nodes, "pods": size.pods, "watches": size.watches,
                           "connections": size.connections, "controllers": size.controllers}
    pools: list[WorkerPool] = []
    clients: list[EtcdClient] = []
    try:
        t0 = time.monotonic()
        cl.start_etcd()
        pods = ((pop.pod_shard(i), pop.pod_key(i), pop.pod_value(i, 0)) for i in range(pop.pods))
        n = await seed(cl.endpoints, seed_items(size))
        n += await seed(cl.endpoints, pods)
        out["seed_s"] = time.monotonic() - t0
        log(f"[{size.nodes}] seeded {n} objects in {out['seed_s']:.1f}s")
        ca, cert, key = make_pki(workdir)
        proxy = TlsProxy(workdir, cl.endpoints, ca, cert, key, root,
                         max_connections=size.connections + 200,
                         min_request_timeout_seconds=900,
                         # The clients are anonymous: APF would put every kubelet and controller
                         # in catch-all (429s); kube classifies them as system-nodes/workload-high.
                         flow_control={"enabled": False})
        cl.proxy = proxy
        out["proxy_start_s"] = proxy.start(timeout=600)
        await asyncio.sleep(2.0)
        out["rss_cache_mb"] = metrics.rss_bytes(proxy.pid) / 2**20
        log(f"[{size.nodes}] proxy ready in {out['proxy_start_s']:.1f}s, "
            f"RSS {out['rss_cache_mb']:.0f} MB")

        conns, plans = plan_watchers(size)
        k = 4 if size.nodes > 2000 else 2
        paths = [str(workdir / f"h2-{i}.npz") for i in range(k)]
        specs = [H2WorkerSpec(i, paths[i], proxy.port, str(ca), tuple(tuple(c) for c in
                              conns[i::k]), pop.pod_shard_map()) for i in range(k)]
        t1 = time.monotonic()
        pool = WorkerPool(specs, h2_worker_entry)
        pools.append(pool)
        ready = await pool.wait_ready(600)
        out["connect_s"] = time.monotonic() - t1
        out["ready_ok"] = sum(int(r["ok"]) for r in ready)
        out["ready_failed"] = sum(int(r["failed"]) for r in ready)
        out["errors"] = sorted({e for r in ready for e in r["errors"]})[:5]
        await asyncio.sleep(2.0)
        out["rss_watches_mb"] = metrics.rss_bytes(proxy.pid) / 2**20
        log(f"[{size.nodes}] {out['ready_ok']} watches ready ({out['ready_failed']} failed) in "
            f"{out['connect_s']:.1f}s; RSS {out['rss_watches_mb']:.0f} MB {out['errors']}")

        lease_pool = WorkerPool([LeaseSpec(proxy.port, str(ca), size.nodes,
                                           size.lease_period_s)], lease_entry)
        pools.append(lease_pool)
        lease_ready = (await lease_pool.wait_ready(120))[0]
        if lease_ready["failed"]:
            raise RuntimeError(f"lease client: {lease_ready}")
        out["cpu_idle_cores"] = await _window(proxy.pid, min(5.0, seconds / 3))
        lease_pool.conns[0].send("go")
        await asyncio.sleep(warmup)
        l0, t_l0 = (await lease_pool.counts())[0], time.monotonic()
        out["cpu_leases_cores"] = await _window(proxy.pid, min(10.0, seconds / 2))
        l1, t_l1 = (await lease_pool.counts())[0], time.monotonic()
        out["lease_rate_leases_window"] = (l1 - l0) / (t_l1 - t_l0)

        sampler = metrics.Sampler([proxy.pid], cl.endpoints, 1.0)
        sampler.start()
        clients = [EtcdClient([ep], name=f"big-{i}") for i, ep in enumerate(cl.endpoints)]
        counter = 0

        def make_pod(seq: int) -> tuple[int, bytes, int, bytes]:
            nonlocal counter
            counter += 1
            i = pod_write(pop, seq)
            return pop.pod_shard(i), pop.pod_key(i), i, pop.pod_value(i, counter)

        def make_obj(seq: int) -> tuple[int, bytes, int, bytes]:
            kk, nn = object_write(size, seq)
            return (pop.node_shard(nn), object_key(pop, kk, nn), nn,
                    object_value(pop, kk, nn, seq + 1))

        c_before = await _counts(pool)
        cpu0, t_w0 = metrics.cpu_seconds(proxy.pid), time.monotonic()
        pod_log, obj_log = await asyncio.gather(
            paced_writes(clients, make_pod, rate=size.pod_write_rate, duration=seconds),
            paced_writes(clients, make_obj, rate=size.object_write_rate, duration=seconds),
        )
        out["cpu_full_cores"] = (metrics.cpu_seconds(proxy.pid) - cpu0) / (
            time.monotonic() - t_w0)
        c_after = await _counts(pool)
        window = time.monotonic() - t_w0
        out["lease_rate_full_window"] = ((await lease_pool.counts())[0] - l1) / (
            time.monotonic() - t_l1)
        client_cores = [(a["cpu"] - b["cpu"]) / window for a, b in zip(c_after, c_before,
                                                                         strict=True)]
        out["client_cores_max"] = max(client_cores)
        out["client_cores_sum"] = sum(client_cores)
        exp_pods = Expectation(pod_log, pod_log.oid.astype(np.int64) % pop.nodes)
        obj_ids = np.array([object_expect_id(*object_write(size, s)) for s in
                            range(obj_log.count + obj_log.errors)], np.int64)
        # paced_writes keeps successful writes in seq order: their ids are those seqs' ids.
        exp_obj = Expectation(obj_log, _ok_ids(obj_ids, obj_log))
        exp_none = Expectation(_empty_log(), None)
        groups = {"kubelet-pods": exp_pods, "controllers": exp_pods,
                  "kubelet-objects": exp_obj, "kubelet-node": exp_none}
        expected = sum(groups[p.group].count([p]) for p in plans)
        await _drain(pool, expected)
        await sampler.stop()
        out["rss_busy_mb"] = sampler.max_rss / 2**20
        lease_done = (await lease_pool.stop())[0]
        out["leases"] = {k2: v for k2, v in lease_done.items() if k2 != "cpu"}
        out["lease_client_cores"] = lease_done["cpu"] / max(1.0, seconds + size.lease_period_s)
        log(f"[{size.nodes}] {summarize(lease_done)}")
        done = await pool.stop()
        out["errors"] += sorted({e for r in done for e in r["errors"]})[:5]
        d = load_deliveries(paths)
        out["groups"] = _analyse(groups, plans, d)
        out.update(
            pod_writes=pod_log.count, pod_write_rate=pod_log.achieved_rate,
            object_writes=obj_log.count, object_write_rate=obj_log.achieved_rate,
            write_errors=pod_log.errors + obj_log.errors, window_s=window,
            expected=expected, delivered=int(sum(g["delivered"] for g in out["groups"].values())),
            lost=int(sum(g["lost"] for g in out["groups"].values())),
            bad_watchers=int(sum(g["bad_watchers"] for g in out["groups"].values())),
        )
        out["correct"] = out["bad_watchers"] == 0 and out["ready_failed"] == 0
        status, body = await asyncio.to_thread(proxy.get, "/debug/stats")
        if status == 200:  # the reflectors: relists, restarts, events applied
            out["proxy_shards"] = orjson.loads(body).get("shards")
        if not out["correct"]:
            log(f"[{size.nodes}] !! {out['errors']}; proxy log tail:\n{proxy.log_tail(1500)}")
        return out
    finally:
        for p in pools:
            p.kill()
        for c in clients:
            await c.close()
        cl.close()


def _ok_ids(ids: np.ndarray[Any, Any], wlog: WriteLog) -> np.ndarray[Any, Any]:
    if wlog.errors:  # which seqs failed is not logged: keep the expectation honest by failing
        raise RuntimeError(f"{wlog.errors} object writes failed")
    return ids


def _empty_log() -> WriteLog:
    z = np.zeros(0)
    return WriteLog(z.astype(np.int8), z.astype(np.int64), z.astype(np.int32), z, z, 0, 0.0, 0.0)


def _analyse(groups: dict[str, Expectation], plans: list[WatcherPlan],
             d: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, exp in groups.items():
        mine = [p for p in plans if p.group == name]
        if mine:
            out.update(analyse(exp, mine, d))
    return out


async def _drain(pool: WorkerPool, expected: int, limit_s: float = 30.0) -> None:
    """Until the clients hold `expected` live deliveries, progress stops for 5 s, or limit_s."""
    t_end = time.monotonic() + limit_s
    last, last_change = -1, time.monotonic()
    while time.monotonic() < t_end:
        got = sum(int(c["deliveries"]) for c in await _counts(pool))
        if got >= expected:
            return
        if got != last:
            last, last_change = got, time.monotonic()
        elif time.monotonic() - last_change > 5.0:
            return
        await asyncio.sleep(0.2)


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    # Imported here, not at the top: the client processes re-import this module (spawn) and
    # need none of bench.run's imports.
    from bench.runinfo import machine_info, run_header, save_results

    started = time.monotonic()
    info = machine_info()
    root = Path(args.proxy_tree) if args.proxy_tree else ROOT
    if args.proxy_tree:  # the proxy runs from another checkout: name its commit
        info["watchproxy_commit"] = _git(root, "rev-parse", "--short", "HEAD")
        info["watchproxy_dirty"] = bool(_git(root, "status", "--porcelain", "--", "watchproxy"))
    sizes = [BigSize(nodes=int(n)) for n in args.nodes.split(",")]
    results: dict[str, Any] = {"machine": info, "seconds": args.seconds, "sizes": []}

    def log(msg: str) -> None:
        print(f"{time.monotonic() - started:6.1f}s {msg}", flush=True)

    for size in sizes:
        left = args.deadline
        try:
            r = await asyncio.wait_for(
                run_size(size, workdir / f"n{size.nodes}", args.seconds, args.warmup, root, log),
                left)
        except TimeoutError:
            log(f"[{size.nodes}] stopped at the deadline")
            break
        results["sizes"].append(r)
        log(f"[{size.nodes}] " + ", ".join(
            f"{g}: p99 {v['p99_ms']:.1f} ms {v['delivered']}/{v['expected']}"
            for g, v in r["groups"].items()))
    header = run_header(info, started)
    text = report(results, header)
    print(text)
    results["report"] = text
    path = save_results("big-cluster", results)
    (path.with_suffix(".md")).write_text(text)
    if args.json:
        with open(args.json, "w") as f:  # noqa: ASYNC230 - once, at the end of the run
            f.write(json.dumps(results, default=float))
    print(f"results: {path}")
    if args.docs:
        write_docs(text, header)
    ok = bool(results["sizes"]) and all(r["correct"] for r in results["sizes"])
    return 0 if ok else 1


def report_saved(paths: list[Path], docs: bool) -> int:
    """The report of earlier runs' JSON results: every run of every size a row (in node
    order), every window in the fit; the header names each run."""
    runs = [json.loads(p.read_text()) for p in paths]
    sizes = sorted((r for run in runs for r in run["sizes"]), key=lambda r: int(r["nodes"]))
    header = "\n".join(
        f"- {p.name}: watchproxy {run['machine']['watchproxy_commit']}, {run['machine']['date']},"
        f" load average at start {' '.join(run['machine']['load_avg_start'])}"
        for p, run in zip(paths, runs, strict=True))
    text = report({"sizes": sizes}, header)
    print(text)
    if docs:
        write_docs(text, header)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.big_cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="1000,3000,10000", help="comma-separated sizes")
    parser.add_argument("--seconds", type=float, default=30.0, help="full window per size")
    parser.add_argument("--deadline", type=float, default=840.0, help="per size, seconds")
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of Lease renewals before the leases-only window")
    parser.add_argument("--quick", action="store_true", help="1,000 nodes, 15 s, 110 s bound")
    parser.add_argument("--docs", action="store_true",
                        help="write docs/benchmarks-big-cluster.md from this run")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", default="", help="also write the results here")
    parser.add_argument("--proxy-tree", default="",
                        help="run `watchproxy serve` from this checkout (e.g. a git worktree of"
                        " HEAD while the work tree is being edited); default: this one")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="no run: print (and with --docs write) the report of saved results,"
                        " their sizes combined (bench/results/big-cluster-*.json)")
    args = parser.parse_args(argv)
    if args.report:
        return report_saved([Path(p) for p in args.report], args.docs)
    args.proxy_tree = os.path.abspath(args.proxy_tree) if args.proxy_tree else ""
    if args.quick:
        args.nodes, args.seconds, args.deadline, args.warmup = "1000", 15.0, 110.0, 2.0
    return run_in_workdir("big-cluster-", lambda w: main_async(args, w), keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
