"""What every bench prints and saves about its run: the machine, the commit, the load average,
and where results go (bench/results/<name>-<time>.json)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watchproxy.etcd.server import find_etcd_binary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def load_average() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def run_header(info: dict[str, Any], started: float) -> str:
    """The line a standalone bench prints above its tables: commit (dirty or not), date, load
    average at start and end, and the run's length (`started` is a time.monotonic())."""
    dirty = " (uncommitted changes in watchproxy/)" if info["watchproxy_dirty"] else ""
    return (
        f"watchproxy {info['watchproxy_commit']}{dirty}, {info['date']}, load average at start"
        f" {' '.join(info['load_avg_start'])}, at end {' '.join(load_average())},"
        f" {time.monotonic() - started:.0f} s"
    )


def save_results(name: str, out: dict[str, Any]) -> Path:
    """Write a standalone bench's results to bench/results/<name>-<time>.json; the path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=1, default=float))
    return path


def machine_info() -> dict[str, Any]:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    etcd_version = subprocess.run(
        [find_etcd_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "watchproxy_commit": git("rev-parse", "--short", "HEAD"),
        "watchproxy_dirty": bool(git("status", "--porcelain", "--", "watchproxy")),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "etcd": etcd_version,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load_avg_start": load_average(),
    }


def elapsed_log(started: float) -> Callable[[str], None]:
    """A progress printer: each line prefixed with the seconds since `started` (monotonic)."""

    def log(msg: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)

    return log
