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
