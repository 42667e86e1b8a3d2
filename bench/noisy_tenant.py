"""Noisy tenant (issue 8, docs/benchmarks.md "Noisy tenant"): one tenant's user floods LISTs of
all its pods; another tenant's user does small GETs. Flow control off, then on, in one run:

    .venv/bin/python -m bench.noisy_tenant [--pods 20000] [--flooders 50] [--seconds 20]
        [--get-interval 0.02] [--repeat 1] [--keep]

Two etcd shards, `--pods` pods (bench/model.py: half in tenant `ta` on shard-a, half in `tb`
on shard-b) written straight into etcd. Token authentication (bench tokens file) with
`AlwaysAllow` authorization and the tenants' subjects: `ta-user` belongs to tenant ta,
`tb-user` to tb, so each sees its own tenant only (plain HTTP on loopback).

Per mode (`off`: `flow_control.enabled: false`; `on`: the defaults, kube's levels and schemas):
one `watchproxy serve` is started and waited for; then `--seconds` of flood: `--flooders`
concurrent loops of `GET /api/v1/pods` as ta-user (a consistent LIST of ~pods/2 objects, body
read at once), in a child process; meanwhile this process GETs one tb pod as tb-user every
`--get-interval` seconds (the *victim*), each on a kept-alive connection. Figures: the victim's
p50/p99/max latency and errors, the flood's LISTs completed and 429s, and the proxy's CPU seconds
over the flood. Results also go to `bench/results/noisy-tenant-<time>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.child import run_child
from bench.cluster import Cluster, raise_fd_limit, run_in_workdir
from bench.model import Population
from bench.relist_storm import Probe, probe_loop, seed
from bench.runinfo import machine_info, run_header, save_results
from watchproxy.etcd.client import EtcdClient

MODES: Final = ("off", "on")
USERS: Final = ("ta-user", "tb-user", "admin")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    import os

    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settings(mode: str, token_file: Path) -> dict[str, Any]:
    return {
        "authentication": {"token_auth_file": str(token_file)},
        "authorization": {"modes": ["AlwaysAllow"]},
        "tenants": [
            {
                "name": "ta",
                "shard": "shard-a",
                "namespaces": ["ta-*"],
                "subjects": {"users": ["ta-user"]},
            },
            {
                "name": "tb",
                "shard": "shard-b",
                "namespaces": ["tb-*"],
                "subjects": {"users": ["tb-user"]},
            },
        ],
        "flow_control": {"enabled": mode == "on"},
    }


async def wait_cached(url: str, count: int, token: str, limit_s: float = 300.0) -> None:
    """Until /debug/stats (as the admin) shows `count` pods cached."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + limit_s
    async with aiohttp.ClientSession(headers=headers) as session:
        while time.monotonic() < deadline:
            async with session.get(url + "/debug/stats") as r:
                stats = await r.json() if r.status == 200 else {}
            if stats.get("resources", {}).get("pods", {}).get("objects", 0) >= count:
                return
            await asyncio.sleep(0.25)
    raise RuntimeError(f"proxy did not cache {count} pods within {limit_s:.0f} s")


# -- the flood (child process) ---------------------------------------------------------------


async def _flood(url: str, token: str, flooders: int, seconds: float) -> dict[str, Any]:
    counts: dict[str, int] = {"ok": 0, "429": 0, "other": 0, "bytes": 0}
    end = time.monotonic() + seconds
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}

    async def loop(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < end:
            try:
                async with session.get(url) as r:
                    body = await r.read()
                    counts["bytes"] += len(body)
                    if r.status == 200:
                        counts["ok"] += 1
                    elif r.status == 429:
                        counts["429"] += 1
                        # As client-go does: wait Retry-After (capped by the run's end).
                        delay = float(r.headers.get("Retry-After", "1"))
                        await asyncio.sleep(min(delay, max(0.0, end - time.monotonic())))
                    else:
                        counts["other"] += 1
            except (aiohttp.ClientError, TimeoutError, OSError):
                counts["other"] += 1

    timeout = aiohttp.ClientTimeout(total=seconds + 60)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=flooders), headers=headers, timeout=timeout
    ) as session:
        await asyncio.gather(*(loop(session) for _ in range(flooders)))
    return counts


