"""Relist storm (issue 8; docs/benchmarks.md, "Relist storm"): many concurrent LISTs of every pod
from clients that do not read their bodies at once, and what the proxy's memory and its small
requests do meanwhile. Opt-in, not part of `make bench`:

    .venv/bin/python -m bench.relist_storm [--pods 20000] [--lists 150] [--read-delay 10]
        [--probe-interval 0.02] [--after 30] [--storm-timeout 600]
        [--accept-encoding "gzip, deflate"] [--no-flow-control] [--probe-user] [--keep]

Two etcd shards; `--pods` pods (bench/model.py, 1.8 KB each, both tenants) written straight into
etcd in kube's layout; one `watchproxy serve` (open loopback admin, plain HTTP, as the other bench
configs) started on that store and waited for until it caches every pod. Then:

1. *before*: 3 s of probes and the proxy's RSS on an idle cache;
2. *storm*: `--lists` clients (in a child process, so that reading bodies does not delay the
   probes) each open their own connection and send `GET /api/v1/pods` (a consistent LIST of all
   pods over both shards; `Accept-Encoding: --accept-encoding`, by default aiohttp's
   `gzip, deflate`, which the proxy answers gzip-compressed since streaming came, `identity` for
   plain bodies) at the same moment, read the status line and headers, wait
   `--read-delay` seconds, then read the body to its end (discarding it). Meanwhile this process
   probes every `--probe-interval`: `GET` of one pod and `GET /readyz`, each its own loop and
   keep-alive connection (a probe that takes longer than the interval is followed at once by the
   next). The storm ends when every LIST finished or failed (bounded by `--storm-timeout`);
3. *after*: `--after` seconds of quiet, then the RSS again.

Figures: proxy RSS (VmRSS of /proc/PID/status, sampled every 100 ms by a thread) before, peak
during the storm, after; GET and /readyz latency p50/p99/max and counts during the storm (and
before, for reference); 429s and other errors (non-200 statuses, exceptions, timeouts of 30 s)
of probes and of LISTs; LISTs completed and their time to first byte and to last byte. Results
also go to `bench/results/relist-storm-<time>.json`. Every process started here is stopped at the
end (bench/cluster.py). `--no-flow-control` runs the proxy with `flow_control: {enabled: false}`
(no 429s), to measure streaming alone. `--probe-user` makes the storm and the probes two token
users, so two flows for flow control; without it every client is open-admin mode's anonymous
user, one flow, and a probe GET queues behind the storm's LISTs in that flow's queues (as kube
would queue one user's GET behind its own LISTs; /readyz is exempt either way).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import numpy as np

from bench import metrics
from bench.child import run_child
from bench.cluster import Cluster, raise_fd_limit, run_in_workdir
from bench.model import Population
from bench.runinfo import elapsed_log, machine_info, run_header, save_results
from bench.writer import bulk_put
from watchproxy.etcd.client import EtcdClient

LIST_PATH: Final = "/api/v1/pods"
PROBE_TIMEOUT_S: Final = 30.0
BEFORE_S: Final = 3.0
RSS_PERIOD_S: Final = 0.1


# -- RSS sampling ------------------------------------------------------------------------------


def vm_rss(pid: int) -> int:
    """VmRSS of /proc/PID/status in bytes (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """VmRSS every RSS_PERIOD_S in a thread (independent of this process's event loop)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), vm_rss(self.pid)))
            self._stop.wait(RSS_PERIOD_S)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> int:
        return max((r for t, r in self.samples if start <= t <= end), default=0)


# -- probes ------------------------------------------------------------------------------------


@dataclass
class Probe:
    """One probe loop's recordings: (start time, latency s, status; 0 = exception)."""

    name: str
    t: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)

    def summary(self, start: float, end: float) -> dict[str, Any]:
        t = np.array(self.t)
        sel = (t >= start) & (t <= end)
        lat = np.array(self.latency)[sel] * 1000.0
        status = np.array(self.status, np.int64)[sel]
        ok = lat[status == 200]
        return {
            "requests": int(sel.sum()),
            "ok": int(ok.size),
            "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
            "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
            "max_ms": float(lat.max()) if lat.size else float("nan"),
            "over_1s": int((lat > 1000.0).sum()),
            "status_429": int((status == 429).sum()),
            "other_errors": int(((status != 200) & (status != 429)).sum()),
        }


