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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What a kubelet on a 4-CPU, 16 GiB machine reports (kubelet defaults: 110 pods; allocatable is
# capacity less system-reserved/kube-reserved and the eviction threshold).
NODE_CAPACITY: dict[str, str] = {
    "cpu": "4",
    "memory": "16374584Ki",
    "pods": "110",
    "ephemeral-storage": "101430960Ki",
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
}
NODE_ALLOCATABLE: dict[str, str] = {
    **NODE_CAPACITY,
    "cpu": "3800m",
    "memory": "15747896Ki",
    "ephemeral-storage": "93478772582",
}
KUBELET_VERSION = "v1.32.4"
# kubelet's --node-lease-duration-seconds default.
NODE_LEASE_SECONDS = 40


def demo_node(tenant: str, name: str, index: int) -> JsonObject:
    """A Node as a healthy kubelet registers and reports it: capacity, allocatable, the four
    conditions with heartbeats, addresses, nodeInfo, the kubelet endpoint."""
    now = _now()
    conditions = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "has sufficient memory available",
        ),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "is posting ready status"),
    ]
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": _meta(
            name,
            labels={
                TENANT_LABEL: tenant,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
            },
        ),
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": dict(NODE_CAPACITY),
            "allocatable": dict(NODE_ALLOCATABLE),
            "conditions": [
                {
                    "type": kind,
                    "status": status,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                    "reason": reason,
                    "message": f"kubelet {message}",
                }
                for kind, status, reason, message in conditions
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{index}.{10 + len(tenant)}"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, name).hex,
                "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                "bootID": str(uuid.uuid4()),
                "kernelVersion": "6.1.0-28-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def node_lease(node: str) -> JsonObject:
    """The node's heartbeat Lease in kube-node-lease, as its kubelet keeps it."""
    meta = _meta(node, "kube-node-lease")
    del meta["generation"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "kind": "Lease",
        "apiVersion": "coordination.k8s.io/v1",
        "metadata": meta,
        "spec": {
            "holderIdentity": node,
            "leaseDurationSeconds": NODE_LEASE_SECONDS,
            "renewTime": now,
        },
    }


def demo_objects(tenants: dict[str, list[str]]) -> list[tuple[str, JsonObject]]:
    """(resource plural, object) pairs: kube's system namespaces; per tenant two nodes (each
    with its Lease in kube-node-lease) and its namespaces, each with a ConfigMap, three pods,
    the `default` ServiceAccount and a RoleBinding of the tenant's group to ClusterRole `edit`."""
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
        for index, node in enumerate(nodes):
            out.append(("nodes", demo_node(tenant, node, index)))
            out.append(("leases", node_lease(node)))
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
                                "containers": [
                                    {
                                        "name": "web",
                                        "image": "nginx:1.27",
                                        # kubectl describe node sums these per node.
                                        "resources": {
                                            "requests": {"cpu": "100m", "memory": "128Mi"},
                                            "limits": {"memory": "256Mi"},
                                        },
                                    }
                                ],
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
