"""Ingest cost (issue 10, "Ingest <= 100 us of CPU per etcd event"; docs/decisions/0020-ingest.md):
proxy CPU per etcd event at low fan-out, for the etcd watch transports side by side. Opt-in:

    .venv/bin/python -m bench.ingest_cost [--repeats 3] [--rates 100,1000] [--seconds 3]
        [--transports grpc,h2] [--base CHECKOUT] [--no-watchers] [--keep]

Two etcd shards and one `watchproxy serve` at a time (bench/cluster.py), one per variant in
turn, alternating within each repeat so that all see the same machine:
- "h2", "grpc": this checkout with $WATCHPROXY_ETCD_WATCH set to it ("grpc": the grpc.aio watch,
  kept as the reference; "h2": the watch read on the event loop, the default); "h2:MS" also
  sets $WATCHPROXY_ETCD_WATCH_COALESCE_MS;
- "base" (with `--base`): the proxy of another checkout as it is, e.g. the commit before
  (`git worktree add /tmp/wt-base 2051d48`, then copy watchproxy/etcd/_generated,
  watchproxy/kubeproto/_generated and watchproxy/schema/_generated into it).
Each proxy gets two watches from this process, a node-lifecycle-like watch of every Lease in
kube-node-lease and a kubelet-like watch of the pods of node-00000 (`--no-watchers`: none, ingest
alone), and then, per rate: `--seconds` of idle (the proxy's CPU rate with the watches open,
nothing written), then `rate x seconds` puts straight into shard-a's etcd, alternating a Lease
renewal (~330 B) and a pod status change (~1.6 KB, bench/model.py) on that node, paced open
loop; one delivery per event. The measurement window runs from the first put until both
watchers have seen every event (bounded), and the figure is

    (proxy CPU in the window - idle CPU rate x window) / events

with the proxy CPU summed over all its threads from /proc/PID/task/*/schedstat (ns on CPU; the
grpc threads included), cross-checked against utime+stime of /proc/PID/stat (10 ms ticks).
Medians over the repeats; every run is listed. A run whose watchers missed events is reported
as such (the figure is still the CPU per written event). Results also go to
bench/results/ingest-cost-<time>.json. Every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any, Final

import orjson

from bench.cluster import Cluster, ProxyProcess, run_in_workdir
from bench.model import Population
from bench.runinfo import machine_info, run_header, save_results
from bench.writer import paced_writes
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.watch import COALESCE_ENV, TRANSPORT_ENV

LEASE_NS: Final = "kube-node-lease"
NODE: Final = "node-00000"
POP: Final = Population(nodes=1, pods=100)
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
DRAIN_LIMIT_S: Final = 10.0


def lease_value(i: int, counter: int) -> bytes:
    name = f"node-{i:05d}"
    return orjson.dumps(
        {
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {
                "name": name,
                "namespace": LEASE_NS,
                "uid": f"00000000-0000-4000-a000-{i:012d}",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": name, "uid": "n-" + name}
                ],
            },
            "spec": {
                "holderIdentity": name,
                "leaseDurationSeconds": 40,
                "renewTime": f"2026-01-01T00:{counter // 60 % 60:02d}:{counter % 60:02d}.000000Z",
            },
        }
    )


def cpu_ns(pid: int) -> int:
    """ns on CPU of every live thread of `pid` (/proc/PID/task/*/schedstat, first field)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # the thread ended meanwhile
    return total


def stat_ticks(pid: int) -> int:
    """utime + stime of `pid` in clock ticks (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Watch:
    """A raw HTTP/1.1 watch that counts event lines (`{"type":` starts every one; the chunked
    framing's size lines never do)."""

    def __init__(self, url: str, path: str) -> None:
        self.url, self.path = url, path
        self.events = 0
        self.changed = asyncio.Event()  # set on every read
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        host, port = self.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        self.task = asyncio.create_task(self._read(reader, writer))

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rest = b""
        try:
            while data := await reader.read(65536):
                lines = (rest + data).split(b"\n")
                rest = lines.pop()  # an incomplete line, kept for the next read
                self.events += sum(1 for line in lines if line.startswith(b'{"type":"'))
                self.changed.set()
        finally:
            writer.close()

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def one_rate(
    client: EtcdClient, pid: int, watches: list[Watch], rate: float, seconds: float, base: int
) -> dict[str, Any]:
    """Idle window, then the paced puts; the figures of one rate."""
    c0, t0 = cpu_ns(pid), time.monotonic()
    await asyncio.sleep(seconds)
    idle_rate = (cpu_ns(pid) - c0) / (time.monotonic() - t0)  # ns per s
    before = sum(w.events for w in watches)

    def make(seq: int) -> tuple[int, bytes, int, bytes]:
        n = base + seq
        if seq % 2 == 0:
            key = f"/registry/leases/{LEASE_NS}/node-{seq // 2 % 100:05d}".encode()
            return 0, key, n, lease_value(seq // 2 % 100, n)
        i = seq // 2 % POP.pods
        return 0, POP.pod_key(i), n, POP.pod_value(i, n)

    # A profiler can attach on this line (see docs/decisions/0020-ingest.md).
    print(f"  load {rate:.0f}/s for {seconds:.0f} s on proxy pid {pid}", flush=True)
    c0, s0, t0 = cpu_ns(pid), stat_ticks(pid), time.monotonic()
    log = await paced_writes([client], make, rate=rate, duration=seconds, max_inflight=32)
    written = len(log.rev)
    deadline = time.monotonic() + DRAIN_LIMIT_S
    if not watches:  # ingest alone: nothing to wait for but etcd's last response
        await asyncio.sleep(0.2)
    while watches and sum(w.events for w in watches) - before < written:
        if time.monotonic() > deadline:
            break
        for w in watches:
            w.changed.clear()
        waits = [asyncio.create_task(w.changed.wait()) for w in watches]
        await asyncio.wait(waits, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
    window = time.monotonic() - t0
    used = cpu_ns(pid) - c0 - idle_rate * window
    ticks = stat_ticks(pid) - s0
    delivered = sum(w.events for w in watches) - before
    return {
        "rate": rate,
        "events": written,
        "delivered": delivered,
        "write_errors": log.errors,
        "window_s": round(window, 3),
        "idle_ms_per_s": round(idle_rate / 1e6, 2),
        "us_per_event": round(used / 1e3 / max(written, 1), 1),
        "stat_us_per_event": round(
            (ticks / CLK_TCK * 1e9 - idle_rate * window) / 1e3 / max(written, 1), 1
        ),
    }


async def one_proxy(
    cluster: Cluster,
    client: EtcdClient,
    transport: str,
    rates: list[float],
    seconds: float,
    no_watchers: bool,
    base: Path | None,
) -> list[dict[str, Any]]:
    name, _, coalesce = transport.partition(":")
    if name == "base":  # another checkout's watchproxy (`--base`), as it is
        assert base is not None
        cluster.stop_proxy()
        cluster.proxy = ProxyProcess(cluster.workdir, cluster.endpoints, tree=base)
        cluster.proxy.start()
    else:
        os.environ[TRANSPORT_ENV] = name
        os.environ[COALESCE_ENV] = coalesce or "0"
        try:
            cluster.start_proxy()
        finally:
            os.environ.pop(TRANSPORT_ENV, None)
            os.environ.pop(COALESCE_ENV, None)
    assert cluster.proxy is not None
    pid = cluster.proxy.pid
    watches = [
        Watch(
            cluster.proxy.url, f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NS}/leases?watch=1"
        ),
        Watch(cluster.proxy.url, f"/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3D{NODE}"),
    ][: 0 if no_watchers else 2]
    try:
        for w in watches:
            await w.start()
        await asyncio.sleep(1.0)  # initial ADDED events, then quiet
        out = []
        for rate in rates:
            row = await one_rate(client, pid, watches, rate, seconds, base=int(time.time()))
            out.append({"transport": transport, **row})
        return out
    finally:
        for w in watches:
            w.stop()
        cluster.stop_proxy()


def summary(runs: list[dict[str, Any]], transports: list[str], rates: list[float]) -> list[str]:
    lines = [
        "transport  rate/s  us/event (median, schedstat)  runs                 stat-ticks median"
        "  delivered/events"
    ]
    medians: dict[tuple[str, float], float] = {}
    for rate in rates:
        for transport in transports:
            rows = [r for r in runs if r["transport"] == transport and r["rate"] == rate]
            if not rows:
                continue
            med = statistics.median(r["us_per_event"] for r in rows)
            medians[transport, rate] = med
            each = ", ".join(f"{r['us_per_event']:.0f}" for r in rows)
            stat = statistics.median(r["stat_us_per_event"] for r in rows)
            got = sum(r["delivered"] for r in rows)
            total = sum(r["events"] for r in rows)
            lines.append(
                f"{transport:<9}  {rate:>6.0f}  {med:>28.1f}  {each:<19}  {stat:>17.1f}"
                f"  {got}/{total}"
            )
        for ref in ("base", "grpc"):
            for transport in transports:
                if transport in ("base", ref) or (ref, rate) not in medians:
                    continue
                if (transport, rate) in medians:
                    ratio = medians[ref, rate] / max(medians[transport, rate], 1e-9)
                    lines.append(
                        f"  -> {transport} is {ratio:.2f}x less CPU per event than {ref} at"
                        f" {rate:.0f}/s"
                    )
    return lines


async def measure(workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every transport of `args.transports` (and `base` with `args.base`) at every rate,
    `args.repeats` times, alternating the order: one row per (repeat, transport, rate) with
    `us_per_event` (proxy CPU per etcd event, the idle rate subtracted). Also what
    `python -m bench` runs as its "ingest" stage."""
    rates = [float(r) for r in args.rates.split(",")]
    transports = args.transports.split(",")
    if args.base:
        transports = ["base", *transports]
    cluster = Cluster(workdir)
    runs: list[dict[str, Any]] = []
    try:
        cluster.start_etcd()
        async with EtcdClient([cluster.endpoints[0]], name="writer") as client:
            for i in range(POP.pods):  # the pods exist before any proxy starts
                await client.put(POP.pod_key(i), POP.pod_value(i, 0))
            for repeat in range(args.repeats):
                order = transports if repeat % 2 == 0 else transports[::-1]
                for transport in order:
                    rows = await one_proxy(
                        cluster, client, transport, rates, args.seconds, args.no_watchers, args.base
                    )
                    for row in rows:
                        print(f"  repeat {repeat + 1}: {orjson.dumps(row).decode()}", flush=True)
                    runs.extend({**row, "repeat": repeat} for row in rows)
    finally:
        cluster.close()
    return runs


def medians(runs: list[dict[str, Any]], transport: str) -> dict[float, float]:
    """Median µs per event of `transport`'s rows, by rate."""
    rates = sorted({float(r["rate"]) for r in runs if r["transport"] == transport})
    return {
        rate: statistics.median(
            float(r["us_per_event"])
            for r in runs
            if r["transport"] == transport and r["rate"] == rate
        )
        for rate in rates
    }


async def main_async(workdir: Path, args: argparse.Namespace) -> int:
    started = time.monotonic()
    info = machine_info()
    runs = await measure(workdir, args)
    transports = (["base"] if args.base else []) + args.transports.split(",")
    rates = [float(r) for r in args.rates.split(",")]
    lines = [run_header(info, started), *summary(runs, transports, rates)]
    print("\n".join(lines))
    path = save_results("ingest-cost", {"machine": info, "runs": runs, "summary": lines})
    print(f"results: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rates", default="100,1000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--transports", default="grpc,h2")
    parser.add_argument(
        "--base",
        help="also run the proxy of this checkout (e.g. `git worktree add /tmp/wt 2051d48`"
        " plus its generated modules) as the 'base' transport",
    )
    parser.add_argument(
        "--no-watchers", action="store_true", help="no watch open: ingest alone, no delivery"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.base = Path(args.base).resolve() if args.base else None
    return run_in_workdir("ingest-cost-", lambda wd: main_async(wd, args), keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