async def probe_loop(
    session: aiohttp.ClientSession, url: str, probe: Probe, interval: float, stop: asyncio.Event
) -> None:
    next_at = time.monotonic()
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            async with session.get(url) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = 0
        probe.t.append(t0)
        probe.latency.append(time.monotonic() - t0)
        probe.status.append(status)
        next_at = max(next_at + interval, time.monotonic())
        await asyncio.sleep(next_at - time.monotonic())


# -- the storm (child process) -----------------------------------------------------------------


async def _one_list(
    url: str, delay: float, start: asyncio.Event, limit_s: float, encoding: str, token: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"status": 0, "bytes": 0, "ttfb_s": None, "total_s": None, "error": ""}
    conn = aiohttp.TCPConnector(limit=1, force_close=True)
    client_timeout = aiohttp.ClientTimeout(total=limit_s)
    async with aiohttp.ClientSession(connector=conn, timeout=client_timeout) as session:
        await start.wait()
        t0 = time.monotonic()
        try:
            headers = {"Accept": "application/json", "Accept-Encoding": encoding}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            async with session.get(url, headers=headers) as r:
                out["status"] = r.status
                out["ttfb_s"] = time.monotonic() - t0
                await asyncio.sleep(delay)
                n = 0
                while chunk := await r.content.read(1 << 20):
                    n += len(chunk)
                out["bytes"] = n
                out["total_s"] = time.monotonic() - t0
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


async def _storm(
    url: str, lists: int, delay: float, limit_s: float, encoding: str, token: str
) -> list[dict[str, Any]]:
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(_one_list(url, delay, start, limit_s, encoding, token))
        for _ in range(lists)
    ]
    await asyncio.sleep(0.2)  # every session created
    start.set()
    return list(await asyncio.gather(*tasks))


def storm_child(
    url: str, lists: int, delay: float, timeout: float, encoding: str, token: str, conn: Any
) -> None:
    raise_fd_limit()
    try:
        import uvloop

        conn.send(uvloop.run(_storm(url, lists, delay, timeout, encoding, token)))
    except BaseException as exc:  # report it to the parent, which is waiting on the pipe
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


# -- the run -----------------------------------------------------------------------------------


async def seed(clients: list[EtcdClient], pop: Population) -> int:
    items: list[tuple[int, bytes, bytes]] = [
        (shard, pop.namespace_key(ns), pop.namespace_value(ns))
        for shard, ns in pop.namespace_names()
    ]
    items += [(pop.node_shard(n), pop.node_key(n), pop.node_value(n)) for n in range(pop.nodes)]
    items += [(pop.pod_shard(i), pop.pod_key(i), pop.pod_value(i, 0)) for i in range(pop.pods)]
    return await bulk_put(clients, items)


