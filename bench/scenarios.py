"""The scenarios: watch runs (kubelets, controllers, single-object watches) on any backend and
memory per cached object (LIST timings and consistent-read coalescing: bench/list_timing.py).

A watch run: connect every watcher (WatchList start where the backend has it), let it settle,
sample idle memory and etcd, then write at a fixed rate straight into etcd, wait until every
expected delivery arrived (or a bound passed), stop the watchers and check every stream.

Backends: `watchproxy` (HTTP watches), `etcd` (each watcher holds its own etcd watches) and
`grpc-proxy` (etcd watches through one `etcd grpc-proxy` per shard, which coalesces them).

Slightly over 400 lines as one module: a watch run is one sequence (build the watchers, connect,
settle, write, drain, check, report), and the memory probe is the same sequence with RSS samples
in between, built from the same watcher plans.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import metrics
from bench.analysis import Expectation, WatcherPlan, analyse
from bench.clients import (
    EtcdWatchDef,
    EtcdWatcherDef,
    HttpWatcherDef,
    WorkerPool,
    WorkerSpec,
    load_deliveries,
)
from bench.cluster import Cluster
from bench.model import CONFIGMAP_NAMESPACE, CONFIGMAP_SHARD, Population
from bench.writer import WriteFn, paced_writes
from watchproxy.etcd.client import EtcdClient, prefix_range_end

POD_PREFIX = b"/registry/pods/"
WATCH_TIMEOUT_S = 900  # the proxy ends every bench watch by itself after this
WATCHLIST = "allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"


@dataclass(frozen=True)
class Group:
    name: str
    kind: str  # "kubelet" | "controller" | "object"
    count: int


@dataclass(frozen=True)
class WatchRun:
    scenario: str  # "kubelets" | "controllers" | "single-object"
    backend: str  # "watchproxy" | "etcd" | "grpc-proxy"
    groups: tuple[Group, ...]
    rate: float
    duration: float
    workers: int = 2
    label: str = ""
    watchlist: bool = True  # False: kubelets watch from a resourceVersion (no initial events)

    @property
    def watchers(self) -> int:
        return sum(g.count for g in self.groups)

    def group(self, kind: str) -> Group | None:
        return next((g for g in self.groups if g.kind == kind), None)


@dataclass
class Env:
    cluster: Cluster
    pop: Population
    workdir: Path
    clients: list[EtcdClient]
    log: Callable[[str], None]
    counter: int = 0
    runs: int = 0
    notes: list[str] = field(default_factory=list)

    def next_counter(self) -> int:
        self.counter += 1
        return self.counter


# -- watchers ------------------------------------------------------------------------------------


def _node_pods(pop: Population, n: int) -> range:
    return range(n, pop.pods, pop.nodes)


def build_watchers(
    env: Env, run: WatchRun, start_revs: list[int]
) -> tuple[list[WatcherPlan], list[HttpWatcherDef | EtcdWatcherDef]]:
    pop = env.pop
    plans: list[WatcherPlan] = []
    defs: list[HttpWatcherDef | EtcdWatcherDef] = []
    http = run.backend == "watchproxy"
    tail = f"{WATCHLIST}&timeoutSeconds={WATCH_TIMEOUT_S}"
    all_pods = tuple(
        EtcdWatchDef(s, POD_PREFIX, prefix_range_end(POD_PREFIX), start_revs[s] + 1)
        for s in range(pop.shards)
    )
    wid = 0
    for group in run.groups:
        for n in range(group.count):
            if group.kind == "kubelet":
                node = pop.node_name(n)
                shard = pop.node_shard(n)
                pods = _node_pods(pop, n)
                plan = WatcherPlan(wid, group.name, n, len(pods), sum(pods))
                path = f"/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D{node}"
                if not run.watchlist:
                    path += f"&resourceVersion={start_revs[shard]}&allowWatchBookmarks=true"
                    plan = WatcherPlan(wid, group.name, n, -1, 0)
                d: HttpWatcherDef | EtcdWatcherDef = (
                    HttpWatcherDef(
                        wid,
                        f"{path}&{tail}" if run.watchlist
                        else f"{path}&timeoutSeconds={WATCH_TIMEOUT_S}",
                        shard, run.watchlist,
                    )
                    if http
                    else EtcdWatcherDef(
                        wid, (all_pods[shard],), f'"nodeName":"{node}"'.encode()
                    )
                )
            elif group.kind == "controller":
                plan = WatcherPlan(wid, group.name, -1, pop.pods, pop.pods * (pop.pods - 1) // 2)
                d = (
                    HttpWatcherDef(wid, f"/api/v1/pods?watch=true&{tail}", None, True)
                    if http
                    else EtcdWatcherDef(wid, all_pods, None)
                )
            elif group.kind == "object":
                name = pop.configmap_name(0)
                plan = WatcherPlan(wid, group.name, -1, 1, 0)
                key = pop.configmap_key(0)
                d = (
                    HttpWatcherDef(
                        wid,
                        f"/api/v1/namespaces/{CONFIGMAP_NAMESPACE}/configmaps?watch=true"
                        f"&fieldSelector=metadata.name%3D{name}&{tail}",
                        CONFIGMAP_SHARD, True,
                    )
                    if http
                    else EtcdWatcherDef(
                        wid,
                        (EtcdWatchDef(CONFIGMAP_SHARD, key, b"", start_revs[CONFIGMAP_SHARD] + 1),),
                        None,
                    )
                )
            else:
                raise ValueError(group.kind)
            if not http:
                plan = WatcherPlan(plan.wid, plan.group, plan.node, -1, 0)
            plans.append(plan)
            defs.append(d)
            wid += 1
    return plans, defs


def write_plan(env: Env, run: WatchRun) -> WriteFn:
    pop = env.pop
    if run.scenario == "single-object":
        key = pop.configmap_key(0)

        def write_cm(seq: int) -> tuple[int, bytes, int, bytes]:
            return CONFIGMAP_SHARD, key, 0, pop.configmap_value(0, env.next_counter())

        return write_cm
    kubelets = run.group("kubelet")
    limit = kubelets.count if kubelets is not None else pop.nodes
    ids = [i for i in range(pop.pods) if pop.pod_node(i) < limit]
    keys = [pop.pod_key(i) for i in ids]
    shards = [pop.pod_shard(i) for i in ids]

    def write_pod(seq: int) -> tuple[int, bytes, int, bytes]:
        j = seq % len(ids)
        return shards[j], keys[j], ids[j], pop.pod_value(ids[j], env.next_counter())

    return write_pod


async def _total_proxy_watchers(url: str) -> int:
    stats = await metrics.proxy_stats(url)
    resources = stats.get("resources")
    if not isinstance(resources, dict):
        return -1
    return sum(int(r.get("watchers", 0)) for r in resources.values() if isinstance(r, dict))


async def run_watch(env: Env, run: WatchRun) -> dict[str, Any]:
    cl, pop = env.cluster, env.pop
    env.runs += 1
    proxy_url = ""
    if run.backend == "watchproxy":
        assert cl.proxy is not None and cl.proxy.alive(), "watchproxy is not running"
        server_pids = [cl.proxy.pid]
        endpoints: list[str] = []
        proxy_url = cl.proxy.url
    elif run.backend == "grpc-proxy":
        gps = cl.start_grpc_proxies()
        server_pids = [gp.pid for gp in gps]
        endpoints = [gp.endpoint for gp in gps]
    else:
        server_pids = cl.etcd_pids
        endpoints = cl.endpoints
    start_revs = [await c.current_revision(b"/registry/") for c in env.clients]
    plans, defs = build_watchers(env, run, start_revs)
    k = max(1, min(run.workers, len(defs)))
    out = [str(env.workdir / f"deliveries-{env.runs}-{i}.npz") for i in range(k)]
    specs = [
        WorkerSpec(
            index=i,
            out_path=out[i],
            http_port=cl.proxy.port if cl.proxy is not None else 0,
            etcd_endpoints=tuple(endpoints),
            http_watchers=tuple(d for d in defs[i::k] if isinstance(d, HttpWatcherDef)),
            etcd_watchers=tuple(d for d in defs[i::k] if isinstance(d, EtcdWatcherDef)),
            pod_shards=pop.pod_shard_map(),
            lifetime=WATCH_TIMEOUT_S,
        )
        for i in range(k)
    ]
    e0 = await metrics.scrape(cl.endpoints, cl.etcd_pids)
    rss0 = metrics.tree_rss(server_pids)
    t_connect = time.monotonic()
    pool = WorkerPool(specs)
    try:
        ready = await pool.wait_ready(300)
        connect_s = time.monotonic() - t_connect
        ok = sum(int(r["ok"]) for r in ready)
        failed = sum(int(r["failed"]) for r in ready)
        errors = sorted({e for r in ready for e in r["errors"]})[:5]
        env.log(
            f"  {run.scenario}/{run.backend} {run.label}: {ok} watchers ready "
            f"({failed} failed) in {connect_s:.1f}s"
        )
        await asyncio.sleep(1.0)
        rss_idle = metrics.tree_rss(server_pids)
        e1 = await metrics.scrape(cl.endpoints, cl.etcd_pids)
        idle_proxy_watchers = await _total_proxy_watchers(proxy_url) if proxy_url else -1
        sampler = metrics.Sampler(server_pids, cl.endpoints, 1.0)
        sampler.start()
        _, _, client_cpu1 = await pool.counts()
        cpu1 = metrics.tree_cpu(server_pids)
        t1 = time.time()
        wlog = await paced_writes(
            env.clients, write_plan(env, run), rate=run.rate, duration=run.duration
        )
        write_node = (
            wlog.oid.astype(np.int64) % pop.nodes if run.scenario != "single-object" else None
        )
        exp = Expectation(wlog, write_node)
        expected = exp.count(plans)
        delivered, ended, client_cpu2 = await _drain(pool, expected, run)
        t2 = time.time()
        cpu2 = metrics.tree_cpu(server_pids)
        e2 = await metrics.scrape(cl.endpoints, cl.etcd_pids)
        await sampler.stop()
        done = await pool.stop()
    except BaseException:
        pool.kill()
        raise
    d = load_deliveries(out)
    groups = analyse(exp, plans, d)
    for name, g in groups.items():
        ids = np.array([p.wid for p in plans if p.group == name], np.int64)
        g["initial_sync_s_max"] = _initial_sync(d, ids)
    errors += sorted({e for r in done for e in r["errors"]})
    window = t2 - t1
    live = e2 - e1
    connect = e1 - e0
    n_watchers = run.watchers
    server_cpu = cpu2 - cpu1
    total = int(d["t"].size)
    if proxy_url:
        await _wait_watchers_gone(proxy_url)
    elif run.backend == "grpc-proxy":
        cl.stop_grpc_proxies()
    gc = metrics.gc_pauses(cl.proxy.gc_log if proxy_url and cl.proxy else None, t1, t2)
    result: dict[str, Any] = {
        "gc": gc,
        "scenario": run.scenario,
        "backend": run.backend,
        "label": run.label,
        "watchers": n_watchers,
        "groups_spec": {g.name: g.count for g in run.groups},
        "rate_target": run.rate,
        "rate_achieved": wlog.achieved_rate,
        "writes": wlog.count,
        "write_errors": wlog.errors,
        "put_ms_p50": wlog.put_ms_p50,
        "connect_s": connect_s,
        "ready_ok": ok,
        "ready_failed": failed,
        "errors": errors[:8],
        "expected": expected,
        "deliveries": total,
        "delivered_at_drain": delivered,
        "ended_early": ended,
        "window_s": window,
        "deliveries_per_s": total / window if window > 0 else 0.0,
        "server_cpu_s": server_cpu,
        "server_cpu_s_per_m": server_cpu / total * 1e6 if total else float("nan"),
        "deliveries_per_server_cpu_s": total / server_cpu if server_cpu > 0 else float("nan"),
        "etcd_cpu_s": live.cpu_seconds,
        "etcd_cpu_s_per_m": live.cpu_seconds / total * 1e6 if total else float("nan"),
        "client_cpu_s": client_cpu2 - client_cpu1,
        "rss_before_mb": rss0 / 2**20,
        "rss_idle_mb": rss_idle / 2**20,
        "rss_busy_mb": sampler.max_rss / 2**20,
        "rss_per_watcher_idle_kb": (rss_idle - rss0) / n_watchers / 1024,
        "rss_per_watcher_busy_kb": (sampler.max_rss - rss0) / n_watchers / 1024,
        "etcd_watchers_before": e0.watchers,
        "etcd_watchers_idle": e1.watchers,
        "etcd_watchers_max": max(sampler.max_watchers, e1.watchers),
        "etcd_streams_idle": e1.streams,
        "etcd_ranges_connect": connect.range_requests,
        "etcd_ranges_live": live.range_requests,
        "etcd_bytes_sent_live": live.bytes_sent,
        "etcd_msgs_sent_live": live.msgs_sent,
        "etcd_bytes_per_write": live.bytes_sent / wlog.count if wlog.count else 0.0,
        "etcd_connect_bytes": connect.bytes_sent,
        "proxy_watchers_idle": idle_proxy_watchers,
        "groups": groups,
        "correct": all(g["correct"] for g in groups.values()) and failed == 0,
    }
    _log_result(env, result)
    return result


def _initial_sync(d: dict[str, Any], ids: Any) -> float:
    idx = np.searchsorted(d["w_id"], ids)
    idx = idx[idx < d["w_id"].size]
    done = d["w_initial_done"][idx]
    conn = d["w_connected"][idx]
    ok = (done > 0) & (conn > 0)
    return float((done[ok] - conn[ok]).max()) if ok.any() else 0.0


async def _drain(pool: WorkerPool, expected: int, run: WatchRun) -> tuple[int, int, float]:
    """Wait until the workers hold `expected` deliveries, progress stops (5 s), or a bound
    passes. The bound is long (6x the write window, at least 30 s): a saturating run (the
    `workers` stage) is still delivering its backlog when the writes end, and a shorter bound
    counted that undelivered tail as lost."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(30.0, 6 * run.duration)
    last, last_change = -1, loop.time()
    while True:
        delivered, ended, cpu = await pool.counts()
        now = loop.time()
        if delivered >= expected or now > deadline:
            return delivered, ended, cpu
        if delivered != last:
            last, last_change = delivered, now
        elif now - last_change > 5.0:
            return delivered, ended, cpu
        await asyncio.sleep(0.2)


