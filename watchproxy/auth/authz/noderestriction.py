"""NodeRestriction admission (plugin/pkg/admission/noderestriction/admission.go): what a kubelet
may write once the Node authorizer (node.py) let the request through -- its own Node (no
restricted labels), mirror pods bound to it, its pods' status and evictions, its PVCs' status,
its Lease, tokens bound to its pods. Split from node.py: authorizing reads and admitting writes
are two steps kube keeps apart too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from watchproxy.auth.authz.node import (
    MIRROR_POD_ANNOTATION,
    NODE_LEASE_NAMESPACE,
    _d,
    _l,
    _s,
    is_mirror_pod,
    pod_configmap_names,
    pod_secret_names,
)
from watchproxy.auth.authz.rbac import ReferenceNotFound, semantic_equal
from watchproxy.auth.user import NODE_USER_PREFIX
from watchproxy.core.validation import go_quote

# -- NodeRestriction admission -------------------------------------------------------------------

_OPERATIONS: Final = {
    "create": "CREATE",
    "update": "UPDATE",
    "patch": "UPDATE",
    "delete": "DELETE",
    "deletecollection": "DELETE",
}
# k8s.io/kubelet/pkg/apis/well_known_labels.go
KUBELET_LABELS: Final = frozenset(
    {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
    }
)
KUBELET_LABEL_NAMESPACES: Final = ("kubelet.kubernetes.io", "node.kubernetes.io")
NODE_RESTRICTION_LABEL_NAMESPACE: Final = "node-restriction.kubernetes.io"


def _label_namespace(key: str) -> str:
    prefix, sep, _ = key.partition("/")
    return prefix if sep else ""


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubelet_label(key: str) -> bool:
    """kubeletapis.IsKubeletLabel: a label a kubelet may set on its own Node."""
    if key in KUBELET_LABELS:
        return True
    namespace = _label_namespace(key)
    return any(_in_namespace(namespace, allowed) for allowed in KUBELET_LABEL_NAMESPACES)


def forbidden_node_labels(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[str]:
    """getModifiedLabels + getForbiddenLabels (noderestriction/admission.go), sorted: added,
    removed or changed labels in node-restriction.kubernetes.io, or in kubernetes.io / k8s.io
    but not one kubelets may set."""
    modified = {
        k for k in new.keys() | old.keys() if k not in new or k not in old or new[k] != old[k]
    }
    forbidden = set()
    for key in modified:
        namespace = _label_namespace(key)
        if _in_namespace(namespace, NODE_RESTRICTION_LABEL_NAMESPACE):
            forbidden.add(key)
        kubernetes = _in_namespace(namespace, "kubernetes.io") or _in_namespace(namespace, "k8s.io")
        if kubernetes and not is_kubelet_label(key):
            forbidden.add(key)
    return sorted(forbidden)


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _d(_d(obj).get("metadata"))


def node_may_request_token(
    node: str, token_request: Mapping[str, Any] | None, bound_pod: Mapping[str, Any] | None
) -> str | None:
    """admitServiceAccount (noderestriction/admission.go) for a node's TokenRequest
    (serviceaccounts/token create): it must be bound to a pod (`spec.boundObjectRef` apiVersion
    v1, kind Pod, name and uid set) that is `bound_pod` (the stored pod of that name, looked up
    by the caller; same uid) and runs on `node`.  None, or the refusal kube wraps in a 403.
    Raises ReferenceNotFound when the pod does not exist (kube: 404).

    That the pod runs as this ServiceAccount is the TokenRequest storage's own check (400), and
    that the ServiceAccount is used by a pod on the node is the authorizer's (NodeAuthorizer)."""
    ref = _d(_d(_d(token_request).get("spec")).get("boundObjectRef"))
    if (
        not ref
        or ref.get("apiVersion") != "v1"
        or ref.get("kind") != "Pod"
        or not _s(ref.get("name"))
    ):
        return "node requested token not bound to a pod"
    uid = _s(ref.get("uid"))
    if not uid:
        return "node requested token with a pod binding without a uid"
    if bound_pod is None:
        raise ReferenceNotFound("", "pods", _s(ref.get("name")))
    if uid != _s(_meta(bound_pod).get("uid")):
        return (
            f"the UID in the bound object reference ({uid}) does not match the UID in record."
            " The object might have been deleted and then recreated"
        )
    if _s(_d(bound_pod.get("spec")).get("nodeName")) != node:
        return "node requested token bound to a pod scheduled on a different node"
    return None