def flood_child(url: str, token: str, flooders: int, seconds: float, conn: Any) -> None:
    raise_fd_limit()
    try:
        import uvloop

        conn.send(uvloop.run(_flood(url, token, flooders, seconds)))
    except BaseException as exc:  # reported to the parent waiting on the pipe
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


# -- one mode ----------------------------------------------------------------------------------


async def run_mode(
    mode: str, cluster: Cluster, token_file: Path, tokens: dict[str, str], pop: Population,
    args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    cluster.start_proxy(**_settings(mode, token_file))
    proxy = cluster.proxy
    assert proxy is not None
    await wait_cached(proxy.url, pop.pods, tokens["admin"])
    victim = next(i for i in range(pop.pods) if pop.pod_namespace(i).startswith("tb-"))
    url = f"{proxy.url}/api/v1/namespaces/{pop.pod_namespace(victim)}/pods/{pop.pod_name(victim)}"
    probe = Probe("tb GET")
    stop = asyncio.Event()
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        timeout=aiohttp.ClientTimeout(total=30),
        headers={"Accept": "application/json", "Authorization": f"Bearer {tokens['tb-user']}"},
    )
    task = asyncio.create_task(probe_loop(session, url, probe, args.get_interval, stop))
    t_quiet = time.monotonic()
    await asyncio.sleep(3.0)
    cpu0 = _cpu_seconds(proxy.pid)
    t_flood = time.monotonic()
    flood = await run_child(
        flood_child,
        (proxy.url + "/api/v1/pods", tokens["ta-user"], args.flooders, args.seconds),
        args.seconds + 120,
    )
    t_end = time.monotonic()
    cpu = _cpu_seconds(proxy.pid) - cpu0
    stop.set()
    await task
    await session.close()
    cluster.stop_proxy()
    return {
        "victim_quiet": probe.summary(t_quiet, t_flood),
        "victim_flood": probe.summary(t_flood, t_end),
        "flood": flood,
        "flood_s": t_end - t_flood,
        "proxy_cpu_s": cpu,
    }


def report(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| flow control | victim GET p50 ms | p99 ms | max ms | victim errors |"
        " flood LISTs ok | flood 429 | proxy CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for mode in MODES:
            r = run[mode]
            v = r["victim_flood"]
            lines.append(
                f"| {mode} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} | {v['max_ms']:.0f} |"
                f" {v['status_429'] + v['other_errors']} | {r['flood']['ok']} |"
                f" {r['flood']['429']} | {r['proxy_cpu_s']:.1f} |"
            )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    info = machine_info()
    pop = Population(nodes=max(2, min(1000, args.pods // 20)), pods=args.pods)
    tokens = {u: secrets.token_urlsafe(24) for u in USERS}
    token_file = workdir / "tokens.csv"
    token_file.write_text(
        "".join(
            f'{tok},{user},uid-{user},"{"system:masters" if user == "admin" else ""}"\n'
            for user, tok in tokens.items()
        )
    )
    cluster = Cluster(workdir)
    clients: list[EtcdClient] = []
    runs: list[dict[str, Any]] = []
    try:
        cluster.start_etcd()
        clients = [EtcdClient([ep], name=f"noisy-{i}") for i, ep in enumerate(cluster.endpoints)]
        n = await seed(clients, pop)
        print(f"seeded {n} objects ({pop.pods} pods)", flush=True)
        for i in range(args.repeat):
            run: dict[str, Any] = {}
            for mode in MODES:
                run[mode] = await run_mode(mode, cluster, token_file, tokens, pop, args)
                v = run[mode]["victim_flood"]
                print(
                    f"[{time.monotonic() - started:5.0f}s] set {i + 1} flow control {mode}:"
                    f" victim p99 {v['p99_ms']:.1f} ms, max {v['max_ms']:.0f} ms;"
                    f" flood {run[mode]['flood']}",
                    flush=True,
                )
            runs.append(run)
    finally:
        for client in clients:
            await client.close()
        cluster.close()
    print(
        f"\n{run_header(info, started)}; {args.pods} pods, {args.flooders} flooders x"
        f" {args.seconds:g} s, victim every {args.get_interval:g} s\n\n{report(runs)}"
    )
    path = save_results("noisy-tenant", {"machine": info, "args": vars(args), "runs": runs})
    print(f"results: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.noisy_tenant", description=__doc__)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--flooders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--get-interval", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    return run_in_workdir("noisy-tenant-", lambda w: main_async(args, w), keep=args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