async def _wait_watchers_gone(url: str, limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await _total_proxy_watchers(url) <= 0:
            return
        await asyncio.sleep(0.25)


def _log_result(env: Env, r: dict[str, Any]) -> None:
    parts = []
    for name, g in r["groups"].items():
        parts.append(
            f"{name}: p50 {g['p50_ms']:.1f} p99 {g['p99_ms']:.1f} max {g['max_ms']:.1f} ms, "
            f"{g['delivered']}/{g['expected']} delivered, bad watchers {g['bad_watchers']}"
        )
    env.log(
        f"    {r['deliveries_per_s']:.0f} deliveries/s, writes {r['rate_achieved']:.0f}/s, "
        f"server CPU {r['server_cpu_s_per_m']:.1f} s/M, etcd watchers {r['etcd_watchers_idle']:.0f}"
        f", RSS/watcher idle {r['rss_per_watcher_idle_kb']:.1f} KB; " + "; ".join(parts)
    )
    if not r["correct"]:
        env.log(f"    !! correctness problems: {r['errors']} "
                f"{[g['examples'] for g in r['groups'].values()]}")


async def wait_cached(env: Env, count: int, limit_s: float = 300.0) -> float:
    """Wait until the proxy caches `count` pods; returns the seconds waited."""
    cl = env.cluster
    assert cl.proxy is not None
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        stats = await metrics.proxy_stats(cl.proxy.url)
        resources = stats.get("resources")
        if isinstance(resources, dict):
            pods = resources.get("pods")
            if isinstance(pods, dict) and int(pods.get("objects", 0)) >= count:
                return time.monotonic() - t0
        await asyncio.sleep(0.25)
    raise RuntimeError(f"proxy did not cache {count} pods within {limit_s:.0f}s")


# -- proxy memory per idle watcher -----------------------------------------------------------------


async def memory_probe(
    env: Env, watchers: int, steps: int, rate: float, duration: float, watchlist: bool
) -> dict[str, Any]:
    """RSS per kubelet watcher on a freshly started watchproxy.

    Watchers connect in `steps` equal batches (one worker process each) with RSS sampled after
    each; the marginal cost is the least-squares slope over the batches after the first (the
    first batch also reuses memory the cold start freed), the average is (RSS_N - RSS_0) / N.
    Then writes run at `rate` for `duration` and the peak RSS gives the busy figure.
    """
    cl, pop = env.cluster, env.pop
    env.runs += 1
    cold_s = cl.start_proxy()
    assert cl.proxy is not None
    pid = cl.proxy.pid
    await asyncio.sleep(2.0)
    run = WatchRun("kubelets", "watchproxy", (Group("kubelets", "kubelet", watchers),), rate,
                   duration, 1, label="memory probe", watchlist=watchlist)
    start_revs = [await c.current_revision(b"/registry/") for c in env.clients]
    plans, defs = build_watchers(env, run, start_revs)
    per = max(1, len(defs) // steps)
    counts = [0]
    rss = [metrics.tree_rss([pid])]
    pools: list[WorkerPool] = []
    out: list[str] = []
    try:
        for step in range(steps):
            part = defs[step * per : (step + 1) * per if step < steps - 1 else len(defs)]
            path = str(env.workdir / f"memory-{env.runs}-{step}.npz")
            out.append(path)
            pool = WorkerPool([WorkerSpec(
                index=step, out_path=path, http_port=cl.proxy.port,
                http_watchers=tuple(d for d in part if isinstance(d, HttpWatcherDef)),
                pod_shards=pop.pod_shard_map(), lifetime=WATCH_TIMEOUT_S,
            )])
            pools.append(pool)
            await pool.wait_ready(300)
            await asyncio.sleep(1.0)
            counts.append(counts[-1] + len(part))
            rss.append(metrics.tree_rss([pid]))
        proxy_watchers = await _total_proxy_watchers(cl.proxy.url)
        sampler = metrics.Sampler([pid], cl.endpoints, 0.5)
        sampler.start()
        wlog = await paced_writes(env.clients, write_plan(env, run), rate=rate, duration=duration)
        exp = Expectation(wlog, wlog.oid.astype(np.int64) % pop.nodes)
        expected = exp.count(plans)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while loop.time() < deadline:
            got = sum([(await p.counts())[0] for p in pools])
            if got >= expected:
                break
            await asyncio.sleep(0.2)
        await sampler.stop()
        for pool in pools:
            await pool.stop()
    except BaseException:
        for pool in pools:
            pool.kill()
        raise
    groups = analyse(exp, plans, load_deliveries(out))
    xs = np.array(counts[2:] if steps > 2 else counts[1:], np.float64)
    ys = np.array(rss[2:] if steps > 2 else rss[1:], np.float64)
    slope = float(np.polyfit(xs, ys, 1)[0]) if xs.size >= 2 else float("nan")
    result = {
        "watchers": watchers,
        "mode": "WatchList" if watchlist else "watch from resourceVersion",
        "proxy_watchers": proxy_watchers,
        "cold_start_s": cold_s,
        "counts": counts,
        "rss_mb": [r / 2**20 for r in rss],
        "per_watcher_kb_marginal": slope / 1024,
        "per_watcher_kb_average": (rss[-1] - rss[0]) / watchers / 1024,
        "per_watcher_kb_busy": (sampler.max_rss - rss[0]) / watchers / 1024,
        "rss_busy_mb": sampler.max_rss / 2**20,
        "writes": wlog.count,
        "rate_achieved": wlog.achieved_rate,
        "groups": groups,
        "correct": all(g["correct"] for g in groups.values()),
    }
    g = groups["kubelets"]
    env.log(
        f"  memory probe, {watchers} kubelets, {result['mode']}: RSS "
        + " -> ".join(f"{r / 2**20:.0f}" for r in rss)
        + f" MB; {result['per_watcher_kb_marginal']:.1f} KB/watcher marginal, "
        f"{result['per_watcher_kb_average']:.1f} average, {result['per_watcher_kb_busy']:.1f} "
        f"busy; p99 {g['p99_ms']:.1f} ms, {g['delivered']}/{g['expected']} delivered"
    )
    return result
