"""bench/targets.py: each target row says met / not met from the figures, and a stage that did
not run says "not measured" rather than passing."""

from __future__ import annotations

from typing import Any

from bench.targets import NOT_MEASURED, targets


def run(scenario: str, label: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "scenario": scenario, "backend": "watchproxy", "label": label, "watchers": 150,
        "server_cpu_s_per_m": 4.0, "deliveries": 1000, "deliveries_per_s": 1000.0,
        "deliveries_per_server_cpu_s": 250_000.0, "server_cpu_s": 1.0, "window_s": 1.0,
        "correct": True, "ready_failed": 0,
        "groups": {"kubelets": {"p99_ms": 20.0, "lost": 0, "duplicates": 0, "out_of_order": 0}},
    }  # fmt: skip
    return base | over


def verdicts(results: dict[str, Any]) -> dict[str, str]:
    return {row[0].split(":")[0].split(" (")[0]: row[2] for row in targets(results)}


def test_nothing_run_is_not_measured() -> None:
    rows = targets({"watch": []})
    assert rows and all(row[2] == NOT_MEASURED for row in rows)


def test_moderate_rate_met_and_not_met() -> None:
    ok = verdicts({"watch": [run("moderate", "moderate")]})
    assert ok["moderate rate"] == "met"
    slow = verdicts({"watch": [run("moderate", "moderate", server_cpu_s_per_m=5.5)]})
    assert slow["moderate rate"] == "**not met**"
    lossy = run("moderate", "moderate")
    lossy["groups"]["kubelets"]["lost"] = 1
    assert verdicts({"watch": [lossy]})["moderate rate"] == "**not met**"


def test_workers_needs_the_ratio_and_says_when_one_process_was_not_saturated() -> None:
    one = run("workers", "1 process", deliveries_per_s=1000.0, server_cpu_s=0.3)
    two = run("workers", "2 processes", deliveries_per_s=1900.0)
    rows = [r for r in targets({"watch": [one, two]}) if "--workers 2" in r[0]]
    assert rows[0][2] == "met" and "not the bottleneck" in rows[0][1]
    slower = run("workers", "2 processes", deliveries_per_s=1500.0)
    rows = [r for r in targets({"watch": [one, slower]}) if "--workers 2" in r[0]]
    assert rows[0][2] == "**not met**"


def test_ingest_takes_the_worst_rate() -> None:
    results = {"watch": [], "ingest": {"us_per_event": {"100": 120.0, "1000": 80.0}}}
    rows = [r for r in targets(results) if r[0].startswith("ingest")]
    assert rows[0][2] == "**not met**"
    results["ingest"]["us_per_event"]["100"] = 90.0
    rows = [r for r in targets(results) if r[0].startswith("ingest")]
    assert rows[0][2] == "met"


def test_saturation_is_the_controllers_stage_only() -> None:
    """A `workers` run's one process, better but not saturated, does not stand in for the
    `controllers` stage (review finding); without that stage the row says not measured."""
    controllers = run("controllers", "throughput", deliveries_per_server_cpu_s=300_000.0)
    workers = run("workers", "1 process", deliveries_per_server_cpu_s=600_000.0)
    rows = [r for r in targets({"watch": [controllers, workers]}) if "saturation" in r[0]]
    assert rows[0][2] == "**not met**" and rows[0][1].startswith("300,000 per CPU-s")
    rows = [r for r in targets({"watch": [workers]}) if "saturation" in r[0]]
    assert rows[0][2] == NOT_MEASURED


def test_a_probe_that_did_not_run_says_so() -> None:
    """The quick run probes idle watchers from a resourceVersion only: the WatchList row is
    there, not measured, instead of missing."""
    probe = {"mode": "watch from resourceVersion", "per_watcher_kb_marginal": 13.0,
             "watchers": 500}  # fmt: skip
    rows = targets({"watch": [], "memory_probe_resume": probe})
    idle = {r[0]: r[2] for r in rows if r[0].startswith("idle watcher")}
    assert idle == {
        "idle watcher ≤ 10 KB (WatchList)": NOT_MEASURED,
        "idle watcher ≤ 10 KB (watch from resourceVersion)": "**not met**",
    }
