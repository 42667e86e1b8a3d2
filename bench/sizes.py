"""The sizes of one `python -m bench` run: `QUICK` (`make bench`, every target in under
3 minutes) and `FULL` (the documented sizes, with the peers), and `--set FIELD=VALUE` overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Sizes:
    name: str
    nodes: int
    pods: int
    repeats: int
    deadline_s: float
    workers: int
    # kubelets through watchproxy (the plot), each run with `kubelet_controllers` controllers
    kubelet_sweep: tuple[int, ...]
    kubelet_controllers: int
    kubelet_rate: float
    duration: float
    # the same workload on every backend
    peer_kubelets: int
    peer_kubelet_rate: float
    peer_controllers: int
    peer_controller_rate: float
    peer_objects: int
    peer_object_rate: float
    peer_duration: float
    # watchproxy-only sizes
    controllers: int
    controller_rate: float
    objects: int
    object_rate: float
    list_repeats: int
    # the same workloads on direct etcd and etcd grpc-proxy (and watchproxy at their size)
    peers: bool = True
    # the idle-watcher memory probe with WatchList starts too (always: from a resourceVersion)
    watchlist_probe: bool = True
    # issue 10: the moderate rate (kubelets + controllers, writes/s, seconds), over HTTP/1.1
    # in the harness and, in the "serving" stage (bench.http2), over TLS + HTTP/2 too
    moderate_kubelets: int = 50
    moderate_controllers: int = 100
    moderate_rate: float = 300
    moderate_duration: float = 15
    serving_runs: int = 3
    serving_seconds: float = 15
    # `serve --workers 2` against one process: controllers at a rate neither keeps up with
    scaling_controllers: int = 200
    scaling_rate: float = 3000
    scaling_duration: float = 10
    # `moderate_controllers` controllers at each of these writes/s: the cost-vs-rate curve
    rate_sweep: tuple[int, ...] = ()
    rate_sweep_duration: float = 10
    # bench.ingest_cost: proxy CPU per etcd event, one delivery each, at these rates
    ingest_rates: str = "100,1000"
    ingest_seconds: float = 5
    ingest_repeats: int = 3
    # bench.write_cost: proxy CPU per write request, per verb
    write_requests: int = 500
    write_repeats: int = 3
    # bench.big_cluster: its --nodes list and full window in seconds
    big_cluster_nodes: str = "1000,3000,10000"
    big_cluster_seconds: float = 30


QUICK = Sizes(
    name="quick",
    nodes=500,
    pods=10_000,
    repeats=1,
    deadline_s=240,
    workers=2,
    kubelet_sweep=(500,),
    kubelet_controllers=5,
    kubelet_rate=200,
    duration=5,
    peer_kubelets=100,
    peer_kubelet_rate=100,
    peer_controllers=10,
    peer_controller_rate=300,
    peer_objects=200,
    peer_object_rate=20,
    peer_duration=4,
    controllers=50,
    controller_rate=1000,
    objects=0,  # the single-object scenario is a peer comparison (--full)
    object_rate=20,
    list_repeats=3,
    peers=False,  # --full compares with the peers; the quick run checks the targets
    watchlist_probe=False,
    moderate_duration=5,
    serving_runs=1,
    serving_seconds=3,
    scaling_controllers=50,
    scaling_rate=2000,
    scaling_duration=3,
    ingest_seconds=2,
    ingest_repeats=1,
    write_requests=200,
    write_repeats=1,
    big_cluster_nodes="500",
    big_cluster_seconds=6,
)
FULL = Sizes(
    name="full",
    nodes=2000,
    pods=50_000,
    repeats=3,
    deadline_s=3600,
    workers=2,
    kubelet_sweep=(250, 500, 1000, 2000),
    kubelet_controllers=20,
    kubelet_rate=500,
    duration=15,
    peer_kubelets=200,
    peer_kubelet_rate=100,
    peer_controllers=20,
    peer_controller_rate=500,
    peer_objects=200,
    peer_object_rate=20,
    peer_duration=10,
    controllers=100,
    controller_rate=2000,
    objects=2000,
    object_rate=20,
    list_repeats=5,
    rate_sweep=(30, 100, 300, 1000, 3000),
)


def override(sizes: Sizes, assignments: list[str]) -> Sizes:
    changes: dict[str, Any] = {}
    for item in assignments:
        key, _, text = item.partition("=")
        current = getattr(sizes, key)
        if isinstance(current, tuple):
            changes[key] = tuple(int(v) for v in text.split(",") if v)
        else:
            changes[key] = type(current)(text)
    return replace(sizes, **changes)
