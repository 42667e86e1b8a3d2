"""The demo cluster `watchproxy dev` seeds: namespaces, nodes and pods of two tenants, and the
RoleBindings that let each tenant's group (`TENANT-devs`) edit its namespaces.

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


RBAC_GROUP = "rbac.authorization.k8s.io"
# The ClusterRole a tenant's group gets in each of its namespaces. The bootstrap ClusterRoles
# (admin, edit, view, ...) are written by the server at start-up, not by the seed.
TENANT_ROLE = "edit"


def tenant_group(tenant: str) -> str:
    """The demo group whose members work in `tenant` (client certificates carry it as O=)."""
    return f"{tenant}-devs"


def _role_binding(tenant: str, namespace: str) -> JsonObject:
    meta = _meta(f"{tenant_group(tenant)}-{TENANT_ROLE}", namespace)
    del meta["generation"]  # RBAC objects have no generation
    return {
        "kind": "RoleBinding",
        "apiVersion": f"{RBAC_GROUP}/v1",
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": TENANT_ROLE},
        "subjects": [{"kind": "Group", "apiGroup": RBAC_GROUP, "name": tenant_group(tenant)}],
    }


def demo_objects(tenants: dict[str, list[str]]) -> list[tuple[str, JsonObject]]:
    """(resource plural, object) pairs: kube's system namespaces; per tenant two nodes and its
    namespaces, each with a ConfigMap, three pods, the `default` ServiceAccount and a RoleBinding
    of the tenant's group to ClusterRole `edit`."""
    out: list[tuple[str, JsonObject]] = []
    # The namespaces kube-apiserver creates at start (kube-node-lease holds kubelets' Leases).
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
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
            out.append(("rolebindings", _role_binding(tenant, ns)))
            # kube-controller-manager's ServiceAccount controller gives every namespace one.
            out.append(
                (
                    "serviceaccounts",
                    {
                        "kind": "ServiceAccount",
                        "apiVersion": "v1",
                        "metadata": _meta("default", ns),
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
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        resource = proxy.registry.lookup(group, version, plural)
        assert resource is not None, f"{plural}.{group} is not a served resource"
        shard = proxy.tenancy.shard_of_object(resource, obj)
        meta = obj["metadata"]
        # Written as stored objects (the demo's pods are Running): no claim is taken for the
        # nodes; the first create of a clashing name finds and claims them (registry/claims.py).
        key = store.key(shard, resource, meta.get("namespace", ""), meta["name"])
        await proxy.shards[shard].client.put(key, storage_value(obj))
        count += 1
    return count
