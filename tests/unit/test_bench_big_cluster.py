"""bench/big_cluster: the workload plan (counts, node -> pod mapping, watch paths, seeds), the
least-squares fit and the HTTP/2 watch client's frame handling. No timing."""

from __future__ import annotations

import asyncio
import re
import struct
from typing import Any

import pytest
from hpack import Encoder

from bench.big_cluster_h2 import DATA, END_HEADERS, HEADERS, SETTINGS, H2Watches
from bench.big_cluster_plan import (
    LEASE_SHARD,
    OBJECT_KINDS,
    BigSize,
    StreamDef,
    fit_linear,
    object_expect_id,
    object_namespace,
    object_write,
    plan_watchers,
    pod_write,
    seed_items,
)
from bench.big_cluster_report import fits, reachable
from bench.clients import Recorder, WatcherState
from bench.h2frames import frame
from bench.model import TENANTS

SIZE = BigSize(nodes=7, pods_per_node=3, controllers=2)


def test_sizes_count_watches_connections_and_lease_rate() -> None:
    assert SIZE.pods == 21
    assert SIZE.kubelet_watches == 7 * 5
    assert SIZE.watches == 37
    assert SIZE.connections == 9
    assert BigSize(nodes=10_000).lease_rate == 1000.0
    assert BigSize(nodes=10_000).pods == 300_000


def test_plan_has_one_connection_per_kubelet_and_controller_and_unique_ids() -> None:
    conns, plans = plan_watchers(SIZE)
    assert [len(c) for c in conns] == [5] * 7 + [1] * 2
    wids = [s.wid for c in conns for s in c]
    assert wids == list(range(SIZE.watches))
    assert [p.wid for p in plans] == wids
    groups = [p.group for p in plans]
    assert groups.count("kubelet-pods") == 7
    assert groups.count("kubelet-node") == 7
    assert groups.count("kubelet-objects") == 21
    assert groups.count("controllers") == 2


def test_each_kubelet_watches_its_own_pods_node_and_objects() -> None:
    pop = SIZE.population()
    conns, plans = plan_watchers(SIZE)
    by_wid = {p.wid: p for p in plans}
    for n in range(SIZE.nodes):
        streams: list[StreamDef] = conns[n]
        node = pop.node_name(n)
        pods_plan = by_wid[streams[0].wid]
        mine = [i for i in range(pop.pods) if pop.pod_node(i) == n]
        assert len(mine) == SIZE.pods_per_node
        assert (pods_plan.node, pods_plan.initial_count, pods_plan.initial_sum) == (
            n, len(mine), sum(mine))
        assert all(pop.pod_shard(i) == pop.node_shard(n) for i in mine)
        assert f"spec.nodeName%3D{node}&" in streams[0].path
        assert f"metadata.name%3D{node}&" in streams[1].path
        assert by_wid[streams[1].wid].initial_sum == n  # the Node's trailing integer
        for k in range(len(OBJECT_KINDS)):
            s = streams[2 + k]
            name = re.search(r"metadata\.name%3D([^&]+)", s.path)
            assert name is not None and int(name.group(1).rsplit("-", 1)[1]) == n
            assert f"/namespaces/{object_namespace(pop, n)}/" in s.path
            assert by_wid[s.wid].node == object_expect_id(k, n)
        assert {s.shard for s in streams} == {pop.node_shard(n)}
        assert object_namespace(pop, n).startswith(TENANTS[pop.node_shard(n)] + "-")
    for c in conns[SIZE.nodes :]:
        assert c[0].shard is None and "fieldSelector" not in c[0].path
        assert by_wid[c[0].wid].initial_count == pop.pods


def test_seed_items_cover_namespaces_nodes_leases_and_objects_once() -> None:
    pop = SIZE.population()
    items = seed_items(SIZE)
    keys = [k for _, k, _ in items]
    assert len(keys) == len(set(keys))
    assert len(items) == len(pop.namespace_names()) + 1 + SIZE.nodes * (2 + len(OBJECT_KINDS))
    leases = [(s, k) for s, k, _ in items if k.startswith(b"/registry/leases/kube-node-lease/")]
    assert len(leases) == SIZE.nodes and {s for s, _ in leases} == {LEASE_SHARD}
    nodes = {k: s for s, k, _ in items if k.startswith(b"/registry/minions/")}
    assert nodes == {pop.node_key(n): pop.node_shard(n) for n in range(SIZE.nodes)}


def test_writes_reach_every_node_and_every_object() -> None:
    pop = SIZE.population()
    assert {pop.pod_node(pod_write(pop, s)) for s in range(SIZE.nodes)} == set(range(7))
    assert pod_write(pop, pop.pods) == 0
    seen = {object_write(SIZE, s) for s in range(3 * SIZE.nodes)}
    assert seen == {(k, n) for k in range(3) for n in range(7)}


