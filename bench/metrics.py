"""Process and etcd metrics: CPU seconds and RSS from /proc, etcd's Prometheus /metrics.

Process figures cover a pid and all its descendants (watchproxy `--workers N` forks).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, fields
from pathlib import Path

from bench.cluster import http_get

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                out.extend(int(c) for c in (task / "children").read_text().split())
    return out


def process_tree(pid: int) -> list[int]:
    seen = [pid]
    i = 0
    while i < len(seen):
        seen.extend(c for c in _children(seen[i]) if c not in seen)
        i += 1
    return seen


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    parts = stat[stat.rindex(")") + 2 :].split()
    return (int(parts[11]) + int(parts[12])) / CLK_TCK


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except OSError:
        return 0


def tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(p) for root in pids for p in process_tree(root))


def tree_rss(pids: list[int]) -> int:
    return sum(rss_bytes(p) for root in pids for p in process_tree(root))


# -- etcd /metrics -------------------------------------------------------------------------------


@dataclass
class EtcdCounters:
    """Summed over shards. Gauges: watchers, streams. The rest are counters."""

    watchers: float = 0.0
    streams: float = 0.0
    range_requests: float = 0.0
    watch_rpcs: float = 0.0
    msgs_sent: float = 0.0
    bytes_sent: float = 0.0
    bytes_received: float = 0.0
    cpu_seconds: float = 0.0

    def __add__(self, other: EtcdCounters) -> EtcdCounters:
        return EtcdCounters(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def __sub__(self, other: EtcdCounters) -> EtcdCounters:
        """Counter deltas; gauges keep the newer value."""
        out = EtcdCounters(
            **{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)}
        )
        out.watchers, out.streams = self.watchers, self.streams
        return out


def parse_metrics(text: str) -> EtcdCounters:
    c = EtcdCounters()
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name_labels, _, value_text = line.rpartition(" ")
        try:
            value = float(value_text)
        except ValueError:
            continue
        name = name_labels.split("{", 1)[0]
        if name == "etcd_debugging_mvcc_watcher_total":
            c.watchers += value
        elif name == "etcd_debugging_mvcc_watch_stream_total":
            c.streams += value
        elif name == "grpc_server_handled_total" and 'grpc_method="Range"' in name_labels:
            c.range_requests += value
        elif name == "grpc_server_started_total" and 'grpc_method="Watch"' in name_labels:
            c.watch_rpcs += value
        elif name == "grpc_server_msg_sent_total":
            c.msgs_sent += value
        elif name == "etcd_network_client_grpc_sent_bytes_total":
            c.bytes_sent += value
        elif name == "etcd_network_client_grpc_received_bytes_total":
            c.bytes_received += value
        elif name == "process_cpu_seconds_total":
            c.cpu_seconds += value
    return c


def scrape_sync(endpoints: list[str], pids: list[int]) -> EtcdCounters:
    total = EtcdCounters()
    for ep in endpoints:
        status, body = http_get(ep + "/metrics", timeout=10)
        if status != 200:
            raise RuntimeError(f"etcd metrics {ep}: HTTP {status}")
        total = total + parse_metrics(body.decode())
    # /proc has 10 ms resolution, process_cpu_seconds_total as well; prefer /proc.
    total.cpu_seconds = tree_cpu(pids)
    return total


async def scrape(endpoints: list[str], pids: list[int]) -> EtcdCounters:
    return await asyncio.to_thread(scrape_sync, endpoints, pids)


async def proxy_stats(url: str) -> dict[str, object]:
    import orjson

    status, body = await asyncio.to_thread(http_get, url + "/debug/stats", 5)
    if status != 200:
        return {}
    data = orjson.loads(body)
    return data if isinstance(data, dict) else {}


class Sampler:
    """Samples RSS (max) of the server processes and etcd watcher gauges while running."""

    def __init__(self, server_pids: list[int], etcd_endpoints: list[str], period: float) -> None:
        self.server_pids = server_pids
        self.etcd_endpoints = etcd_endpoints
        self.period = period
        self.max_rss = 0
        self.max_watchers = 0.0
        self.max_streams = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.max_rss = max(self.max_rss, tree_rss(self.server_pids))
            with contextlib.suppress(Exception):
                c = await scrape(self.etcd_endpoints, [])
                self.max_watchers = max(self.max_watchers, c.watchers)
                self.max_streams = max(self.max_streams, c.streams)
            await asyncio.sleep(self.period)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.max_rss = max(self.max_rss, tree_rss(self.server_pids))


def gc_pauses(path: Path | None, start: float, end: float) -> dict[str, float] | None:
    """Collector pauses logged by bench.gcwrap between two unix times (None: not logged)."""
    if path is None:
        return None
    full = 0
    longest = total = 0.0
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            t, gen, ms = float(parts[0]), int(parts[1]), float(parts[2])
            if start <= t <= end:
                full += gen == 2
                longest = max(longest, ms)
                total += ms
    return {"gen2": full, "max_ms": longest, "total_ms": total}
