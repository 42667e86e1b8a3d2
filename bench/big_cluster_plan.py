"""The workload of `python -m bench.big_cluster` as pure data: what to seed, who watches what,
what each watcher must receive, and the least-squares fit of cost against size (issue 10).

Per node n of `BigSize.nodes` (on top of bench/model.py's Population, pods_per_node pods each,
pod i on node i % nodes):

- a kubelet: ONE HTTP/2 connection carrying five watches, as client-go multiplexes them: its pods
  (`fieldSelector=spec.nodeName`), its Node (`metadata.name`), two ConfigMaps and one Secret by
  name in its tenant's namespace `<tenant>-ns-<n % 20>` (kubelet's watch-based ConfigMap/Secret
  manager watches each referenced object by name);
- a Lease `kube-node-lease/<node name>`, renewed every `lease_period_s` with a PUT through the
  proxy (kubelet's node lease controller; 40 s duration, 10 s renew interval);
- every object name ends in `-<n>` so the watch clients read the object id from the name.

Controllers watch every pod with WatchList. Pod writes go straight into etcd (bench/writer.py)
and are checked by sequence per watcher (bench/analysis.py); so are the per-kubelet ConfigMap and
Secret writes, each keyed by its own "node" id `OBJECT_BASE + 3n + k` in the expectation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import orjson

from bench.analysis import WatcherPlan
from bench.model import CREATED, TENANTS, Population

LEASE_NAMESPACE = "kube-node-lease"  # no tenant glob matches it: the default shard (0)
LEASE_SHARD = 0
WATCH_TIMEOUT_S = 900  # the proxy ends every watch by itself after this
WATCHLIST = "allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
OBJECT_KINDS = ("cm-a", "cm-b", "secret")  # per kubelet, in this order (k = 0, 1, 2)
OBJECT_BASE = 1 << 24  # expectation ids of ConfigMap/Secret objects start here (above any node)


@dataclass(frozen=True)
class BigSize:
    nodes: int
    pods_per_node: int = 30
    controllers: int = 20
    pod_write_rate: float = 200.0  # pod status writes per second, straight into etcd
    object_write_rate: float = 10.0  # ConfigMap/Secret writes per second, straight into etcd
    lease_period_s: float = 10.0

    @property
    def pods(self) -> int:
        return self.nodes * self.pods_per_node

    @property
    def lease_rate(self) -> float:
        """Lease PUTs per second through the proxy."""
        return self.nodes / self.lease_period_s

    @property
    def kubelet_watches(self) -> int:
        return self.nodes * (2 + len(OBJECT_KINDS))

    @property
    def watches(self) -> int:
        return self.kubelet_watches + self.controllers

    @property
    def connections(self) -> int:
        """Watch connections: one per kubelet, one per controller."""
        return self.nodes + self.controllers

    def population(self) -> Population:
        return Population(nodes=self.nodes, pods=self.pods)


# -- per-kubelet objects ---------------------------------------------------------------------------


def object_namespace(pop: Population, n: int) -> str:
    """The namespace of node n's ConfigMaps and Secret: its tenant's, so one shard serves it."""
    return f"{TENANTS[pop.node_shard(n)]}-ns-{n % pop.namespaces_per_tenant:02d}"


def object_name(k: int, n: int) -> str:
    return f"kubelet-{OBJECT_KINDS[k]}-{n:05d}"


def object_resource(k: int) -> str:
    return "secrets" if OBJECT_KINDS[k] == "secret" else "configmaps"


def object_key(pop: Population, k: int, n: int) -> bytes:
    return f"/registry/{object_resource(k)}/{object_namespace(pop, n)}/{object_name(k, n)}".encode()


def object_value(pop: Population, k: int, n: int, counter: int) -> bytes:
    meta = {
        "name": object_name(k, n),
        "namespace": object_namespace(pop, n),
        "uid": f"00000000-0000-4000-b00{k}-{n:012d}",
        "creationTimestamp": CREATED,
    }
    if OBJECT_KINDS[k] == "secret":
        data = {"token": "c2VjcmV0", "generation": f"{counter:08d}".encode().hex()}
        return orjson.dumps(
            {"kind": "Secret", "apiVersion": "v1", "metadata": meta, "type": "Opaque",
             "data": data}
        )
    return orjson.dumps(
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta,
         "data": {"generation": str(counter), "kubelet.conf": "maxPods: 110\n"}}
    )


def object_expect_id(k: int, n: int) -> int:
    """The expectation's grouping id of node n's object k (analysis.Expectation "node")."""
    return OBJECT_BASE + 3 * n + k


def lease_key(pop: Population, n: int) -> bytes:
    return f"/registry/leases/{LEASE_NAMESPACE}/{pop.node_name(n)}".encode()


def lease_value(pop: Population, n: int, renew_time: str = CREATED) -> bytes:
    """Lease n as stored (no resourceVersion); the lease client PUTs the same shape."""
    return orjson.dumps(lease_object(pop, n, renew_time, None))


def lease_object(pop: Population, n: int, renew_time: str, rv: str | None) -> dict[str, object]:
    name = pop.node_name(n)
    meta: dict[str, object] = {
        "name": name,
        "namespace": LEASE_NAMESPACE,
        "uid": f"00000000-0000-4000-c000-{n:012d}",
        "creationTimestamp": CREATED,
    }
    if rv is not None:
        meta["resourceVersion"] = rv
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": meta,
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": renew_time},
    }


def seed_items(size: BigSize) -> list[tuple[int, bytes, bytes]]:
    """(shard, key, value) of everything but the pods: namespaces, nodes, leases, objects."""
    pop = size.population()
    items = [(s, pop.namespace_key(ns), pop.namespace_value(ns)) for s, ns in pop.namespace_names()]
    items.append(
        (LEASE_SHARD, pop.namespace_key(LEASE_NAMESPACE), pop.namespace_value(LEASE_NAMESPACE))
    )
    for n in range(size.nodes):
        shard = pop.node_shard(n)
        items.append((shard, pop.node_key(n), pop.node_value(n)))
        items.append((LEASE_SHARD, lease_key(pop, n), lease_value(pop, n)))
        for k in range(len(OBJECT_KINDS)):
            items.append((shard, object_key(pop, k, n), object_value(pop, k, n, 0)))
    return items


# -- watchers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamDef:
    """One watch stream on a connection: its watcher id, path, shard (None: merged view)."""

    wid: int
    path: str
    shard: int | None


def kubelet_streams(pop: Population, n: int, wid0: int) -> list[StreamDef]:
    """Node n's five watches (pods, Node, ConfigMap a, ConfigMap b, Secret) from id wid0."""
    tail = f"{WATCHLIST}&timeoutSeconds={WATCH_TIMEOUT_S}"
    node = pop.node_name(n)
    shard = pop.node_shard(n)
    ns = object_namespace(pop, n)
    out = [
        StreamDef(wid0, f"/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3D{node}&{tail}",
                  shard),
        StreamDef(wid0 + 1,
                  f"/api/v1/nodes?watch=true&fieldSelector=metadata.name%3D{node}&{tail}", shard),
    ]
    for k in range(len(OBJECT_KINDS)):
        out.append(
            StreamDef(
                wid0 + 2 + k,
                f"/api/v1/namespaces/{ns}/{object_resource(k)}?watch=true"
                f"&fieldSelector=metadata.name%3D{object_name(k, n)}&{tail}",
                shard,
            )
        )
    return out


