"""The targets check: each target of issue 10 (and of the issues before it) with the figure
measured in this run and whether it is met, so `make bench` ends with one table.

A target whose stage did not run says "not measured" and how to measure it; nothing is
inferred from another run. Figures are the medians the stages report.
"""

from __future__ import annotations

from typing import Any

from bench.tables import find, fmt, problems

NOT_MEASURED = "not measured"
# Proxy cores at which one process counts as saturated in the workers scenario.
SATURATED_CORES = 0.9


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _row(target: str, measured: str | None, ok: bool | None, how: str = "") -> list[str]:
    if measured is None or ok is None:
        return [target, f"not run here{': ' + how if how else ''}", NOT_MEASURED]
    return [target, measured, _met(ok)]


def _lost(run: dict[str, Any]) -> int:
    return sum(
        int(g.get("lost", 0)) + int(g.get("duplicates", 0)) + int(g.get("out_of_order", 0))
        for g in run["groups"].values()
    ) + int(run.get("ready_failed", 0))


def _p99(run: dict[str, Any]) -> float:
    return max(float(g["p99_ms"]) for g in run["groups"].values())


def targets(results: dict[str, Any]) -> list[list[str]]:
    """Issue 10's targets: [target, measured, met | not met | not measured] rows."""
    rows: list[list[str]] = []
    moderate = find(results, "moderate", "watchproxy", "moderate")
    if moderate is not None:
        us = float(moderate["server_cpu_s_per_m"])
        lost = _lost(moderate)
        rows.append(_row(
            "moderate rate (50 kubelets + 100 controllers, 300 writes/s), HTTP/1.1: ≤ 5 µs proxy "
            "CPU per delivery, p99 ≤ 50 ms, none lost",
            f"{fmt(us, 2)} µs/delivery, p99 {fmt(_p99(moderate))} ms, "
            f"{fmt(moderate['deliveries'])} delivered, stream check {problems(moderate)}",
            us <= 5 and _p99(moderate) <= 50 and lost == 0 and moderate["correct"],
        ))
    else:
        rows.append(_row("moderate rate, HTTP/1.1: ≤ 5 µs per delivery", None, None,
                         "--only moderate"))
    serving = results.get("serving")
    if serving:
        for mode, figures in serving["modes"].items():
            rows.append(_row(
                f"moderate rate served as `{mode}` (bench.http2): ≤ 5 µs proxy CPU per delivery, "
                "all delivered",
                f"{fmt(figures['cpu_us_per_delivery'], 2)} µs/delivery "
                f"({figures['runs']} run{'s' if figures['runs'] != 1 else ''}, median), "
                f"{fmt(figures['delivered'])}/"
                f"{fmt(figures['expected'])} delivered",
                figures["cpu_us_per_delivery"] <= 5 and figures["complete"],
            ))
    else:
        rows.append(_row("moderate rate over TLS + HTTP/2: ≤ 5 µs per delivery", None, None,
                         "--only serving"))
    best = None
    for r in results.get("watch", []):
        # The `controllers` stage only: the `workers` runs have their own row, and their one
        # process is not what this target measures (review finding: it was picked when better).
        if r["backend"] == "watchproxy" and r["scenario"] == "controllers":
            v = r["deliveries_per_server_cpu_s"]
            if best is None or v > best["deliveries_per_server_cpu_s"]:
                best = r
    if best is not None:
        v = best["deliveries_per_server_cpu_s"]
        rows.append(_row(
            "saturation: ≥ 500,000 deliveries per proxy CPU-second",
            f"{fmt(v, 0)} per CPU-s ({best['scenario']} {best['label']}: "
            f"{fmt(best['deliveries_per_s'], 0)} deliveries/s on "
            f"{fmt(best['server_cpu_s'] / best['window_s'], 2)} cores)",
            v >= 500_000,
        ))
    else:
        rows.append(_row("saturation: ≥ 500,000 deliveries per proxy CPU-second", None, None,
                         "--only controllers"))
    rows += _write_rows(results)
    rows += _list_rows(results)
    rows += _memory_rows(results)
    rows += _ingest_rows(results)
    rows += _workers_rows(results)
    rows += _big_cluster_rows(results)
    return rows


def _write_rows(results: dict[str, Any]) -> list[list[str]]:
    write = results.get("write")
    if not write:
        return [_row("write path: ≤ 250 µs proxy CPU per pod status patch", None, None,
                     "--only write (bench.write_cost)")]
    verbs: dict[str, Any] = write["verbs"]
    patch = verbs.get("patch-status-merge")
    others = ", ".join(f"{verb} {fmt(v['cpu_us'], 0)}" for verb, v in verbs.items())
    return [_row(
        "write path: ≤ 250 µs proxy CPU per pod status merge patch",
        f"{fmt(patch['cpu_us'], 0) if patch else '-'} µs, including the ingest of the write's "
        f"own etcd event (all verbs, µs/request: {others})",
        patch is not None and patch["cpu_us"] <= 250,
    )]


