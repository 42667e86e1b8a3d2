"""The tables, the fit and the projection of `python -m bench.big_cluster` (markdown).

Fits (bench/big_cluster_plan.fit_linear, least squares; `fits` says which): proxy cores over
every window of every size against the Lease PUTs and pod writes done in it and the nodes (the
windows separate the writes; pods and watches grow with nodes, so "nodes" carries both); RSS
with the cache against pods; RSS added by the watches against watches.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.big_cluster_plan import BigSize, Fit, fit_linear

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks-big-cluster.md"
CORE_BUDGET = 0.8  # of the one core a proxy process (one event loop) can use


def _ms(g: dict[str, Any] | None, key: str) -> str:
    return "-" if g is None or math.isnan(g.get(key, math.nan)) else f"{g[key]:.1f}"


def tables(sizes: list[dict[str, Any]]) -> str:
    load = [
        "| nodes | pods | watches (connections) | pod writes/s | Lease PUTs/s | CM/Secret "
        "writes/s | delivered / expected | lost | bad watchers | kubelet pods p50 / p99 ms | "
        "controllers p50 / p99 ms | CM/Secret p99 ms | Lease PUT p50 / p99 ms |",
        "|" + " --- |" * 13,
    ]
    cost = [
        "| nodes | proxy CPU idle / +leases / full (cores) | proxy RSS cache / +watches / busy "
        "(MB) | client CPU max per process / sum (cores) | Lease client (cores) | seed / proxy "
        "start / connect (s) |",
        "|" + " --- |" * 6,
    ]
    for r in sizes:
        g = r["groups"]
        kp, ct, ob = g.get("kubelet-pods"), g.get("controllers"), g.get("kubelet-objects")
        le = r["leases"]
        load.append(
            f"| {r['nodes']:,} | {r['pods']:,} | {r['watches']:,} ({r['connections']:,}) | "
            f"{r['pod_write_rate']:.0f} | {le['rate']:.0f} | {r['object_write_rate']:.0f} | "
            f"{r['delivered']:,} / {r['expected']:,} | {r['lost']} | {r['bad_watchers']} | "
            f"{_ms(kp, 'p50_ms')} / {_ms(kp, 'p99_ms')} | {_ms(ct, 'p50_ms')} / "
            f"{_ms(ct, 'p99_ms')} | {_ms(ob, 'p99_ms')} | {le['p50_ms']:.1f} / "
            f"{le['p99_ms']:.1f} |"
        )
        cost.append(
            f"| {r['nodes']:,} | {r['cpu_idle_cores']:.2f} / {r['cpu_leases_cores']:.2f} / "
            f"{r['cpu_full_cores']:.2f} | {r['rss_cache_mb']:.0f} / {r['rss_watches_mb']:.0f} / "
            f"{r['rss_busy_mb']:.0f} | {r['client_cores_max']:.2f} / {r['client_cores_sum']:.2f}"
            f" | {r['lease_client_cores']:.2f} | {r['seed_s']:.0f} / {r['proxy_start_s']:.0f} / "
            f"{r['connect_s']:.0f} |"
        )
    return "\n".join(load) + "\n\n" + "\n".join(cost)


def windows(sizes: list[dict[str, Any]]) -> tuple[list[list[float]], list[float]]:
    """Every measured window as ([lease PUTs/s done, pod writes/s, nodes], proxy cores): idle,
    leases-only and full, per size. The rates are what was achieved in the window: when the
    proxy saturates, renewals are skipped and the cores measure the work it did."""
    xs: list[list[float]] = []
    ys: list[float] = []
    for r in sizes:
        n = float(r["nodes"])
        xs += [[0.0, 0.0, n], [r["lease_rate_leases_window"], 0.0, n],
               [r["lease_rate_full_window"], r["pod_write_rate"], n]]
        ys += [r["cpu_idle_cores"], r["cpu_leases_cores"], r["cpu_full_cores"]]
    return xs, ys


def fits(sizes: list[dict[str, Any]]) -> dict[str, Fit]:
    """"cpu": proxy cores = a + b x lease PUTs/s + c x pod writes/s + d x nodes over every
    window of every size (b, c: CPU seconds per write; d: the cost of a node's watches, pods and
    objects at rest). "cpu_nodes": the full window's cores against nodes alone. "rss_cache":
    RSS with the cache against pods; "rss_watches": RSS the watches added against watches.
    Empty with fewer than two sizes."""
    if len({r["nodes"] for r in sizes}) < 2:
        return {}

    def col(key: str) -> list[list[float]]:
        return [[float(r[key])] for r in sizes]

    xs, ys = windows(sizes)
    return {
        "cpu": fit_linear(["lease PUTs/s", "pod writes/s", "nodes"], xs, ys),
        "cpu_nodes": fit_linear(["nodes"], col("nodes"), [r["cpu_full_cores"] for r in sizes]),
        "rss_cache": fit_linear(["pods"], col("pods"), [r["rss_cache_mb"] for r in sizes]),
        "rss_watches": fit_linear(["watches"], col("watches"),
                                  [r["rss_watches_mb"] - r["rss_cache_mb"] for r in sizes]),
    }


def cores_at(f: dict[str, Fit], nodes: float, pod_writes: float) -> float:
    """Projected proxy cores at `nodes` (N/10 lease PUTs/s) and `pod_writes` per second."""
    return f["cpu"].predict([nodes / 10.0, pod_writes, nodes])


def reachable(f: dict[str, Fit], pod_writes: float, budget: float = CORE_BUDGET) -> int:
    """The largest node count whose projected proxy cores stay within `budget` (bisection)."""
    lo, hi = 0, 1_000_000
    if cores_at(f, hi, pod_writes) <= budget:
        return hi
    while hi - lo > 50:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if cores_at(f, mid, pod_writes) <= budget else (lo, mid)
    return lo


def rss_at(f: dict[str, Fit], nodes: int) -> float:
    size = BigSize(nodes=nodes)
    return f["rss_cache"].predict([size.pods]) + f["rss_watches"].predict([size.watches])


def fit_text(sizes: list[dict[str, Any]]) -> str:
    f = fits(sizes)
    if not f:
        return "Fewer than two sizes measured: no fit."
    cpu = f["cpu"]
    per_lease, per_write, per_node = cpu.coefs
    lines = [
        "| quantity | fit (least squares) | residuals |",
        "| --- | --- | --- |",
        f"| proxy cores, every window ({len(cpu.residuals)}) | {cpu.intercept:.3f} + "
        f"{per_lease * 1e6:.0f} µs x lease PUTs/s + {per_write * 1e6:.0f} µs x pod writes/s + "
        f"{per_node * 1e3:.3f} cores per 1,000 nodes | "
        + ", ".join(f"{x:.2f}" for x in cpu.residuals) + " |",
        f"| proxy cores, full window, against nodes | {f['cpu_nodes'].intercept:.3f} + "
        f"{f['cpu_nodes'].coefs[0] * 1e3:.3f} per 1,000 nodes | "
        + ", ".join(f"{x:.2f}" for x in f["cpu_nodes"].residuals) + " |",
    ]
    for label, key in (("proxy RSS with the cache", "rss_cache"),
                       ("proxy RSS of the watches", "rss_watches")):
        fit = f[key]
        lines.append(f"| {label} | {fit.intercept:.0f} MB + {fit.coefs[0] * 1024:.2f} KB x "
                     f"{fit.names[0]} | " + ", ".join(f"{x:.0f}" for x in fit.residuals) + " |")
    proj = [
        "",
        f"Projection from the window fit (one proxy process, budget {CORE_BUDGET} of its one "
        "core; per node 30 pods, 5 watches and a Lease renewed every 10 s; 20 controllers):",
        "",
        "| pod writes/s | nodes within budget | pods | watches | projected proxy RSS (GB) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for w in (200, 500, 1000):
        n = reachable(f, w)
        proj.append(f"| {w} | {n:,} | {30 * n:,} | {5 * n + 20:,} | {rss_at(f, n) / 1024:.1f} |")
    return "\n".join(lines + proj)


def report(results: dict[str, Any], header: str) -> str:
    sizes = results["sizes"]
    if not sizes:
        return f"{header}\n\nNo size finished."
    return (f"{header}\n\n{tables(sizes)}\n\n{fit_text(sizes)}\n")


BEGIN, END = "<!-- big-cluster:begin -->", "<!-- big-cluster:end -->"


def write_docs(text: str, header: str) -> None:
    """docs/benchmarks-big-cluster.md (the section the lead merges into docs/benchmarks.md):
    the measured part goes between the BEGIN/END markers; the prose around them is kept."""
    body = f"{BEGIN}\n{text}\n{END}"
    old = DOC.read_text() if DOC.exists() else ""
    if BEGIN in old and END in old:
        new = old[: old.index(BEGIN)] + body + old[old.index(END) + len(END) :]
    else:
        new = (
            "## A 10,000-node cluster on one 2-core box (issue 10)\n\n"
            "`python -m bench.big_cluster --docs` regenerates the part between the markers.\n\n"
            + body + "\n"
        )
    DOC.write_text(new)