def plan_watchers(size: BigSize) -> tuple[list[list[StreamDef]], list[WatcherPlan]]:
    """Connections (each a list of streams) and what every watcher must receive.

    Groups: "kubelet-pods" (node n's pods: initial count pods_per_node, live writes of node n),
    "kubelet-node", "kubelet-objects" (one object each, live writes of that object),
    "controllers" (every pod, every pod write)."""
    pop = size.population()
    conns: list[list[StreamDef]] = []
    plans: list[WatcherPlan] = []
    wid = 0
    for n in range(size.nodes):
        streams = kubelet_streams(pop, n, wid)
        conns.append(streams)
        pods = range(n, pop.pods, pop.nodes)
        plans.append(WatcherPlan(wid, "kubelet-pods", n, len(pods), sum(pods)))
        plans.append(WatcherPlan(wid + 1, "kubelet-node", -2, 1, n))
        for k in range(len(OBJECT_KINDS)):
            plans.append(WatcherPlan(wid + 2 + k, "kubelet-objects", object_expect_id(k, n), 1, n))
        wid += len(streams)
    tail = f"{WATCHLIST}&timeoutSeconds={WATCH_TIMEOUT_S}"
    for _ in range(size.controllers):
        conns.append([StreamDef(wid, f"/api/v1/pods?watch=true&{tail}", None)])
        plans.append(WatcherPlan(wid, "controllers", -1, pop.pods, pop.pods * (pop.pods - 1) // 2))
        wid += 1
    return conns, plans


# -- writes -------------------------------------------------------------------------------------


def pod_write(pop: Population, seq: int) -> int:
    """The pod id of pod write `seq`: consecutive ids, so consecutive writes hit every node."""
    return seq % pop.pods


def object_write(size: BigSize, seq: int) -> tuple[int, int]:
    """(k, n) of ConfigMap/Secret write `seq`: nodes in a stride, the three objects in turn."""
    n = (seq * 7919) % size.nodes
    return seq % len(OBJECT_KINDS), n


# -- the fit ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """y = intercept + sum(coef_i * x_i), least squares; `residuals` per point (y - fit)."""

    names: tuple[str, ...]
    intercept: float
    coefs: tuple[float, ...]
    residuals: tuple[float, ...]

    def predict(self, xs: Sequence[float]) -> float:
        return self.intercept + sum(c * x for c, x in zip(self.coefs, xs, strict=True))

    def formula(self, unit: str, scale: Sequence[float] | None = None) -> str:
        """e.g. `0.12 + 3.4e-05 x nodes` (coefficients times `scale` each, for display)."""
        scale = scale or [1.0] * len(self.coefs)
        terms = [f"{c * s:.3g} x {n}" for c, s, n in zip(self.coefs, scale, self.names,
                                                         strict=True)]
        return f"{self.intercept:.3g} {unit} + " + " + ".join(terms)


def fit_linear(names: Sequence[str], xs: Sequence[Sequence[float]], ys: Sequence[float]) -> Fit:
    """Least squares of ys on the columns `names` of xs (one row per measured size) plus an
    intercept. Raises ValueError when there are fewer points than unknowns or the columns are
    collinear (the sizes cannot tell the terms apart)."""
    a = np.array([[1.0, *row] for row in xs], dtype=np.float64)
    y = np.array(ys, dtype=np.float64)
    if a.shape[1] != len(names) + 1:
        raise ValueError(f"{a.shape[1] - 1} columns for {len(names)} names")
    if a.shape[0] < a.shape[1]:
        raise ValueError(f"{a.shape[0]} points cannot fit {a.shape[1]} unknowns")
    if np.linalg.matrix_rank(a) < a.shape[1]:
        raise ValueError(f"the sizes do not separate {', '.join(names)} (collinear)")
    sol, *_ = np.linalg.lstsq(a, y, rcond=None)
    res = y - a @ sol
    return Fit(tuple(names), float(sol[0]), tuple(float(c) for c in sol[1:]),
               tuple(float(r) for r in res))
