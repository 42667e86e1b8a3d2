"""`python -m bench --quick | --full`: one run, every scenario (and in --full every peer), one
report headed by the targets table (bench/targets.py); sizes in bench/sizes.py. One module
over 400 lines because it is one sequence: the stages share one cluster and one population,
and their order (who restarts the proxy, what runs before the peers) is the run.

Order: etcd shards up; seed namespaces, nodes and a ConfigMap; start watchproxy on pod-less etcd
(RSS baseline); seed the pods while it runs (RSS per cached object); watchproxy scenarios; LIST;
restart watchproxy on the full store (cold start); stop it; then the peers (direct etcd,
etcd grpc-proxy), so etcd's figures for a peer carry no watchproxy watches. Everything is on
loopback and bounded: the whole run has a deadline, every watch a server-side timeout, every
process an at-exit kill.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import http2, ingest_cost, metrics, plots, report
from bench.cluster import Cluster, exit_on_termination, raise_fd_limit
from bench.list_timing import run_list
from bench.model import Population
from bench.runinfo import RESULTS, elapsed_log, load_average, machine_info
from bench.scenarios import (
    Env,
    Group,
    WatchRun,
    memory_probe,
    run_watch,
    wait_cached,
)
from bench.sizes import FULL, QUICK, Sizes, override
from bench.writer import bulk_put
from watchproxy.etcd.client import EtcdClient
from watchproxy.resources import Registry

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "benchmarks" / "latency-vs-watchers.png"
COST_PLOT = ROOT / "docs" / "benchmarks" / "cpu-per-delivery.png"


def _median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of numeric fields over repeats; correctness counters are summed."""
    if len(runs) == 1:
        return {**runs[0], "repeats": 1}
    out: dict[str, Any] = {**runs[-1], "repeats": len(runs)}
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            med = statistics.median(float(r[key]) for r in runs)
            out[key] = int(med) if isinstance(value, int) and med == int(med) else med
    out["correct"] = all(r["correct"] for r in runs)
    out["errors"] = sorted({e for r in runs for e in r["errors"]})[:8]
    groups: dict[str, Any] = {}
    for name, g0 in runs[0]["groups"].items():
        g: dict[str, Any] = {}
        for key, value in g0.items():
            vals = [r["groups"][name][key] for r in runs]
            if key in ("watchers",):
                g[key] = value
            elif key in (
                "lost",
                "duplicates",
                "out_of_order",
                "unexpected",
                "wrong_key",
                "bad_watchers",
                "ended_early",
                "error_lines",
                "initial_bad",
                "expected",
                "delivered",
            ):
                g[key] = sum(vals)
            elif isinstance(value, bool):
                g[key] = all(vals)
            elif isinstance(value, (int, float)):
                med = statistics.median(vals)
                g[key] = int(med) if isinstance(value, int) and med == int(med) else med
            else:
                g[key] = [v for v in vals if v][:1]
        groups[name] = g
    out["groups"] = groups
    return out