async def wait_cached(url: str, count: int, limit_s: float = 300.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        resources = (await metrics.proxy_stats(url)).get("resources")
        if isinstance(resources, dict):
            pods = resources.get("pods")
            if isinstance(pods, dict) and int(pods.get("objects", 0)) >= count:
                return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"proxy did not cache {count} pods within {limit_s:.0f}s")


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def report(out: dict[str, Any], args: argparse.Namespace) -> str:
    rss = out["rss"]
    lists = out["lists"]
    storm = out["probes_storm"]
    before = out["probes_before"]
    lines = [
        f"Relist storm: {args.pods:,} pods, {args.lists} concurrent LISTs of all pods"
        f" ({_mb(lists['body_bytes'])} each), bodies read after {args.read_delay:g} s;"
        f" probes every {args.probe_interval * 1000:g} ms; storm {out['storm_s']:.1f} s.",
        "",
        "| proxy RSS before | peak during the storm | after "
        f"{args.after:g} s | LISTs completed | LIST 429s | LIST other errors "
        "| LIST time to headers p50 / max | LIST time to last byte p50 / max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {_mb(rss['before'])} | {_mb(rss['peak'])} | {_mb(rss['after'])} "
        f"| {lists['completed']} / {args.lists} | {lists['status_429']} | {lists['other_errors']} "
        f"| {lists['ttfb_p50_s']:.1f} / {lists['ttfb_max_s']:.1f} s "
        f"| {lists['total_p50_s']:.1f} / {lists['total_max_s']:.1f} s |",
        "",
        "| probe | window | requests | p50 | p99 | max | > 1 s | 429 | other errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for window, probes in (("before", before), ("storm", storm)):
        for name, s in probes.items():
            lines.append(
                f"| {name} | {window} | {s['requests']} | {s['p50_ms']:.1f} ms"
                f" | {s['p99_ms']:.1f} ms | {s['max_ms']:.1f} ms | {s['over_1s']}"
                f" | {s['status_429']} | {s['other_errors']} |"
            )
    return "\n".join(lines)


def list_summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in results if r["status"] == 200 and not r["error"]]
    ttfb = [r["ttfb_s"] for r in results if r["ttfb_s"] is not None]
    total = [r["total_s"] for r in done]
    errors = sorted({r["error"] for r in results if r["error"]})

    def q(values: list[float], p: float) -> float:
        return float(np.percentile(values, p)) if values else float("nan")

    return {
        "completed": len(done),
        "status_429": sum(r["status"] == 429 for r in results),
        "other_errors": sum(1 for r in results if r["status"] not in (200, 429) or r["error"]),
        "error_examples": errors[:5],
        "body_bytes": max((r["bytes"] for r in done), default=0),
        "ttfb_p50_s": q(ttfb, 50),
        "ttfb_max_s": max(ttfb, default=float("nan")),
        "total_p50_s": q(total, 50),
        "total_max_s": max(total, default=float("nan")),
    }


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    log = elapsed_log(started)

    info = machine_info()
    pop = Population(nodes=max(1, min(1000, args.pods // 20)), pods=args.pods)
    cluster = Cluster(workdir)
    clients: list[EtcdClient] = []
    out: dict[str, Any] = {"machine": info, "args": vars(args)}
    sampler: RssSampler | None = None
    try:
        cluster.start_etcd()
        clients = [EtcdClient([ep], name=f"storm-{i}") for i, ep in enumerate(cluster.endpoints)]
        n = await seed(clients, pop)
        log(f"seeded {n} objects ({pop.pods} pods) into 2 etcd shards")
        # --no-flow-control: the proxy without API Priority and Fairness (no 429s), to measure
        # what streaming alone does. --probe-user: the storm and the probes are two token
        # users (two flows); otherwise all are the one anonymous flow of open-admin mode.
        settings: dict[str, Any] = {}
        tokens: dict[str, str] = {}
        if args.no_flow_control:
            settings["flow_control"] = {"enabled": False}
        if args.probe_user:
            tokens = {u: secrets.token_urlsafe(24) for u in ("storm", "probe")}
            token_file = workdir / "tokens.csv"
            token_file.write_text("".join(f"{t},{u},uid-{u}\n" for u, t in tokens.items()))
            settings["authentication"] = {"token_auth_file": str(token_file), "anonymous": True}
            settings["authorization"] = {"modes": ["AlwaysAllow"]}
        cluster.start_proxy(**settings)
        proxy = cluster.proxy
        assert proxy is not None
        await wait_cached(proxy.url, pop.pods)
        log(f"proxy pid {proxy.pid} caches {pop.pods} pods")
        sampler = RssSampler(proxy.pid)
        sampler.start()
        probes = {"GET pod": Probe("GET pod"), "/readyz": Probe("/readyz")}
        urls = {
            "GET pod": f"{proxy.url}/api/v1/namespaces/{pop.pod_namespace(0)}/pods/"
            + pop.pod_name(0),
            "/readyz": f"{proxy.url}/readyz",
        }
        stop = asyncio.Event()
        timeout = aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)
        sessions = [
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1),
                timeout=timeout,
                headers={"Accept": "application/json"}
                | ({"Authorization": f"Bearer {tokens['probe']}"} if tokens else {}),
            )
            for _ in probes
        ]
        loops = [
            asyncio.create_task(probe_loop(s, urls[k], probes[k], args.probe_interval, stop))
            for s, k in zip(sessions, probes, strict=True)
        ]
        t_before = time.monotonic()
        await asyncio.sleep(BEFORE_S)
        rss_before = vm_rss(proxy.pid)
        t_storm = time.monotonic()
        log(
            f"RSS before {_mb(rss_before)}; storm: {args.lists} LISTs, read after"
            f" {args.read_delay:g} s"
        )
        result = await run_child(
            storm_child,
            (
                proxy.url + LIST_PATH,
                args.lists,
                args.read_delay,
                args.storm_timeout,
                args.accept_encoding,
                tokens.get("storm", ""),
            ),
            args.storm_timeout + 60,
        )
        t_end = time.monotonic()
        # The child's start (spawn, imports) takes a moment: the storm window begins at the
        # first LIST only for the LIST figures; probes are counted over the whole window.
        out["storm_s"] = t_end - t_storm
        out["lists"] = list_summary(result)
        rss_peak = sampler.peak(t_storm, t_end)
        log(
            f"storm over in {t_end - t_storm:.1f} s: {out['lists']['completed']} LISTs completed,"
            f" peak RSS {_mb(rss_peak)}; {args.after:g} s of quiet"
        )
        stop.set()
        await asyncio.gather(*loops)
        for s in sessions:
            await s.close()
        await asyncio.sleep(args.after)
        rss_after = vm_rss(proxy.pid)
        sampler.stop()
        out["rss"] = {"before": rss_before, "peak": rss_peak, "after": rss_after}
        out["rss_samples"] = [(round(t - t_storm, 2), r) for t, r in sampler.samples]
        out["probes_before"] = {k: p.summary(t_before, t_storm) for k, p in probes.items()}
        out["probes_storm"] = {k: p.summary(t_storm, t_end) for k, p in probes.items()}
        out["proxy_alive"] = proxy.alive()
    finally:
        if sampler is not None and sampler._thread.is_alive():
            sampler.stop()
        for client in clients:
            await client.close()
        cluster.close()
    head = run_header(info, started)
    print("\n" + head + "\n\n" + report(out, args))
    if out["lists"]["error_examples"]:
        print("LIST errors: " + "; ".join(out["lists"]["error_examples"]))
    path = save_results("relist-storm", out)
    log(f"results: {path}")
    return 0


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0: {text}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.relist_storm",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pods", type=_positive(int), default=20_000)
    parser.add_argument(
        "--lists", type=_positive(int), default=150, help="concurrent LISTs of all pods"
    )
    parser.add_argument(
        "--read-delay",
        type=float,
        default=10.0,
        help="seconds each LIST client waits before reading its body",
    )
    parser.add_argument("--probe-interval", type=_positive(float), default=0.02)
    parser.add_argument(
        "--after",
        type=float,
        default=30.0,
        help="seconds after the storm before the last RSS reading",
    )
    parser.add_argument(
        "--storm-timeout",
        type=_positive(float),
        default=600.0,
        help="bound on each LIST (and so on the storm)",
    )
    parser.add_argument(
        "--accept-encoding",
        default="gzip, deflate",
        help="the LIST clients' Accept-Encoding (aiohttp's default; `identity`: plain bodies)",
    )
    parser.add_argument(
        "--no-flow-control",
        action="store_true",
        help="run the proxy with `flow_control: {enabled: false}` (no 429s)",
    )
    parser.add_argument(
        "--probe-user",
        action="store_true",
        help="token authentication: the storm is user `storm`, the probes user `probe` (two"
        " flows); without it every client is the anonymous user of open-admin mode (one flow)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    return run_in_workdir(
        "bench-relist-storm-", lambda workdir: main_async(args, workdir), keep=args.keep
    )


if __name__ == "__main__":
    sys.exit(main())
