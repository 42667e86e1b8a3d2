"""The plot of issue 10: proxy CPU per delivery against events per watcher per second.

At a low rate each event leaves the proxy as its own write per watcher, so the fixed costs of
a delivery (a syscall, a trip through the event loop) dominate; as the rate per watcher grows,
writes carry several events and the cost per delivery falls towards the per-byte cost. One
point per watchproxy run of the harness (every scenario, the "rate sweep" of `--full`
included), so the plot shows where the moderate-rate target sits on that curve.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARKERS = {"controllers": "o", "moderate": "s", "workers": "^", "kubelets": "v",
           "single-object": "D", "rate sweep": "o"}


def cpu_per_delivery_points(results: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(scenario, events per watcher per second, proxy µs of CPU per delivery) per run; the
    rate per watcher is the run's deliveries per second over its watchers."""
    points = []
    for run in results.get("watch", []):
        if run["backend"] != "watchproxy" or not run["watchers"] or not run["deliveries"]:
            continue
        per_watcher = run["deliveries_per_s"] / run["watchers"]
        points.append((run["scenario"], per_watcher, float(run["server_cpu_s_per_m"])))
    return points


def plot_cpu_per_delivery(results: dict[str, Any], path: Path) -> None:
    """Write the log-log plot to `path` (PNG); nothing when no watchproxy run delivered."""
    points = cpu_per_delivery_points(results)
    if not points:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for i, scenario in enumerate(sorted({p[0] for p in points})):
        xs = [p[1] for p in points if p[0] == scenario]
        ys = [p[2] for p in points if p[0] == scenario]
        ax.scatter(xs, ys, marker=MARKERS.get(scenario, "o"), color=f"C{i}", label=scenario)
    sweep = sorted((p[1], p[2]) for p in points if p[0] == "rate sweep")
    if len(sweep) > 1:
        ax.plot([p[0] for p in sweep], [p[1] for p in sweep], "-", color="grey", lw=0.8)
    ax.axhline(5, color="grey", ls="--", lw=0.8, label="target 5 µs (moderate rate)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("events per watcher per second")
    ax.set_ylabel("proxy CPU per delivery, µs (log)")
    ax.set_title(
        f"watchproxy fan-out cost against rate ({results['machine']['nproc']} CPUs, "
        f"commit {results['machine'].get('watchproxy_commit', '?')})",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