def node_may_write(
    node: str,
    verb: str,
    resource: str,
    subresource: str,
    obj: Mapping[str, Any] | None,
    old_obj: Mapping[str, Any] | None,
    *,
    name: str = "",
    namespace: str = "",
    node_uid: str | None = None,
) -> str | None:
    """NodeRestriction (plugin/pkg/admission/noderestriction/admission.go) for a write by the
    node `node` (from `node_identity`; call it only for node users).

    `verb`: create, update, patch, delete (others are not admitted: None).  `resource`: the
    ObjectSource key (`pods`, `nodes`, `persistentvolumeclaims`, `serviceaccounts`,
    `leases.coordination.k8s.io`, `csinodes.storage.k8s.io`; any other resource: None).  `obj`:
    the object as it would be stored (an Eviction for pods/eviction, a TokenRequest for
    serviceaccounts/token); `old_obj`: the stored object the request acts on (for
    pods/eviction the pod to evict, for serviceaccounts/token the pod the token is bound to).
    `name` / `namespace` default to the request's object's metadata.  `node_uid`: the uid of
    this node's Node (mirror pods' owner reference must carry it; None: there is no Node).

    Returns None, or the error kube wraps with admission.NewForbidden (a 403 whose message is
    `<resource> "<name>" is forbidden: <this>`).  Raises ReferenceNotFound where kube answers
    404 (the pod to delete, evict or bind a token to, or the Node of a mirror pod, is missing).
    """
    operation = _OPERATIONS.get(verb)
    if operation is None:
        return None
    if not node:
        return f"could not determine node from user {go_quote(NODE_USER_PREFIX)}"
    name = name or _s(_meta(obj).get("name")) or _s(_meta(old_obj).get("name"))
    namespace = namespace or _s(_meta(obj).get("namespace")) or _s(_meta(old_obj).get("namespace"))
    if resource == "pods":
        if subresource == "":
            return _admit_pod(node, operation, obj, old_obj, name, node_uid)
        if subresource == "status":
            return _admit_pod_status(node, operation, obj, old_obj)
        if subresource == "eviction":
            return _admit_pod_eviction(node, operation, obj, old_obj, name)
        return (
            f"unexpected pod subresource {go_quote(subresource)}, only 'status' and 'eviction'"
            " are allowed"
        )
    if resource == "nodes":
        return _admit_node(node, operation, obj, old_obj, name)
    if resource == "persistentvolumeclaims":
        if subresource != "status":
            return "may only update PVC status"
        return _admit_pvc_status(node, operation, obj, old_obj)
    if resource == "serviceaccounts":
        if operation != "CREATE" or subresource != "token":
            return None
        return node_may_request_token(node, obj, old_obj)
    if resource == "leases.coordination.k8s.io":
        if namespace != NODE_LEASE_NAMESPACE:
            return (
                f"can only access leases in the {go_quote(NODE_LEASE_NAMESPACE)} system namespace"
            )
        if name != node:
            return "can only access node lease with the same name as the requesting node"
        return None
    if resource == "csinodes.storage.k8s.io":
        if name != node:
            return "can only access CSINode with the same name as the requesting node"
        return None
    return None


def _admit_pod(
    node: str,
    operation: str,
    pod: Mapping[str, Any] | None,
    old: Mapping[str, Any] | None,
    name: str,
    node_uid: str | None,
) -> str | None:
    """admitPod / admitPodCreate."""
    q = go_quote(node)
    if operation == "DELETE":
        if old is None:
            raise ReferenceNotFound("", "pods", name)
        if _s(_d(old.get("spec")).get("nodeName")) != node:
            return f"node {q} can only delete pods with spec.nodeName set to itself"
        return None
    if operation != "CREATE":
        return (
            f"unexpected operation {go_quote(operation)}, node {q} can only create and delete"
            " mirror pods"
        )
    pod = _d(pod)
    spec = _d(pod.get("spec"))
    if not is_mirror_pod(pod):
        return (
            f"pod does not have {go_quote(MIRROR_POD_ANNOTATION)} annotation, node {q} can only"
            " create mirror pods"
        )
    if _s(spec.get("nodeName")) != node:
        return f"node {q} can only create pods with spec.nodeName set to itself"
    owners = _l(_meta(pod).get("ownerReferences"))
    if len(owners) > 1:
        return f"node {q} can only create pods with a single owner reference set to itself"
    if not owners:
        return f"node {q} can only create pods with an owner reference set to itself"
    owner = _d(owners[0])
    if owner.get("apiVersion") != "v1" or owner.get("kind") != "Node" or owner.get("name") != node:
        return f"node {q} can only create pods with an owner reference set to itself"
    if owner.get("controller") is not True:
        return f"node {q} can only create pods with a controller owner reference set to itself"
    if owner.get("blockOwnerDeletion") is True:
        return f"node {q} must not set blockOwnerDeletion on an owner reference"
    if node_uid is None:
        raise ReferenceNotFound("", "nodes", node)
    if _s(owner.get("uid")) != node_uid:
        return f"node {node} UID mismatch: expected {_s(owner.get('uid'))} got {node_uid}"
    if _s(spec.get("serviceAccountName")):
        return f"node {q} can not create pods that reference a service account"
    if next(pod_secret_names(pod), None) is not None:
        return f"node {q} can not create pods that reference secrets"
    if next(pod_configmap_names(pod), None) is not None:
        return f"node {q} can not create pods that reference configmaps"
    volumes = [_d(v) for v in _l(spec.get("volumes"))]
    for volume in volumes:
        for source in map(_d, _l(_d(volume.get("projected")).get("sources"))):
            if source.get("clusterTrustBundle") is not None:
                return f"node {q} can not create pods that reference clustertrustbundles"
    for volume in volumes:
        if volume.get("persistentVolumeClaim") is not None:
            return f"node {q} can not create pods that reference persistentvolumeclaims"
    return None