def _median_probe(probes: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(probes[-1])
    for key in (
        "per_watcher_kb_marginal",
        "per_watcher_kb_average",
        "per_watcher_kb_busy",
        "cold_start_s",
    ):
        out[key] = statistics.median(p[key] for p in probes)
    out["correct"] = all(p["correct"] for p in probes)
    out["runs"] = probes
    out["repeats"] = len(probes)
    return out


async def _repeat(env: Env, run: WatchRun, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        runs.append(await run_watch(env, run))
        gc.collect()
    result = _median_result(runs)
    result["runs"] = [
        {k: v for k, v in r.items() if k != "groups"} | {"groups": r["groups"]} for r in runs
    ]
    return result


async def bench(
    sizes: Sizes, workdir: Path, only: set[str], log: Any, gc_log: bool = False
) -> dict[str, Any]:
    pop = Population(nodes=sizes.nodes, pods=sizes.pods)
    cluster = Cluster(workdir, gc_log=gc_log)
    results: dict[str, Any] = {"sizes": asdict(sizes), "machine": machine_info(), "watch": []}
    resources = [r.key for r in Registry().resources]
    results["resources"] = resources
    results["expected_etcd_watchers"] = pop.shards  # one watch per shard (decision 0007)
    clients: list[EtcdClient] = []
    try:
        t0 = time.monotonic()
        cluster.start_etcd()
        clients = [EtcdClient([ep], name=f"bench-{i}") for i, ep in enumerate(cluster.endpoints)]
        env = Env(cluster, pop, workdir, clients, log)
        items: list[tuple[int, bytes, bytes]] = []
        for shard, ns in pop.namespace_names():
            items.append((shard, pop.namespace_key(ns), pop.namespace_value(ns)))
        for n in range(pop.nodes):
            items.append((pop.node_shard(n), pop.node_key(n), pop.node_value(n)))
        items.append((0, pop.configmap_key(0), pop.configmap_value(0, 0)))
        await bulk_put(clients, items)
        log(f"etcd up, {len(items)} namespaces/nodes/configmaps in {time.monotonic() - t0:.1f}s")

        # watchproxy on a pod-less store, then the pods arrive through its watch
        start_s = cluster.start_proxy()
        assert cluster.proxy is not None
        await asyncio.sleep(1.0)
        rss_empty = metrics.tree_rss([cluster.proxy.pid])
        t1 = time.monotonic()
        pods = ((pop.pod_shard(i), pop.pod_key(i), pop.pod_value(i, 0)) for i in range(pop.pods))
        await bulk_put(clients, pods)
        seed_s = time.monotonic() - t1
        await wait_cached(env, pop.pods)
        await asyncio.sleep(1.0)
        rss_loaded = metrics.tree_rss([cluster.proxy.pid])
        memory: dict[str, Any] = {
            "proxy_start_empty_s": start_s,
            "rss_empty_mb": rss_empty / 2**20,
            "rss_loaded_mb": rss_loaded / 2**20,
            "pods": pop.pods,
            "pod_value_bytes": len(pop.pod_value(0, 0)),
            "per_object_kb_live": (rss_loaded - rss_empty) / pop.pods / 1024,
            "seed_s": seed_s,
        }
        log(
            f"seeded {pop.pods} pods in {seed_s:.1f}s; watchproxy RSS {rss_empty / 2**20:.0f} -> "
            f"{rss_loaded / 2**20:.0f} MB ({memory['per_object_kb_live']:.2f} KB/pod incl. history)"
        )
        results["memory"] = memory
        e_idle = await metrics.scrape(cluster.endpoints, cluster.etcd_pids)
        results["etcd_watchers_no_clients"] = e_idle.watchers

        def want(name: str) -> bool:
            return not only or name in only

        r = sizes.repeats
        watch: list[dict[str, Any]] = results["watch"]
        kub, ctl, obj = "kubelets", "controllers", "single-object"

        async def run(
            name: str, groups: tuple[Group, ...], rate: float, duration: float, label: str
        ) -> None:
            """One watchproxy scenario, repeated `r` times (medians), into `watch`."""
            scenario = WatchRun(
                name, "watchproxy", groups, rate, duration, sizes.workers, label=label
            )
            watch.append(await _repeat(env, scenario, r))

        if want(kub):
            for n in sizes.kubelet_sweep:
                groups: tuple[Group, ...] = (Group("kubelets", "kubelet", n),)
                if sizes.kubelet_controllers:
                    groups += (Group("controllers", "controller", sizes.kubelet_controllers),)
                await run(kub, groups, sizes.kubelet_rate, sizes.duration, f"sweep N={n}")
            probes_run = (("memory_probe", True), ("memory_probe_resume", False))
            for key, watchlist in probes_run if sizes.watchlist_probe else probes_run[1:]:
                probes = [
                    await memory_probe(
                        env, max(sizes.kubelet_sweep), 4, sizes.kubelet_rate, 3.0, watchlist
                    )
                    for _ in range(r)
                ]
                results[key] = _median_probe(probes)
            cluster.stop_proxy()
            cluster.start_proxy()
            kubelets = (Group("kubelets", "kubelet", sizes.peer_kubelets),)
            if sizes.peers:
                await run(kub, kubelets, sizes.peer_kubelet_rate, sizes.peer_duration, "peer size")
        if want(ctl):
            if sizes.controllers:
                many = (Group("controllers", "controller", sizes.controllers),)
                await run(ctl, many, sizes.controller_rate, sizes.duration, "throughput")
            peer = (Group("controllers", "controller", sizes.peer_controllers),)
            if sizes.peers:
                await run(ctl, peer, sizes.peer_controller_rate, sizes.peer_duration, "peer size")
        if want(obj):
            if sizes.objects:
                many = (Group("watchers", "object", sizes.objects),)
                await run(obj, many, sizes.object_rate, sizes.duration, "many")
            peer = (Group("watchers", "object", sizes.peer_objects),)
            if sizes.peers:
                await run(obj, peer, sizes.peer_object_rate, sizes.peer_duration, "peer size")
        if want("moderate"):
            both = (
                Group("kubelets", "kubelet", sizes.moderate_kubelets),
                Group("controllers", "controller", sizes.moderate_controllers),
            )
            await run("moderate", both, sizes.moderate_rate, sizes.moderate_duration, "moderate")
        if want("moderate") and sizes.rate_sweep:
            sweep = (Group("controllers", "controller", sizes.moderate_controllers),)
            for sweep_rate in sizes.rate_sweep:
                label = f"{sweep_rate} writes/s"
                await run("rate sweep", sweep, sweep_rate, sizes.rate_sweep_duration, label)
        if want("list"):
            results["list"] = await run_list(env, sizes.list_repeats)
        if want("workers"):
            # the same saturating load on one process, then on `serve --workers 2`
            flood = (Group("controllers", "controller", sizes.scaling_controllers),)
            rate, seconds = sizes.scaling_rate, sizes.scaling_duration
            await run("workers", flood, rate, seconds, "1 process")
            cluster.start_proxy(workers=2)
            for _ in range(6):  # each request lands on either process (SO_REUSEPORT)
                await wait_cached(env, pop.pods)
            await run("workers", flood, rate, seconds, "2 processes")
        # cold start on the full store
        cluster.stop_proxy()
        cold_s = cluster.start_proxy()
        await asyncio.sleep(1.0)
        rss_cold = metrics.tree_rss([cluster.proxy.pid])
        memory.update(
            cold_start_s=cold_s,
            rss_cold_mb=rss_cold / 2**20,
            per_object_kb_cold=(rss_cold - rss_empty) / pop.pods / 1024,
        )
        log(
            f"cold start with {pop.pods} pods: ready in {cold_s:.1f}s, "
            f"RSS {rss_cold / 2**20:.0f} MB"
        )
        cluster.stop_proxy()

        # peers: watchproxy is stopped, so etcd serves only the peer's watches
        if sizes.peers and want(kub):
            watch.append(
                await _repeat(
                    env,
                    WatchRun(
                        kub,
                        "etcd",
                        (Group("kubelets", "kubelet", sizes.peer_kubelets),),
                        sizes.peer_kubelet_rate,
                        sizes.peer_duration,
                        sizes.workers,
                        label="peer size",
                    ),
                    r,
                )
            )
        for backend in ("etcd", "grpc-proxy") if sizes.peers else ():
            if want(ctl):
                watch.append(
                    await _repeat(
                        env,
                        WatchRun(
                            ctl,
                            backend,
                            (Group("controllers", "controller", sizes.peer_controllers),),
                            sizes.peer_controller_rate,
                            sizes.peer_duration,
                            sizes.workers,
                            label="peer size",
                        ),
                        r,
                    )
                )
            if want(obj):
                watch.append(
                    await _repeat(
                        env,
                        WatchRun(
                            obj,
                            backend,
                            (Group("watchers", "object", sizes.peer_objects),),
                            sizes.peer_object_rate,
                            sizes.peer_duration,
                            sizes.workers,
                            label="peer size",
                        ),
                        r,
                    )
                )
        if want("serving"):
            log("serving: the moderate rate over HTTP/1.1 and TLS + HTTP/2 (bench.http2)")
            results["serving"] = await http2.measure(
                argparse.Namespace(
                    modes=["http1-plain", "h2-tls"],
                    runs=sizes.serving_runs,
                    seconds=sizes.serving_seconds,
                    rate=sizes.moderate_rate,
                    controllers=sizes.moderate_controllers,
                ),
                lambda line: log(f"  {line}"),
            )
        if want("ingest"):
            log("ingest: proxy CPU per etcd event at low fan-out (bench.ingest_cost)")
            (workdir / "ingest").mkdir(exist_ok=True)
            runs = await ingest_cost.measure(
                workdir / "ingest",
                argparse.Namespace(
                    rates=sizes.ingest_rates, seconds=sizes.ingest_seconds,
                    repeats=sizes.ingest_repeats, transports="h2", base="", no_watchers=False,
                ),
            )
            results["ingest"] = {"runs": runs, "us_per_event": ingest_cost.medians(runs, "h2")}
        if want("write"):
            log("write: proxy CPU per write request, per verb (bench.write_cost)")
            results["write"] = await asyncio.to_thread(
                _write_cost, sizes.write_requests, sizes.write_repeats, workdir
            )
        if want("big-cluster"):
            log("big cluster: bench.big_cluster " + sizes.big_cluster_nodes)
            results["big_cluster"] = await asyncio.to_thread(_big_cluster, sizes, workdir)
        results["notes"] = env.notes
        results["elapsed_s"] = time.monotonic() - t0
        results["machine"]["load_avg_end"] = load_average()
        return results
    finally:
        for client in clients:
            await client.close()
        cluster.close()


def _big_cluster(sizes: Sizes, workdir: Path) -> dict[str, Any]:
    """bench.big_cluster in its own process (own etcd, proxy and clients): its results."""
    out = workdir / "big-cluster.json"
    args = ["--nodes", sizes.big_cluster_nodes, "--seconds", str(sizes.big_cluster_seconds)]
    if sizes.big_cluster_seconds < 15:  # the quick run: a short warm-up, a tight bound
        args += ["--warmup", "2", "--deadline", "90"]
    subprocess.run(
        [sys.executable, "-m", "bench.big_cluster", *args, "--json", str(out)],
        check=False, timeout=3600, cwd=ROOT,
    )  # fmt: skip
    if not out.exists():
        return {}
    measured: dict[str, Any] = json.loads(out.read_text())
    return measured


def _write_cost(requests: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """bench.write_cost in its own process (it runs its own etcd and proxy): its medians."""
    out = workdir / "write-cost.json"
    subprocess.run(
        [sys.executable, "-m", "bench.write_cost", "--requests", str(requests),
         "--repeats", str(repeats), "--json", str(out)],
        check=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    measured: dict[str, Any] = json.loads(out.read_text())
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="small sizes, once (< 3 min)")
    mode.add_argument("--full", action="store_true", help="documented sizes, 3 repeats, plot")
    parser.add_argument(
        "--only",
        default="",
        help="comma list of kubelets,controllers,single-object,moderate,list,workers,serving,"
        "ingest,write,big-cluster",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, data)")
    parser.add_argument(
        "--docs", action="store_true", help="rewrite the tables in docs/benchmarks.md and its plot"
    )
    parser.add_argument(
        "--gc-log",
        action="store_true",
        help="run watchproxy under bench.gcwrap and report its GC pauses",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a size, e.g. --set kubelet_sweep=500,2000 --set repeats=1",
    )
    args = parser.parse_args(argv)
    sizes = override(FULL if args.full else QUICK, args.set)
    exit_on_termination()
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="watchproxy-bench-"))
    started = time.monotonic()
    log = elapsed_log(started)

    only = {s.strip() for s in args.only.split(",") if s.strip()}
    log(f"bench --{sizes.name}: work dir {workdir}")
    try:
        import uvloop

        results = uvloop.run(
            asyncio.wait_for(bench(sizes, workdir, only, log, args.gc_log), sizes.deadline_s)
        )
    except TimeoutError:
        log(f"bench: deadline of {sizes.deadline_s:.0f}s passed; stopped")
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = RESULTS / f"{sizes.name}-{stamp}.json"
    json_path.write_text(json.dumps(results, indent=1, default=float))
    md = report.markdown(results)
    (RESULTS / f"{sizes.name}-{stamp}.md").write_text(md)
    print(md)
    plot_path = PLOT if args.docs else RESULTS / f"{sizes.name}-{stamp}.png"
    report.plot(results, plot_path)
    cost_plot = COST_PLOT if args.docs else RESULTS / f"{sizes.name}-{stamp}-cost.png"
    plots.plot_cpu_per_delivery(results, cost_plot)
    log(f"plots: {plot_path}, {cost_plot}")
    if args.docs:
        report.update_docs(ROOT / "docs" / "benchmarks.md", md)
    log(f"results: {json_path}")
    ok = all(w["correct"] for w in results["watch"])
    if not ok:
        log("correctness problems found: see the tables")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
