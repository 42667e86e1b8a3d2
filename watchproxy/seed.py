"""The demo cluster `watchproxy dev` seeds: namespaces, nodes and pods of two tenants.

Objects are written straight into each tenant's etcd in the proxy's storage format, before the
proxy starts, so the demo needs no running proxy to exist.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from watchproxy.proxy import Proxy
from watchproxy.registry.objects import storage_value
from watchproxy.registry.store import Store
from watchproxy.resources import TENANT_LABEL

JsonObject = dict[str, Any]


def _meta(
    name: str, namespace: str | None = None, labels: dict[str, str] | None = None
) -> JsonObject:
    meta: JsonObject = {
        "name": name,
        "uid": str(uuid.uuid4()),
        "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generation": 1,
    }
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def demo_objects(tenants: dict[str, list[str]]) -> list[tuple[str, JsonObject]]:
    """(resource plural, object) pairs: per tenant two namespaces, two nodes, three pods each."""
    out: list[tuple[str, JsonObject]] = []
    for ns in ("default", "kube-system"):
        out.append(
            (
                "namespaces",
                {
                    "kind": "Namespace",
                    "apiVersion": "v1",
                    "metadata": _meta(ns),
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                },
            )
        )
    for tenant, namespaces in tenants.items():
        nodes = [f"{tenant}-node-{i}" for i in (1, 2)]
        for node in nodes:
            out.append(
                (
                    "nodes",
                    {
                        "kind": "Node",
                        "apiVersion": "v1",
                        "metadata": _meta(
                            node, labels={TENANT_LABEL: tenant, "kubernetes.io/hostname": node}
                        ),
                        "spec": {},
                        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                    },
                )
            )
        for ns in namespaces:
            out.append(
                (
                    "namespaces",
                    {
                        "kind": "Namespace",
                        "apiVersion": "v1",
                        "metadata": _meta(ns, labels={"tenant": tenant}),
                        "spec": {"finalizers": ["kubernetes"]},
                        "status": {"phase": "Active"},
                    },
                )
            )
            out.append(
                (
                    "configmaps",
                    {
                        "kind": "ConfigMap",
                        "apiVersion": "v1",
                        "metadata": _meta("app-config", ns),
                        "data": {"tenant": tenant},
                    },
                )
            )
            for i in range(3):
                name = f"web-{i}"
                out.append(
                    (
                        "pods",
                        {
                            "kind": "Pod",
                            "apiVersion": "v1",
                            "metadata": _meta(name, ns, {"app": "web", "tenant": tenant}),
                            "spec": {
                                "nodeName": nodes[i % 2],
                                "containers": [{"name": "web", "image": "nginx:1.27"}],
                            },
                            "status": {"phase": "Running"},
                        },
                    )
                )
    return out


async def seed(proxy: Proxy, tenants: dict[str, list[str]]) -> int:
    count = 0
    store = Store(proxy)
    for plural, obj in demo_objects(tenants):
        resource = proxy.registry.lookup("", "v1", plural)
        assert resource is not None
        shard = proxy.tenancy.shard_of_object(resource, obj)
        meta = obj["metadata"]
        # Written as stored objects (the demo's pods are Running): no claim is taken for the
        # nodes; the first create of a clashing name finds and claims them (registry/claims.py).
        key = store.key(shard, resource, meta.get("namespace", ""), meta["name"])
        await proxy.shards[shard].client.put(key, storage_value(obj))
        count += 1
    return count
