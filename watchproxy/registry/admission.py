"""Admission checks of the write path that read other objects (kube's admission plugins' place,
after validation, before storage): NamespaceLifecycle, and the tenancy rule that tenants do not
share nodes. Reads are linearizable etcd reads through the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchproxy.api.status import ApiError
from watchproxy.registry.errors import forbidden
from watchproxy.resources import TENANT_LABEL, ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.store import Store


async def check_namespace_open(
    store: Store, resource: ResourceType, namespace: str, name: str
) -> None:
    """NamespaceLifecycle admission: the namespace exists and is not terminating."""
    found = await store.locate(store.resource("namespaces"), "", namespace)
    if found is None:
        raise ApiError(
            404,
            "NotFound",
            f'namespaces "{namespace}" not found',
            details={"name": namespace, "kind": "namespaces"},
        )
    status = found.obj.get("status") or {}
    if status.get("phase") == "Terminating" or found.obj["metadata"].get("deletionTimestamp"):
        raise forbidden(
            resource,
            name,
            f"unable to create new content in namespace {namespace} because it is being terminated",
            causes=[
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        )


async def check_node_tenancy(
    store: Store, resource: ResourceType, namespace: str, name: str, node: str
) -> None:
    """Tenants do not share nodes: a pod of tenant T may be bound to a node labelled T or
    to a shared (unlabelled) node; a node of another tenant is a 403 naming both."""
    found = await store.locate(store.resource("nodes"), "", node)
    if found is None:
        return  # kube binds to nodes that do not exist yet; the kubelet registers later
    labels = found.obj["metadata"].get("labels") or {}
    node_tenant = labels.get(TENANT_LABEL) if isinstance(labels, dict) else None
    if node_tenant is None:
        return
    pod_tenant = store.tenancy.tenant_of_namespace(namespace)
    if pod_tenant == node_tenant:
        return
    owner = f'tenant "{pod_tenant}"' if pod_tenant else "no tenant"
    raise forbidden(
        resource,
        name,
        f'pod in namespace "{namespace}" ({owner}) cannot be bound to node "{node}" of '
        f'tenant "{node_tenant}": tenants do not share nodes',
    )