def _admit_pod_status(
    node: str, operation: str, pod: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> str | None:
    """admitPodStatus."""
    if operation != "UPDATE":
        return f"unexpected operation {go_quote(operation)}"
    q = go_quote(node)
    if _s(_d(_d(old).get("spec")).get("nodeName")) != node:
        return f"node {q} can only update pod status for pods with spec.nodeName set to itself"
    if dict(_d(_meta(old).get("labels"))) != dict(_d(_meta(pod).get("labels"))):
        return f"node {q} cannot update labels through pod status"

    def claim_statuses(p: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
        return [
            (_s(_d(s).get("name")), _d(s).get("resourceClaimName"))
            for s in _l(_d(_d(p).get("status")).get("resourceClaimStatuses"))
        ]

    if claim_statuses(old) != claim_statuses(pod):
        return f"node {q} cannot update resource claim statues"
    return None


def _admit_pod_eviction(
    node: str,
    operation: str,
    eviction: Mapping[str, Any] | None,
    pod: Mapping[str, Any] | None,
    name: str,
) -> str | None:
    """admitPodEviction: `pod` is the pod to evict (None: it does not exist)."""
    if operation != "CREATE":
        return f"unexpected operation {operation}"
    pod_name = name or _s(_meta(eviction).get("name"))
    if not pod_name:
        return "could not determine pod from request data"
    if pod is None:
        raise ReferenceNotFound("", "pods", pod_name)
    if _s(_d(pod.get("spec")).get("nodeName")) != node:
        return f"node {node} can only evict pods with spec.nodeName set to itself"
    return None


def _admit_node(
    node: str,
    operation: str,
    new: Mapping[str, Any] | None,
    old: Mapping[str, Any] | None,
    name: str,
) -> str | None:
    """admitNode."""
    q = go_quote(node)
    if name != node:
        return f"node {q} is not allowed to modify node {go_quote(name)}"
    new_spec = _d(_d(new).get("spec"))
    if operation == "CREATE":
        if new_spec.get("configSource") is not None:
            return f"node {q} is not allowed to create pods with a non-nil configSource"
        forbidden = forbidden_node_labels(_d(_meta(new).get("labels")), {})
        if forbidden:
            return f"node {q} is not allowed to set the following labels: {', '.join(forbidden)}"
    if operation == "UPDATE":
        old_spec = _d(_d(old).get("spec"))
        config = new_spec.get("configSource")
        if config is not None and not semantic_equal(config, old_spec.get("configSource")):
            return f"node {q} is not allowed to update configSource to a new non-nil configSource"
        if not semantic_equal(new_spec.get("taints"), old_spec.get("taints")):
            return f"node {q} is not allowed to modify taints"
        forbidden = forbidden_node_labels(
            _d(_meta(new).get("labels")), _d(_meta(old).get("labels"))
        )
        if forbidden:
            return f"is not allowed to modify labels: {', '.join(forbidden)}"
    return None


def _admit_pvc_status(
    node: str, operation: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> str | None:
    """admitPVCStatus (RecoverVolumeExpansionFailure on): nothing but status.capacity,
    status.conditions, status.allocatedResources and status.allocatedResourceStatuses may
    change.  kube appends a cmp.Diff of the objects; here the changed top-level fields."""
    if operation != "UPDATE":
        return f"unexpected operation {go_quote(operation)}"

    def stripped(obj: Mapping[str, Any] | None) -> dict[str, Any]:
        out = dict(_d(obj))
        meta = dict(_meta(obj))
        meta.pop("resourceVersion", None)
        meta.pop("managedFields", None)
        status = dict(_d(out.get("status")))
        for key in ("capacity", "conditions", "allocatedResources", "allocatedResourceStatuses"):
            status.pop(key, None)
        out["metadata"], out["status"] = meta, status
        return out

    a, b = stripped(old), stripped(new)
    if semantic_equal(a, b):
        return None
    changed = sorted(
        f"{top}.{key}"
        for top in ("metadata", "spec", "status")
        for key in _d(a.get(top)).keys() | _d(b.get(top)).keys()
        if not semantic_equal(_d(a.get(top)).get(key), _d(b.get(top)).get(key))
    )
    return (
        f"node {go_quote(node)} is not allowed to update fields other than status.capacity and"
        f" status.conditions: {', '.join(changed)}"
    )