def test_fit_recovers_the_coefficients_and_residuals() -> None:
    fit = fit_linear(["nodes"], [[1000], [3000], [10000]], [0.1 + 2e-5 * x for x in
                                                           (1000, 3000, 10000)])
    assert fit.intercept == pytest.approx(0.1)
    assert fit.coefs[0] == pytest.approx(2e-5)
    assert max(abs(r) for r in fit.residuals) < 1e-12
    two = fit_linear(["a", "b"], [[1, 0], [0, 1], [1, 1], [2, 3]],
                     [5 + 2 * a - 3 * b for a, b in [(1, 0), (0, 1), (1, 1), (2, 3)]])
    assert (two.intercept, *two.coefs) == pytest.approx((5, 2, -3))
    assert two.predict([4, 1]) == pytest.approx(10)
    noisy = fit_linear(["x"], [[0], [1], [2]], [0.0, 2.0, 1.0])  # least squares, not a line
    assert noisy.coefs[0] == pytest.approx(0.5) and noisy.intercept == pytest.approx(0.5)
    assert noisy.residuals == pytest.approx((-0.5, 1.0, -0.5))
    assert fit.predict([10_000]) == pytest.approx(0.3)


def test_fit_refuses_what_the_sizes_cannot_tell_apart() -> None:
    with pytest.raises(ValueError, match="collinear"):
        fit_linear(["nodes", "pods"], [[1, 30], [2, 60], [3, 90]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="cannot fit"):
        fit_linear(["x"], [[1]], [1.0])


def _size_result(nodes: int) -> dict[str, Any]:
    """A measured size whose proxy cores are 0.01 + 500 µs x lease PUTs/s + 1 ms x pod
    writes/s + 1e-5 x nodes in every window."""
    size = BigSize(nodes=nodes)
    idle = 0.01 + 1e-5 * nodes
    lease_rate = size.lease_rate * 0.9  # what was achieved: not the target
    return {"nodes": nodes, "pods": size.pods, "watches": size.watches,
            "cpu_idle_cores": idle, "cpu_leases_cores": idle + 5e-4 * lease_rate,
            "cpu_full_cores": idle + 5e-4 * lease_rate * 0.5 + 1e-3 * 200,
            "lease_rate_leases_window": lease_rate, "lease_rate_full_window": lease_rate * 0.5,
            "pod_write_rate": 200.0,
            "rss_cache_mb": 100 + size.pods * 6 / 1024, "rss_watches_mb": 120 + size.pods * 6
            / 1024 + size.watches * 10 / 1024}


def test_window_fit_separates_leases_pod_writes_and_nodes() -> None:
    f = fits([_size_result(n) for n in (1000, 3000, 10000)])
    assert f["cpu"].coefs == pytest.approx((5e-4, 1e-3, 1e-5))
    assert f["cpu"].intercept == pytest.approx(0.01, abs=1e-9)
    assert f["rss_watches"].coefs[0] * 1024 == pytest.approx(10)
    # 0.01 + 5e-4 x n/10 + 1e-3 x 200 + 1e-5 x n = 0.8  ->  n = 9,833
    assert abs(reachable(f, 200, budget=0.8) - 9_833) <= 50
    assert fits([_size_result(1000)]) == {}


class _Transport:
    def __init__(self) -> None:
        self.out: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.out.append(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def test_h2_client_reads_initial_events_then_records_live_ones() -> None:
    loop = asyncio.new_event_loop()
    try:
        defs = (StreamDef(40, "/api/v1/pods?watch=true", 1), StreamDef(41, "/x", 1))
        states = [WatcherState(d.wid, loop.create_future()) for d in defs]
        rec = Recorder()
        proto = H2Watches(defs, states, rec, b"")
        transport = _Transport()
        proto.connection_made(transport)  # type: ignore[arg-type]
        assert transport.out[0].startswith(b"PRI * HTTP/2.0")
        enc = Encoder()
        ok = enc.encode([(b":status", b"200")])
        gone = enc.encode([(b":status", b"410")])

        def line(kind: str, rv: int, name: str) -> bytes:
            return (f'{{"type":"{kind}","object":{{"metadata":{{"resourceVersion":"{rv}",'
                    f'"name":"{name}"}}}}}}\n').encode()

        bookmark = (b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9",'
                    b'"annotations":{"k8s.io/initial-events-end":"true"}}}}\n')
        wire = (frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100))
                + frame(HEADERS, END_HEADERS, 1, ok) + frame(HEADERS, END_HEADERS, 3, gone)
                + frame(DATA, 0, 1, line("ADDED", 7, "p-000004") + bookmark[:20]))
        # split across reads, mid-frame
        proto.data_received(wire[:30])
        proto.data_received(wire[30:])
        proto.data_received(frame(DATA, 0, 1, bookmark[20:] + line("MODIFIED", 12, "p-000004")))
        assert states[0].initial_count == 1 and states[0].initial_sum == 4
        assert states[0].ready.done() and states[0].ready.result() is True
        assert list(rec.wid) == [40] and list(rec.rev) == [12] and list(rec.oid) == [4]
        assert list(rec.shard) == [1]
        assert states[1].ready.result() is False and states[1].http_status == 410
        assert any(b"\x00\x00\x00\x04\x01" in w for w in transport.out)  # SETTINGS acked
    finally:
        loop.close()
