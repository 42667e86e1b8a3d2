"""Markdown tables and the latency plot from one run's results (targets: bench/targets.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.tables import find as _find
from bench.tables import fmt as _f
from bench.tables import problems as _problems
from bench.tables import ratio as _ratio
from bench.tables import table as _table
from bench.targets import earlier_targets, targets

BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"


def sweep_table(results: dict[str, Any]) -> str:
    rows = []
    for run in results["watch"]:
        if run["scenario"] != "kubelets" or run["backend"] != "watchproxy":
            continue
        k = run["groups"].get("kubelets", {})
        c = run["groups"].get("controllers")
        rows.append([
            run["label"],
            _f(k.get("watchers", 0)),
            _f(c["watchers"]) if c else "0",
            f"{_f(run['rate_achieved'], 0)}/{_f(run['rate_target'], 0)}",
            f"{_f(k.get('p50_ms'))} / {_f(k.get('p99_ms'))} / {_f(k.get('max_ms'))}",
            f"{_f(c['p50_ms'])} / {_f(c['p99_ms'])} / {_f(c['max_ms'])}" if c else "-",
            _f(run["deliveries_per_s"], 0),
            _f(run["server_cpu_s_per_m"]),
            f"{_f(run['rss_idle_mb'], 0)} / {_f(run['rss_busy_mb'], 0)}",
            _f(run["etcd_watchers_max"], 0),
            _f(run["etcd_ranges_connect"] + run["etcd_ranges_live"], 0),
            _f(run["connect_s"]),
            _f(run["client_cpu_s"]),
            _gc(run),
            _problems(run),
        ])
    return _table(
        ["run", "kubelets", "controllers", "writes/s (got/target)",
         "kubelet p50 / p99 / max ms", "controller p50 / p99 / max ms", "deliveries/s",
         "proxy CPU s per M deliveries", "proxy RSS MB idle / busy", "etcd watchers",
         "etcd Ranges", "connect s", "client CPU s", "proxy full GCs / longest GC ms",
         "stream check"],
        rows,
    )


def _gc(run: dict[str, Any]) -> str:
    """Full collections and the longest pause in the window, per repeat (bench --gc-log)."""
    runs = run.get("runs") or [run]
    parts = [f"{r['gc']['gen2']:.0f} / {r['gc']['max_ms']:.0f}" for r in runs if r.get("gc")]
    return ", ".join(parts) if parts else "-"


def peer_table(results: dict[str, Any], scenario: str) -> str:
    base = _find(results, scenario, "watchproxy", "peer size")
    rows = []
    for backend in ("watchproxy", "etcd", "grpc-proxy"):
        run = _find(results, scenario, backend, "peer size")
        if run is None:
            continue
        g = next(iter(run["groups"].values()))
        ratio = backend != "watchproxy" and base is not None
        bg = next(iter(base["groups"].values())) if base is not None else {}
        rows.append([
            backend,
            _f(run["watchers"]),
            _f(run["rate_achieved"], 0),
            f"{_f(g['p50_ms'])} / {_f(g['p99_ms'])} / {_f(g['max_ms'])}",
            _f(run["deliveries_per_s"], 0),
            _f(run["server_cpu_s_per_m"]),
            _f(run["etcd_cpu_s_per_m"]),
            _f(run["etcd_watchers_max"], 0),
            _f(run["etcd_ranges_connect"] + run["etcd_ranges_live"], 0),
            _f(run["etcd_bytes_per_write"] / 1024),
            _f(run["etcd_msgs_sent_live"] / max(run["writes"], 1)),
            _f(run["client_cpu_s"]),
            _problems(run),
            (f"p50 {_ratio(bg['p50_ms'], g['p50_ms'])}, p99 {_ratio(bg['p99_ms'], g['p99_ms'])}, "
             f"server CPU {_ratio(base['server_cpu_s_per_m'], run['server_cpu_s_per_m'])}, "
             f"etcd CPU {_ratio(base['etcd_cpu_s_per_m'], run['etcd_cpu_s_per_m'])}, "
             f"etcd bytes {_ratio(base['etcd_bytes_per_write'], run['etcd_bytes_per_write'])}, "
             f"etcd watches {_ratio(base['etcd_watchers_max'], run['etcd_watchers_max'])}")
            if ratio and base is not None else "baseline",
        ])
    return _table(
        ["backend", "watchers", "writes/s", "p50 / p99 / max ms", "deliveries/s",
         "server CPU s per M deliveries", "etcd CPU s per M deliveries", "etcd watchers",
         "etcd Ranges", "etcd KB sent per write", "etcd msgs per write", "client CPU s",
         "stream check", "watchproxy / peer"],
        rows,
    )


def extra_table(results: dict[str, Any]) -> str:
    rows = []
    for run in results["watch"]:
        if run["backend"] != "watchproxy" or run["label"] in ("peer size",) or (
            run["scenario"] == "kubelets" and run["label"].startswith("sweep")
        ):
            continue
        for name, g in run["groups"].items():
            rows.append([
                f"{run['scenario']} ({run['label']})", name, _f(g["watchers"]),
                _f(run["rate_achieved"], 0),
                f"{_f(g['p50_ms'])} / {_f(g['p99_ms'])} / {_f(g['max_ms'])}",
                _f(run["deliveries_per_s"], 0), _f(run["server_cpu_s_per_m"]),
                _f(run["deliveries_per_server_cpu_s"], 0),
                _f(run["rss_per_watcher_idle_kb"]), _f(g.get("initial_sync_s_max")),
                _gc(run), _problems(run),
            ])
    return _table(
        ["run", "group", "watchers", "writes/s", "p50 / p99 / max ms", "deliveries/s",
         "proxy CPU s per M", "deliveries per proxy CPU-s", "RSS KB/watcher idle",
         "initial sync max s", "proxy full GCs / longest GC ms", "stream check"],
        rows,
    )


def list_table(results: dict[str, Any]) -> str:
    lst = results.get("list")
    if not lst:
        return "_LIST not run._"
    med = lst["median_s"]
    base = med["etcd range+decode"]
    rows = [
        [name, _f(v * 1000, 0), _f(base / v) + "x" if v else "-", str(lst["info"].get(name, ""))]
        for name, v in med.items()
    ]
    co = lst["coalescing"]
    return (
        _table(["LIST of all pods", "median ms", "speed-up vs etcd range+decode",
                "body bytes / pages / etcd requests"], rows)
        + "\n\n"
        + f"etcd Range requests per consistent LIST (all pods, 2 shards): "
        f"{_f(lst['etcd_ranges_per_consistent_list'])}; "
        f"small consistent LISTs: {_f(co['ranges_per_list_sequential'], 2)} Range/LIST one at "
        f"a time, {_f(co['ranges_per_list_concurrent'], 2)} Range/LIST with "
        f"{co['concurrent_lists']} concurrent ({_f(co['concurrent_ranges'], 0)} Ranges for "
        f"{co['concurrent_lists']} LISTs, {co['concurrent_errors']} errors)."
    )


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    s = results["sizes"]
    mem = results.get("memory", {})
    dirty = " (with uncommitted changes)" if m.get("watchproxy_dirty") else ""
    out = [
        f"### Run: `{s['name']}` — {m['date']}",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, {m['etcd']}; watchproxy at commit "
        f"`{m.get('watchproxy_commit', '?')}`{dirty}; "
        f"load average at start {' '.join(m['load_avg_start'])}, at end "
        f"{' '.join(m.get('load_avg_end', ['?']))}. "
        f"Population: {s['nodes']:,} nodes, {s['pods']:,} pods over 2 shards "
        f"({mem.get('pod_value_bytes', '?')} B per pod). Repeats: {s['repeats']} "
        f"(medians shown). Run time {results.get('elapsed_s', 0):.0f} s.",
        "",
        "#### Targets (issue 10: the fan-out core near the machine's limit)",
        "",
        _table(["target", "measured", "met"], targets(results)),
        "",
        "#### Earlier targets",
        "",
        _table(["target", "measured", "met"], earlier_targets(results)),
        "",
        "#### Kubelets through watchproxy (latency vs watcher count)",
        "",
        sweep_table(results),
        "",
    ]
    for scenario, title in (("kubelets", "Kubelets (each watches its own node's pods)"),
                            ("controllers", "Controllers (each watches all pods)"),
                            ("single-object", "Single-object watches (one ConfigMap by name)")):
        if _find(results, scenario, "watchproxy", "peer size") is not None:
            out += [f"#### {title}: watchproxy vs peers, same workload", "",
                    peer_table(results, scenario), ""]
    extra = extra_table(results)
    if extra.count("\n") > 1:
        out += ["#### Other watchproxy runs", "", extra, ""]
    out += ["#### LIST", "", list_table(results), ""]
    if mem:
        out += [
            "#### Memory",
            "",
            _table(
                ["measure", "value"],
                [
                    ["watchproxy RSS, no pods", f"{_f(mem['rss_empty_mb'])} MB"],
                    [f"… after {mem['pods']:,} pods arrived by watch (cache + history)",
                     f"{_f(mem['rss_loaded_mb'])} MB = {_f(mem['per_object_kb_live'], 2)} KB/pod"],
                    *_probe_rows(results.get("memory_probe")),
                    *_probe_rows(results.get("memory_probe_resume")),
                    [f"… cold start on {mem['pods']:,} pods (list, no history)",
                     f"{_f(mem.get('rss_cold_mb'))} MB = {_f(mem.get('per_object_kb_cold'), 2)} "
                     f"KB/pod, ready in {_f(mem.get('cold_start_s'))} s"],
                ],
            ),
            "",
        ]
    notes = results.get("notes") or []
    if notes:
        out += ["Notes: " + "; ".join(notes), ""]
    return "\n".join(out)


def _probe_rows(probe: dict[str, Any] | None) -> list[list[str]]:
    if not probe:
        return []
    steps = ", ".join(
        f"{c:,}: {r:.0f} MB" for c, r in zip(probe["counts"], probe["rss_mb"], strict=True)
    )
    g = probe["groups"]["kubelets"]
    return [
        [f"RSS per idle kubelet watcher, {probe['mode']} (fresh proxy, {probe['watchers']:,} "
         "watchers in 4 batches)",
         f"{_f(probe['per_watcher_kb_marginal'])} KB marginal (slope), "
         f"{_f(probe['per_watcher_kb_average'])} KB average; RSS by watchers: {steps}"],
        [f"… while busy ({_f(probe['rate_achieved'], 0)} writes/s)",
         f"{_f(probe['per_watcher_kb_busy'])} KB (peak {_f(probe['rss_busy_mb'])} MB); "
         f"kubelet p99 {_f(g['p99_ms'])} ms, {g['delivered']}/{g['expected']} delivered"],
    ]


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = []
    for run in results["watch"]:
        if run["scenario"] == "kubelets" and run["backend"] == "watchproxy" and run[
            "label"
        ].startswith("sweep"):
            k = run["groups"]["kubelets"]
            runs = run.get("runs", [run])
            per_run = [r["groups"]["kubelets"] for r in runs]
            gc_runs = [bool(r.get("gc") and r["gc"]["gen2"]) for r in runs]
            points.append((k["watchers"], k["p50_ms"], k["p99_ms"],
                           [g["p50_ms"] for g in per_run], [g["p99_ms"] for g in per_run],
                           k["max_ms"], gc_runs))
    if not points:
        return
    points.sort()
    xs = [p[0] for p in points]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.plot(xs, [p[1] for p in points], "o-", label="p50 (median of runs)")
    ax.plot(xs, [p[2] for p in points], "s-", label="p99 (median of runs)")
    ax.plot(xs, [p[5] for p in points], "^:", color="C3", label="max (median of runs)")
    gc_label = "p99 of one run, full GC in its window"
    for p in points:
        ax.scatter([p[0]] * len(p[3]), p[3], s=8, color="C0", alpha=0.4)
        for value, had_gc in zip(p[4], p[6], strict=True):
            ax.scatter([p[0]], [value], s=30 if had_gc else 8, color="C1",
                       marker="x" if had_gc else "o", alpha=0.8 if had_gc else 0.4,
                       label=gc_label if had_gc else None)
            if had_gc:
                gc_label = ""
    ax.axhline(50, color="grey", ls="--", lw=0.8, label="p99 target 50 ms")
    s = results["sizes"]
    ax.set_xlabel("kubelet watchers (spec.nodeName=<node>)")
    ax.set_ylabel("commit → receipt latency, ms (log)")
    ax.set_title(
        f"watchproxy kubelet watches, {s['kubelet_rate']:.0f} writes/s + "
        f"{s['kubelet_controllers']} controllers ({results['machine']['nproc']} CPUs)",
        fontsize=9,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{x:,}" for x in xs])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def update_docs(path: Path, md: str) -> None:
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    text = re.sub(
        re.escape(BEGIN) + r".*?" + re.escape(END),
        lambda _: f"{BEGIN}\n{md}\n{END}",
        text,
        flags=re.S,
    )
    path.write_text(text)
