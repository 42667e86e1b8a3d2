"""Admission checks of the write path that read other objects (kube's admission plugins' place,
after validation, before storage): NamespaceLifecycle, and the tenancy rule that tenants do not
share nodes. Reads are linearizable etcd reads through the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watchproxy.api.status import ApiError, not_found
from watchproxy.auth.authz.node import node_identity
from watchproxy.auth.authz.noderestriction import node_may_write
from watchproxy.auth.authz.rbac import ReferenceNotFound
from watchproxy.auth.context import request_auth
from watchproxy.registry.errors import forbidden
from watchproxy.resources import TENANT_LABEL, ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

JsonObject = dict[str, Any]


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
        auth = request_auth()
        if auth is not None and auth.enforced and auth.tenant is not None:
            # A tenant identity binding to a name no node has yet would reserve that name
            # against its future owner (a labelled node cannot be created under another
            # tenant's pods): only existing nodes, of its tenant or shared.
            raise forbidden(
                resource,
                name,
                f'watchproxy: node "{node}" does not exist; pods of tenant "{auth.tenant}" are'
                " bound only to existing nodes of their tenant or shared nodes",
            )
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


async def admit_request(
    store: Store,
    resource: ResourceType,
    verb: str,
    subresource: str,
    obj: JsonObject | None,
    old: JsonObject | None,
) -> None:
    """Admission that depends on who asks (auth/context.py), after the type's own checks:

    - NodeRestriction for nodes (plugin/pkg/admission/noderestriction): a kubelet writes only
      its own Node and Lease, its pods' status, mirror pods bound to it (auth/authz/node.py);
    - tenant scope for tenant identities: a Namespace they create or change must be one of their
      tenant's, and another cluster-scoped object must carry their tenant's label (a tenant
      cannot hand an object to another tenant).

    Writes with no request identity (controllers, start-up) and open-admin mode are not checked.
    Raises 403 Forbidden with kube's `<resource> "<name>" is forbidden: ...` message, or 404.
    """
    auth = request_auth()
    if auth is None or not auth.enforced:
        return
    target = obj if obj is not None else old
    meta = (target or {}).get("metadata") or {}
    name = str(meta.get("name") or "")
    node, is_node = node_identity(auth.user)
    if is_node:
        found = await store.locate(store.resource("nodes"), "", node) if node else None
        node_uid = (found.obj.get("metadata") or {}).get("uid") if found is not None else None
        try:
            refusal = node_may_write(
                node,
                verb,
                resource.key,
                subresource,
                obj,
                old,
                name=name,
                namespace=str(meta.get("namespace") or ""),
                node_uid=node_uid,
            )
        except ReferenceNotFound as exc:
            raise not_found(exc.resource, exc.name, exc.group) from exc
        if refusal is None and resource.key == "nodes":
            refusal = _node_tenant_label_change(obj, old)
        if refusal is not None:
            raise forbidden(resource, name or "Unknown", refusal)
    tenant = auth.tenant
    if tenant is None or resource.namespaced or obj is None:
        return
    if not resource.group and resource.plural == "namespaces":
        owner = store.tenancy.tenant_of_namespace(name)
        if owner != tenant:
            raise forbidden(
                resource, name, f'watchproxy: namespace "{name}" is not in tenant "{tenant}"'
            )
        return
    label = (meta.get("labels") or {}).get(TENANT_LABEL)
    if label != tenant:
        raise forbidden(
            resource,
            name,
            f'watchproxy: a cluster-scoped object of tenant "{tenant}" must carry the label'
            f" {TENANT_LABEL}={tenant}",
        )


def _node_tenant_label_change(obj: JsonObject | None, old: JsonObject | None) -> str | None:
    """A kubelet may not choose its Node's tenant: the `watchproxy.io/tenant` label is set by
    administrators (as NodeRestriction keeps node-restriction.kubernetes.io/ labels to them)."""

    def label(o: JsonObject | None) -> Any:
        return (((o or {}).get("metadata") or {}).get("labels") or {}).get(TENANT_LABEL)

    if obj is None or label(obj) == label(old):
        return None
    return f"is not allowed to modify labels: {TENANT_LABEL}"