def _list_rows(results: dict[str, Any]) -> list[list[str]]:
    lst = results.get("list")
    if not lst:
        return [_row("LIST ≥ 10x etcd Range + decode", None, None, "--only list")]
    parts = {"RV=0": lst["speedup_rv0"], "consistent": lst["speedup_consistent"],
             "paginated": lst["speedup_paged"]}
    return [_row(
        f"LIST of {lst['pods']:,} pods ≥ 10x etcd Range + decode (RV=0, consistent, paginated)",
        ", ".join(f"{k} {fmt(v)}x" for k, v in parts.items())
        + " (paginated: against etcd's own pages of the same limit + decode; the LIST table "
        "compares every row with one unpaged Range)",
        min(parts.values()) >= 10,
    )]


def _memory_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, mode in (("memory_probe", "WatchList"),
                      ("memory_probe_resume", "watch from resourceVersion")):
        probe = results.get(key)
        if probe:
            v = probe["per_watcher_kb_marginal"]
            rows.append(_row(
                f"idle watcher ≤ 10 KB ({probe['mode']})",
                f"{fmt(v)} KB marginal over {probe['watchers']:,} kubelet watches",
                v <= 10,
            ))
        else:  # the quick run probes one start mode only (QUICK.watchlist_probe)
            rows.append(_row(f"idle watcher ≤ 10 KB ({mode})", None, None,
                             "--full (--only kubelets)"))
    mem = results.get("memory")
    if mem and mem.get("pod_value_bytes"):
        per = float(mem["per_object_kb_live"]) * 1024
        size = float(mem["pod_value_bytes"])
        rows.append(_row(
            "a cached object ≤ 2x its encoded size (cache + history, RSS)",
            f"{fmt(per / 1024, 2)} KB of RSS per {fmt(size / 1024, 2)} KB pod = "
            f"{fmt(per / size, 2)}x",
            per / size <= 2,
        ))
    else:
        rows.append(_row("a cached object ≤ 2x its encoded size", None, None, "--only kubelets"))
    return rows


def _ingest_rows(results: dict[str, Any]) -> list[list[str]]:
    ingest = results.get("ingest")
    if not ingest:
        return [_row("ingest ≤ 100 µs CPU per etcd event", None, None,
                     "--only ingest (bench.ingest_cost)")]
    by_rate: dict[float, float] = {float(k): float(v) for k, v in ingest["us_per_event"].items()}
    return [_row(
        "ingest ≤ 100 µs proxy CPU per etcd event at low fan-out (one delivery per event)",
        ", ".join(f"{fmt(us, 0)} µs/event at {rate:,.0f} events/s" for rate, us in
                  sorted(by_rate.items())),
        bool(by_rate) and max(by_rate.values()) <= 100,
    )]


def _workers_rows(results: dict[str, Any]) -> list[list[str]]:
    one = find(results, "workers", "watchproxy", "1 process")
    two = find(results, "workers", "watchproxy", "2 processes")
    if one is None or two is None:
        return [_row("`serve --workers 2` ≥ 1.8x one process's delivery throughput", None, None,
                     "--only workers")]
    ratio = two["deliveries_per_s"] / one["deliveries_per_s"] if one["deliveries_per_s"] else 0
    one_cores = one["server_cpu_s"] / one["window_s"] if one["window_s"] else 0.0
    # A ratio means something only if one process was the bottleneck: near a whole core.
    saturated = one_cores >= SATURATED_CORES
    why = "" if saturated else (
        f"; one process used {fmt(one_cores, 2)} cores, so it was not the bottleneck (the "
        "writer, etcd and the clients share the 2 cores): this box cannot show the scaling"
    )
    return [_row(
        "`serve --workers 2` ≥ 1.8x one process's delivery throughput (saturating load)",
        f"{fmt(two['deliveries_per_s'], 0)} vs {fmt(one['deliveries_per_s'], 0)} deliveries/s = "
        f"{ratio:.2f}x (proxy cores {fmt(two['server_cpu_s'] / two['window_s'], 2)} vs "
        f"{fmt(one_cores, 2)}); stream checks: one process {problems(one)}, two "
        f"{problems(two)}{why}",
        ratio >= 1.8 and one["correct"] and two["correct"],
    )]


