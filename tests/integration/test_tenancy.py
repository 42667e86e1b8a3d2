"""Tenancy invariants of the write path.

- Tenants do not share nodes: a pod may run on a node of its own tenant or on a shared
  (unlabelled) node, never on another tenant's; every way of setting spec.nodeName is checked.
- A node's tenant label names a tenant the configuration knows.
- Cluster-scoped names are unique across shards, also when two creates of one name race on two
  shards, through one proxy or two, and after a crash left a claim behind
  (watchproxy/registry/claims.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, pod, quiet_config, running_etcd_pair
from tests.integration.watching import watch
from watchproxy.etcd.server import EtcdServer
from watchproxy.registry.claims import PENDING_TTL

pytestmark = pytest.mark.etcd

ETCDCTL = str(Path(sys.executable).parent / "etcdctl")
TENANT = "watchproxy.io/tenant"
GX = "gx"  # tenant globex (shard-b)
ACME = "acme-t"  # tenant acme (shard-a)
MERGE = {"content-type": "application/merge-patch+json"}
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}
# The claim shard is the default shard (shard-a, the first etcd); node keys are kube's.
CLAIMS = "/registry/watchproxy.io/claims/nodes/"
NODE_KEYS = "/registry/minions/"


@dataclass
class Cluster:
    etcd: list[EtcdServer]
    proxies: list[ProxyProcess]  # two processes, same etcd shards


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("tenancy")
    with running_etcd_pair(root) as servers:
        config = quiet_config([s.endpoint for s in servers])
        proxies = [ProxyProcess(config, root, name=f"proxy-{i}") for i in range(2)]
        try:
            for p in proxies:
                p.start()
            with httpx.Client(base_url=proxies[0].url) as api:
                for ns in (GX, ACME):
                    r = api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
                    assert r.status_code == 201, r.text
                for name, tenant in (
                    ("acme-node-1", "acme"),
                    ("globex-node-1", "globex"),
                    ("shared-node", None),
                ):
                    labels = {TENANT: tenant} if tenant else {}
                    body = {"metadata": {"name": name, "labels": labels}}
                    assert api.post("/api/v1/nodes", json=body).status_code == 201
            yield Cluster(servers, proxies)
        finally:
            for p in proxies:
                p.stop()


@pytest.fixture()
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.proxies[0].url, timeout=30) as client:
        yield client


def etcdctl(server: EtcdServer, *args: str) -> str:
    done = subprocess.run(
        [ETCDCTL, "--endpoints", server.endpoint, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def etcd_get(server: EtcdServer, key: str) -> dict[str, Any] | None:
    out = etcdctl(server, "get", key, "--print-value-only")
    return json.loads(out) if out.strip() else None


def node(name: str, tenant: str | None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {TENANT: tenant} if tenant else {}}}


# -- tenants do not share nodes ---------------------------------------------------------------


def assert_refused(r: httpx.Response, name: str) -> None:
    assert r.status_code == 403, r.text
    status = r.json()
    assert status["reason"] == "Forbidden"
    assert status["details"]["name"] == name and status["details"]["kind"] == "pods"
    # The message names both tenants and the node.
    message = status["message"]
    assert 'tenant "globex"' in message and 'tenant "acme"' in message, message
    assert '"acme-node-1"' in message


def _create(api: httpx.Client, name: str) -> httpx.Response:
    return api.post(f"/api/v1/namespaces/{GX}/pods", json=pod(name, node="acme-node-1"))


def _update(api: httpx.Client, name: str) -> httpx.Response:
    current = api.get(f"/api/v1/namespaces/{GX}/pods/{name}").json()
    current["spec"]["nodeName"] = "acme-node-1"
    return api.put(f"/api/v1/namespaces/{GX}/pods/{name}", json=current)


def _patch(headers: dict[str, str]) -> Callable[[httpx.Client, str], httpx.Response]:
    def send(api: httpx.Client, name: str) -> httpx.Response:
        return api.patch(
            f"/api/v1/namespaces/{GX}/pods/{name}",
            json={"spec": {"nodeName": "acme-node-1"}},
            headers=headers,
        )

    return send


def _bind(api: httpx.Client, name: str) -> httpx.Response:
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "acme-node-1"},
    }
    return api.post(f"/api/v1/namespaces/{GX}/pods/{name}/binding", json=binding)


@pytest.mark.parametrize(
    ("way", "send"),
    [
        ("create", _create),
        ("update", _update),
        ("strategic", _patch(STRATEGIC)),
        ("merge", _patch(MERGE)),
        ("binding", _bind),
    ],
)
def test_pod_cannot_be_bound_to_another_tenants_node(
    api: httpx.Client, way: str, send: Callable[[httpx.Client, str], httpx.Response]
) -> None:
    name = f"stray-{way}"
    if way != "create":
        r = api.post(f"/api/v1/namespaces/{GX}/pods", json=pod(name))
        assert r.status_code == 201, r.text
    assert_refused(send(api, name), name)
    got = api.get(f"/api/v1/namespaces/{GX}/pods/{name}")
    if way == "create":
        assert got.status_code == 404
    else:
        assert "nodeName" not in got.json()["spec"]


def test_pods_run_on_their_own_tenants_nodes_and_shared_ones(api: httpx.Client) -> None:
    r = api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("own", node="globex-node-1"))
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/namespaces/{ACME}/pods", json=pod("own", node="acme-node-1"))
    assert r.status_code == 201, r.text
    # A pod of no tenant (its namespace matches none) may not use a tenant's node either.
    api.post("/api/v1/namespaces", json={"metadata": {"name": "untenanted"}})
    r = api.post("/api/v1/namespaces/untenanted/pods", json=pod("p", node="acme-node-1"))
    assert r.status_code == 403 and "no tenant" in r.json()["message"]
    r = api.post("/api/v1/namespaces/untenanted/pods", json=pod("p", node="shared-node"))
    assert r.status_code == 201, r.text


def test_kubelet_watch_of_a_shared_node_spans_the_shards(api: httpx.Client) -> None:
    pods = "/api/v1/pods"
    selector = {"fieldSelector": "spec.nodeName=shared-node"}
    rv = api.get(pods, params=selector).json()["metadata"]["resourceVersion"]
    with watch(api, pods, resourceVersion=rv, **selector) as stream:
        # One pod created bound (acme, shard-a), one bound later through pods/binding
        # (globex, shard-b); a pod on another node is not the kubelet's business.
        r = api.post(f"/api/v1/namespaces/{ACME}/pods", json=pod("k-acme", node="shared-node"))
        assert r.status_code == 201, r.text
        r = api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("k-other", node="globex-node-1"))
        assert r.status_code == 201, r.text
        r = api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("k-globex"))
        assert r.status_code == 201, r.text
        binding = {"target": {"kind": "Node", "name": "shared-node"}}
        r = api.post(f"/api/v1/namespaces/{GX}/pods/k-globex/binding", json=binding)
        assert r.status_code == 201, r.text
        seen = stream.take(2)
    assert [(e["type"], e["object"]["metadata"]["namespace"]) for e in seen] == [
        ("ADDED", ACME),
        ("ADDED", GX),
    ]
    assert [e["object"]["metadata"]["name"] for e in seen] == ["k-acme", "k-globex"]
    listed = api.get(pods, params=selector).json()["items"]
    assert {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed} >= {
        (ACME, "k-acme"),
        (GX, "k-globex"),
    }
    assert all(i["spec"]["nodeName"] == "shared-node" for i in listed)


def test_node_created_after_a_foreign_pod_was_bound_to_its_name(api: httpx.Client) -> None:
    r = api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("early", node="late-node"))
    pod_bound = r.status_code == 201
    r = api.post("/api/v1/nodes", json=node("late-node", "acme"))
    node_created = r.status_code == 201
    # Kube binds pods to nodes that do not exist yet; the node that would make it a cross-tenant
    # binding is then refused (its kubelet view, pinned to acme's shard, would not show it).
    assert pod_bound and not node_created, r.text
    assert r.status_code == 403 and '"globex"' in r.json()["message"]
    shared = api.post("/api/v1/nodes", json=node("late-node", None))
    assert shared.status_code == 201, shared.text  # a shared node may carry any tenant's pods


def test_node_of_an_unknown_tenant_is_invalid(api: httpx.Client) -> None:
    r = api.post("/api/v1/nodes", json=node("initech-node-1", "initech"))
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "Node"
    cause = status["details"]["causes"][0]
    assert cause["field"] == f"metadata.labels[{TENANT}]" and '"initech"' in cause["message"]
    assert api.get("/api/v1/nodes/initech-node-1").status_code == 404


# -- cluster-scoped names are unique across shards --------------------------------------------


def race(urls: tuple[str, str], name: str) -> list[httpx.Response]:
    """POST Node `name` labelled acme (shard-a) through urls[0] and labelled globex (shard-b)
    through urls[1], released together."""
    start = threading.Barrier(2)

    def post(url: str, tenant: str) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as client:
            client.get("/api/v1/nodes/" + name)  # connected before the start line
            start.wait()
            return client.post("/api/v1/nodes", json=node(name, tenant))

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(post, urls[0], "acme"), pool.submit(post, urls[1], "globex")]
        return [f.result() for f in futures]


def shards_holding(cluster: Cluster, name: str) -> list[int]:
    return [
        i for i, server in enumerate(cluster.etcd) if etcd_get(server, NODE_KEYS + name) is not None
    ]


@pytest.mark.parametrize("through", ["one-proxy", "two-proxies"])
def test_racing_creates_of_a_name_on_two_shards(cluster: Cluster, through: str) -> None:
    first, second = cluster.proxies[0].url, cluster.proxies[-1].url
    urls = (first, first) if through == "one-proxy" else (first, second)
    prefix = "race-n" if through == "one-proxy" else "race-p"
    for k in range(15):
        name = f"{prefix}{k}"
        answers = race(urls, name)
        codes = sorted(r.status_code for r in answers)
        assert codes == [201, 409], [r.text for r in answers]
        lost = next(r for r in answers if r.status_code == 409).json()
        assert lost["reason"] == "AlreadyExists" and lost["details"]["name"] == name
        won = next(r for r in answers if r.status_code == 201).json()
        winner_shard = 0 if won["metadata"]["labels"][TENANT] == "acme" else 1
        assert shards_holding(cluster, name) == [winner_shard]
    for url in {first, second}:
        with httpx.Client(base_url=url) as client:
            items = client.get("/api/v1/nodes").json()["items"]
        names = [i["metadata"]["name"] for i in items if i["metadata"]["name"].startswith(prefix)]
        assert sorted(names) == sorted(f"{prefix}{k}" for k in range(15)), url


# -- crash repair -----------------------------------------------------------------------------


def put_claim(cluster: Cluster, name: str, shard: str, state: str, since: float) -> None:
    value = json.dumps({"shard": shard, "state": state, "since": since})
    etcdctl(cluster.etcd[0], "put", CLAIMS + name, value)


def test_stale_pending_claim_blocks_only_until_its_ttl(cluster: Cluster, api: httpx.Client) -> None:
    """A creator that crashed after claiming, before writing the object: its pending claim
    holds the name while a create could still be in flight (PENDING_TTL), not after."""
    put_claim(cluster, "crash-pending", "shard-b", "pending", time.time())
    r = api.post("/api/v1/nodes", json=node("crash-pending", "acme"))
    assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists", r.text
    put_claim(cluster, "crash-pending", "shard-b", "pending", time.time() - PENDING_TTL - 1)
    r = api.post("/api/v1/nodes", json=node("crash-pending", "acme"))
    assert r.status_code == 201, r.text
    claim = etcd_get(cluster.etcd[0], CLAIMS + "crash-pending")
    assert claim is not None and (claim["shard"], claim["state"]) == ("shard-a", "bound")
    assert shards_holding(cluster, "crash-pending") == [0]


@pytest.mark.parametrize("holder", ["shard-a", "shard-b"])
def test_bound_claim_without_its_object_does_not_block(
    cluster: Cluster, api: httpx.Client, holder: str
) -> None:
    """A crash between deleting the object and its claim leaves a bound claim: the next create
    of the name, on either shard, removes it at once."""
    name = f"crash-bound-{holder}"
    put_claim(cluster, name, holder, "bound", time.time())
    r = api.post("/api/v1/nodes", json=node(name, "globex"))
    assert r.status_code == 201, r.text
    claim = etcd_get(cluster.etcd[0], CLAIMS + name)
    assert claim is not None and (claim["shard"], claim["state"]) == ("shard-b", "bound")


def test_unreadable_claim_does_not_block(cluster: Cluster, api: httpx.Client) -> None:
    etcdctl(cluster.etcd[0], "put", CLAIMS + "crash-garbage", "{not json")
    r = api.post("/api/v1/nodes", json=node("crash-garbage", "acme"))
    assert r.status_code == 201, r.text


def test_node_without_a_claim_still_holds_its_name(cluster: Cluster, api: httpx.Client) -> None:
    """A node written before claims existed (or whose claim was lost) on shard-b: a create of
    its name on shard-a is refused, and the claim is repaired to name shard-b."""
    name = "legacy-node"
    legacy = {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": "0b9f4d7e-legacy",
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "labels": {TENANT: "globex"},
        },
    }
    etcdctl(cluster.etcd[1], "put", NODE_KEYS + name, json.dumps(legacy))
    assert etcd_get(cluster.etcd[0], CLAIMS + name) is None
    for tenant in ("acme", "globex", None):  # the other shard, its own shard, the default one
        r = api.post("/api/v1/nodes", json=node(name, tenant))
        assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists", (tenant, r.text)
    assert shards_holding(cluster, name) == [1]
    claim = etcd_get(cluster.etcd[0], CLAIMS + name)
    assert claim is not None and (claim["shard"], claim["state"]) == ("shard-b", "bound")
    # Deleting it releases the name for the other shard.
    assert api.delete(f"/api/v1/nodes/{name}").status_code == 200
    assert etcd_get(cluster.etcd[0], CLAIMS + name) is None
    assert api.post("/api/v1/nodes", json=node(name, "acme")).status_code == 201
    assert shards_holding(cluster, name) == [0]


def test_racing_node_and_foreign_pod_never_both_land(cluster: Cluster) -> None:
    """A Node labelled acme and a globex pod bound to its name, POSTed at the same moment
    (the review found 40 of 40 pairs both accepted): each side writes, then re-checks the
    other and undoes itself on a clash, so at most one of them stays."""
    url = cluster.proxies[0].url
    both = 0
    for k in range(20):
        name = f"prace-{k}"
        start = threading.Barrier(2)

        def post(
            path: str, body: dict[str, Any], start: threading.Barrier = start
        ) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=30) as client:
                client.get("/api/v1/nodes/")  # connected before the start line
                start.wait()
                return client.post(path, json=body)

        with ThreadPoolExecutor(2) as pool:
            node_f = pool.submit(post, "/api/v1/nodes", node(name, "acme"))
            pod_f = pool.submit(post, f"/api/v1/namespaces/{GX}/pods", pod(name, node=name))
            node_r, pod_r = node_f.result(), pod_f.result()
        assert {node_r.status_code, pod_r.status_code} <= {201, 403}, (node_r.text, pod_r.text)
        with httpx.Client(base_url=url, timeout=30) as client:
            node_there = client.get(f"/api/v1/nodes/{name}").status_code == 200
            pod_there = client.get(f"/api/v1/namespaces/{GX}/pods/{name}").status_code == 200
        assert node_there == (node_r.status_code == 201)
        assert pod_there == (pod_r.status_code == 201)
        both += node_there and pod_there
    assert both == 0