def _big_cluster_rows(results: dict[str, Any]) -> list[list[str]]:
    big = results.get("big_cluster")
    if not big or not big.get("sizes"):
        return [_row("10,000-node cluster on one box: p99 ≤ 100 ms, none lost", None, None,
                     "python -m bench.big_cluster")]
    rows = []
    for size in big["sizes"]:
        p99 = max(float(g["p99_ms"]) for g in size["groups"].values())
        lost = int(size.get("lost", 0)) + int(size.get("ready_failed", 0))
        rows.append(_row(
            f"{size['nodes']:,}-node cluster, {size['pods']:,} pods, {size['watches']:,} watch "
            "streams (p99 ≤ 100 ms, none lost; the target is at 10,000 nodes)",
            f"p99 {fmt(p99)} ms, lost {lost} (watches refused {size.get('ready_failed', 0)}), "
            f"Lease PUTs/s {fmt(size.get('lease_rate_full_window'), 0)}, proxy "
            f"{fmt(size.get('cpu_full_cores'), 2)} cores, RSS {fmt(size.get('rss_busy_mb'), 0)} MB",
            p99 <= 100 and lost == 0 and bool(size.get("correct")),
        ))
    return rows


def earlier_targets(results: dict[str, Any]) -> list[list[str]]:
    """The targets of the first issues (kubelet latency, controller throughput, memory per
    watcher, LIST, one etcd watch per shard, coalesced consistent reads)."""
    rows: list[list[str]] = []
    sizes = results["sizes"]
    big = max(sizes["kubelet_sweep"])
    run = find(results, "kubelets", "watchproxy", f"sweep N={big}")
    if run is not None:
        k = run["groups"]["kubelets"]
        dropped = sum(g["ended_early"] for g in run["groups"].values()) + run["ready_failed"]
        ok = k["p99_ms"] <= 50 and dropped == 0 and run["correct"]
        rows.append([
            "kubelets: 2,000 watchers, 500 writes/s, +20 controllers: p99 ≤ 50 ms, none dropped",
            f"{fmt(k['watchers'])} kubelets, {fmt(run['rate_achieved'], 0)} writes/s, "
            f"+{run['groups_spec'].get('controllers', 0)} controllers: p99 {fmt(k['p99_ms'])} ms, "
            f"{dropped} dropped, stream check {problems(run)}",
            fmt(ok),
        ])
    best = None
    for r in results["watch"]:
        if r["scenario"] == "controllers" and r["backend"] == "watchproxy":
            v = r["deliveries_per_server_cpu_s"]
            if best is None or v > best["deliveries_per_server_cpu_s"]:
                best = r
    if best is not None:
        v = best["deliveries_per_server_cpu_s"]
        rows.append([
            "controllers: ≥ 200,000 deliveries/s per proxy core",
            f"{fmt(v, 0)} deliveries per proxy CPU-second ({best['label']}: "
            f"{fmt(best['deliveries_per_s'], 0)} deliveries/s using "
            f"{fmt(best['server_cpu_s'] / best['window_s'], 2)} cores)",
            fmt(v >= 200_000),
        ])
    for key in ("memory_probe", "memory_probe_resume"):
        probe = results.get(key)
        if probe:
            v = probe["per_watcher_kb_marginal"]
            rows.append([
                f"≤ 20 KB proxy memory per idle watcher ({probe['mode']})",
                f"{fmt(v)} KB marginal ({fmt(probe['per_watcher_kb_average'])} KB average) over "
                f"{probe['watchers']:,} kubelet watches on a fresh proxy",
                fmt(v <= 20),
            ])
    lst = results.get("list")
    if lst:
        rows.append([
            f"LIST of {lst['pods']:,} pods from cache ≥ 10x faster than etcd range+decode",
            f"RV=0 {fmt(lst['speedup_rv0'])}x, consistent {fmt(lst['speedup_consistent'])}x, "
            f"paginated {fmt(lst['speedup_paged'])}x",
            fmt(min(lst["speedup_rv0"], lst["speedup_consistent"]) >= 10),
        ])
    expected = results.get("expected_etcd_watchers")
    # One process (the `serve --workers 2` run holds one watch per shard per process).
    wp = [
        r
        for r in results["watch"]
        if r["backend"] == "watchproxy" and r["label"] != "2 processes"
    ]
    if wp:
        seen = sorted({int(r["etcd_watchers_max"]) for r in wp})
        ok = expected is not None and seen == [expected]
        rows.append([
            "etcd: one watch per shard whatever the number of clients and resources",
            f"etcd watchers with 0 clients: {fmt(results.get('etcd_watchers_no_clients'), 0)}; "
            f"during runs of {min(r['watchers'] for r in wp)}-{max(r['watchers'] for r in wp)} "
            f"watchers: {seen} (one per shard for {len(results.get('resources', [])) or '?'} "
            f"resources = {expected})",
            fmt(ok),
        ])
    if lst:
        co = lst["coalescing"]
        ok = co["ranges_per_list_concurrent"] < 1 and co["ranges_per_list_sequential"] <= 1.0
        rows.append([
            "≤ 1 small etcd request per consistent LIST, coalesced across concurrent LISTs",
            f"{fmt(co['ranges_per_list_sequential'], 2)} per LIST sequential, "
            f"{fmt(co['ranges_per_list_concurrent'], 2)} per LIST with {co['concurrent_lists']} "
            "concurrent",
            fmt(ok),
        ])
    return rows
