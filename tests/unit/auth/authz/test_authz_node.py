"""authz/node.py: kube's Node authorizer with selectors (node_authorizer.go, graph.go) and
NodeRestriction admission (noderestriction/admission.go)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.unit.auth.authz.builders import N1
from tests.unit.auth.authz.builders import req as request_of
from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.node import NodeAuthorizer
from watchproxy.auth.authz.noderestriction import (
    forbidden_node_labels,
    node_may_request_token,
    node_may_write,
)
from watchproxy.auth.authz.rbac import ReferenceNotFound
from watchproxy.auth.user import UserInfo

NO_RELATION = "no relationship found between node 'n1' and this object"


def req(verb: str, resource: str, *, who: UserInfo = N1, **attrs: Any) -> Attributes:
    """A resource request of node n1 (or `who`)."""
    return request_of(who, verb, resource, **attrs)


def pod(
    name: str, node: str, *, ns: str = "ns", mirror: bool = False, **spec: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "x"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"nodeName": node, **spec}}


WEB = pod(
    "web",
    "n1",
    serviceAccountName="web-sa",
    imagePullSecrets=[{"name": "pull"}],
    containers=[
        {
            "name": "c",
            "envFrom": [
                {"secretRef": {"name": "env-secret"}},
                {"configMapRef": {"name": "env-cm"}},
            ],
            "env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "key-secret", "key": "k"}}},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "key-cm", "key": "k"}}},
            ],
        }
    ],
    initContainers=[{"name": "i", "envFrom": [{"secretRef": {"name": "init-secret"}}]}],
    volumes=[
        {"name": "s", "secret": {"secretName": "vol-secret"}},
        {"name": "c", "configMap": {"name": "vol-cm"}},
        {
            "name": "p",
            "projected": {
                "sources": [{"secret": {"name": "proj-secret"}}, {"configMap": {"name": "proj-cm"}}]
            },
        },
        {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
        {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
        {"name": "csi", "csi": {"driver": "x", "nodePublishSecretRef": {"name": "csi-secret"}}},
    ],
    resourceClaims=[{"name": "gpu", "resourceClaimName": "gpu-claim"}],
)


@pytest.fixture
def node_source(source: Any) -> Any:
    source.put("pods", WEB)
    source.put("pods", pod("other", "n2", imagePullSecrets=[{"name": "other-secret"}]))
    source.put(
        "pods", pod("static", "n1", mirror=True, imagePullSecrets=[{"name": "mirror-secret"}])
    )
    source.put("pods", pod("pending", "", imagePullSecrets=[{"name": "pending-secret"}]))
    source.put(
        "persistentvolumes",
        {
            "metadata": {"name": "pv-data"},
            "spec": {
                "claimRef": {"namespace": "ns", "name": "data"},
                "csi": {
                    "driver": "x",
                    "nodeStageSecretRef": {"namespace": "ns", "name": "stage-secret"},
                    "controllerPublishSecretRef": {"namespace": "ns", "name": "ctrl-secret"},
                },
            },
        },
    )
    source.put(
        "persistentvolumes",
        {"metadata": {"name": "pv-else"}, "spec": {"claimRef": {"namespace": "ns", "name": "x"}}},
    )
    return source


def decide(source: Any, attrs: Attributes) -> Verdict:
    return NodeAuthorizer(source).authorize(attrs)


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        # pods: list/watch only with the selector (AuthorizeNodeWithSelectors)
        pytest.param(
            req("list", "pods", fields=(("spec.nodeName", "=", "n1"),)), "allow", id="list-own-pods"
        ),
        pytest.param(
            req("watch", "pods", ns="ns", fields=(("spec.nodeName", "=", "n1"),)),
            "allow",
            id="watch-own-pods-in-namespace",
        ),
        pytest.param(
            req("list", "pods"),
            "can only list/watch pods with spec.nodeName field selector",
            id="list-all-pods",
        ),
        pytest.param(
            req("list", "pods", fields=(("spec.nodeName", "=", "n2"),)),
            "can only list/watch pods with spec.nodeName field selector",
            id="list-other-nodes-pods",
        ),
        pytest.param(
            req("list", "pods", fields=(("spec.nodeName", "!=", "n1"),)),
            "can only list/watch pods with spec.nodeName field selector",
            id="list-not-equal",
        ),
        pytest.param(
            req("watch", "pods", ns="ns", fields=(("metadata.name", "=", "web"),)),
            "allow",
            id="watch-one-own-pod",
        ),
        pytest.param(req("get", "pods", ns="ns", name="web"), "allow", id="get-own-pod"),
        pytest.param(req("get", "pods", ns="ns", name="static"), "allow", id="get-own-mirror-pod"),
        pytest.param(req("get", "pods", ns="ns", name="other"), NO_RELATION, id="get-other-pod"),
        pytest.param(
            req("get", "pods", ns="ns", name="pending"), NO_RELATION, id="get-unscheduled-pod"
        ),
        pytest.param(req("create", "pods", ns="ns"), "allow", id="create-pod-then-admission"),
        pytest.param(
            req("delete", "pods", ns="ns", name="other"), "allow", id="delete-pod-then-admission"
        ),
        pytest.param(req("update", "pods", ns="ns", name="web"), "", id="update-pod"),
        pytest.param(
            req("patch", "pods", ns="ns", name="web", sub="status"), "allow", id="patch-pod-status"
        ),
        pytest.param(
            req("create", "pods", ns="ns", name="web", sub="eviction"), "allow", id="evict"
        ),
        pytest.param(
            req("get", "pods", ns="ns", name="web", sub="log"),
            "",  # authorizePod has no rule for pods/log: no opinion, no reason
            id="pod-log",
        ),
        # secrets and configmaps: one named object its pods reference
        *[
            pytest.param(req("get", "secrets", ns="ns", name=s), "allow", id=f"secret-{s}")
            for s in (
                "pull",
                "env-secret",
                "key-secret",
                "init-secret",
                "vol-secret",
                "proj-secret",
                "csi-secret",
                "stage-secret",
            )
        ],
        pytest.param(
            req("get", "secrets", ns="ns", name="ctrl-secret"),
            NO_RELATION,
            id="secret-controller-only",
        ),
        pytest.param(
            req("get", "secrets", ns="ns", name="other-secret"),
            NO_RELATION,
            id="secret-of-other-nodes-pod",
        ),
        pytest.param(
            req("get", "secrets", ns="ns", name="mirror-secret"),
            NO_RELATION,
            id="secret-of-mirror-pod",
        ),
        pytest.param(
            req("get", "secrets", ns="ns2", name="pull"), NO_RELATION, id="secret-other-namespace"
        ),
        pytest.param(
            req("watch", "secrets", ns="ns", fields=(("metadata.name", "=", "pull"),)),
            "allow",
            id="watch-one-secret",
        ),
        pytest.param(req("list", "secrets", ns="ns"), "No Object name found", id="list-secrets"),
        pytest.param(
            req("update", "secrets", ns="ns", name="pull"),
            "can only read resources of this type",
            id="update-secret",
        ),
        pytest.param(
            req("list", "secrets"),
            "can only read namespaced object of this type",
            id="list-secrets-all-namespaces",
        ),
        *[
            pytest.param(req("get", "configmaps", ns="ns", name=c), "allow", id=f"configmap-{c}")
            for c in ("env-cm", "key-cm", "vol-cm", "proj-cm")
        ],
        pytest.param(
            req("get", "configmaps", ns="ns", name="nope"), NO_RELATION, id="configmap-unreferenced"
        ),
        # claims and volumes: get only
        pytest.param(req("get", "persistentvolumeclaims", ns="ns", name="data"), "allow", id="pvc"),
        pytest.param(
            req("get", "persistentvolumeclaims", ns="ns", name="web-scratch"),
            "allow",
            id="ephemeral-pvc",
        ),
        pytest.param(
            req("list", "persistentvolumeclaims", ns="ns"),
            "can only get individual resources of this type",
            id="list-pvcs",
        ),
        pytest.param(
            req("patch", "persistentvolumeclaims", ns="ns", name="data", sub="status"),
            "allow",
            id="pvc-status",
        ),
        pytest.param(
            req("get", "persistentvolumeclaims", ns="ns", name="data", sub="status"),
            "can only get/update/patch this type",
            id="pvc-status-get",
        ),
        pytest.param(req("get", "persistentvolumes", name="pv-data"), "allow", id="pv"),
        pytest.param(
            req("get", "persistentvolumes", name="pv-else"), NO_RELATION, id="pv-of-other-claim"
        ),
        pytest.param(
            req("get", "resourceclaims", ns="ns", name="gpu-claim", group="resource.k8s.io"),
            "allow",
            id="resourceclaim",
        ),
        pytest.param(
            req("watch", "resourceclaims", ns="ns", group="resource.k8s.io"),
            "can only get individual resources of this type",
            id="watch-resourceclaims",
        ),
        # service account tokens
        pytest.param(
            req("create", "serviceaccounts", ns="ns", name="web-sa", sub="token"),
            "allow",
            id="token",
        ),
        pytest.param(
            req("create", "serviceaccounts", ns="ns", name="default", sub="token"),
            NO_RELATION,
            id="token-other-sa",
        ),
        pytest.param(
            req("get", "serviceaccounts", ns="ns", name="web-sa"),
            "can only create tokens for individual service accounts",
            id="get-sa",
        ),
        # leases
        pytest.param(
            req("update", "leases", ns="kube-node-lease", name="n1", group="coordination.k8s.io"),
            "allow",
            id="own-lease",
        ),
        pytest.param(
            req("create", "leases", ns="kube-node-lease", group="coordination.k8s.io"),
            "allow",
            id="create-lease-then-admission",
        ),
        pytest.param(
            req("get", "leases", ns="kube-node-lease", name="n2", group="coordination.k8s.io"),
            "can only access node lease with the same name as the requesting node",
            id="other-lease",
        ),
        pytest.param(
            req("get", "leases", ns="default", name="n1", group="coordination.k8s.io"),
            'can only access leases in the "kube-node-lease" system namespace',
            id="lease-elsewhere",
        ),
        pytest.param(
            req("list", "leases", ns="kube-node-lease", group="coordination.k8s.io"),
            "can only get, create, update, patch, or delete a node lease",
            id="list-leases",
        ),
        # the node object
        pytest.param(req("get", "nodes", name="n1"), "allow", id="get-own-node"),
        pytest.param(
            req("watch", "nodes", fields=(("metadata.name", "=", "n1"),)),
            "allow",
            id="watch-own-node",
        ),
        pytest.param(
            req("list", "nodes"),
            "node 'n1' cannot read all nodes, only its own Node object",
            id="list-nodes",
        ),
        pytest.param(
            req("get", "nodes", name="n2"),
            "node 'n1' cannot read 'n2', only its own Node object",
            id="get-other-node",
        ),
        pytest.param(
            req("patch", "nodes", name="n2", sub="status"),
            "allow",
            id="patch-node-status-then-admission",
        ),
        pytest.param(req("create", "nodes"), "allow", id="register"),
        pytest.param(req("delete", "nodes", name="n1"), "", id="delete-node"),
        pytest.param(req("get", "nodes", name="n1", sub="proxy"), "", id="node-proxy"),
        # static NodeRules
        pytest.param(req("create", "events", ns="any"), "allow", id="events"),
        pytest.param(
            req("create", "certificatesigningrequests", group="certificates.k8s.io"),
            "allow",
            id="csr",
        ),
        pytest.param(
            req("create", "tokenreviews", group="authentication.k8s.io"), "allow", id="tokenreview"
        ),
        pytest.param(
            req("create", "subjectaccessreviews", group="authorization.k8s.io"), "allow", id="sar"
        ),
        pytest.param(req("list", "services"), "allow", id="services"),
        pytest.param(req("list", "deployments", group="apps"), "", id="deployments"),
        pytest.param(req("delete", "events", ns="any", name="e"), "", id="delete-event"),
    ],
)
def test_node_authorizer(node_source: Any, attrs: Attributes, expected: str) -> None:
    verdict = decide(node_source, attrs)
    if expected == "allow":
        assert verdict == Verdict(Decision.ALLOW)
    else:
        assert verdict == Verdict(Decision.NO_OPINION, expected)


def test_non_nodes_and_unknown_nodes(source: Any) -> None:
    secrets = req("get", "secrets", ns="ns", name="s")
    assert decide(source, req("get", "secrets", ns="ns", name="s", who=UserInfo("alice"))) == (
        Verdict(Decision.NO_OPINION)
    )
    not_in_group = UserInfo("system:node:n1", groups=("system:authenticated",))
    assert decide(source, req("create", "events", who=not_in_group)) == Verdict(Decision.NO_OPINION)
    nameless = UserInfo("system:node:", groups=("system:nodes",))
    assert decide(source, dataclasses.replace(secrets, user=nameless)) == Verdict(
        Decision.NO_OPINION, 'unknown node for user "system:node:"'
    )
    path = Attributes(user=N1, verb="get", is_resource_request=False, path="/healthz")
    assert decide(source, path) == Verdict(Decision.NO_OPINION)


def test_graph_follows_pod_changes(node_source: Any) -> None:
    authz = NodeAuthorizer(node_source)
    get = req("get", "secrets", ns="ns", name="late")
    assert authz.authorize(get).decision is Decision.NO_OPINION
    calls = node_source.pods_on_node_calls
    assert authz.authorize(get).decision is Decision.NO_OPINION
    assert node_source.pods_on_node_calls == calls  # cached while pods are unchanged
    node_source.put("pods", pod("late", "n1", imagePullSecrets=[{"name": "late"}]))
    assert authz.authorize(get).decision is Decision.ALLOW
    node_source.delete("pods", "ns", "late")
    assert authz.authorize(get).decision is Decision.NO_OPINION


def test_volume_attachments_and_slices(source: Any) -> None:
    source.put(
        "volumeattachments.storage.k8s.io", {"metadata": {"name": "va"}, "spec": {"nodeName": "n1"}}
    )
    source.put(
        "resourceslices.resource.k8s.io", {"metadata": {"name": "rs"}, "spec": {"nodeName": "n2"}}
    )
    assert decide(source, req("get", "volumeattachments", name="va", group="storage.k8s.io")) == (
        Verdict(Decision.ALLOW)
    )
    assert decide(source, req("get", "resourceslices", name="rs", group="resource.k8s.io")) == (
        Verdict(Decision.NO_OPINION, NO_RELATION)
    )
    listing = req(
        "list", "resourceslices", group="resource.k8s.io", fields=(("spec.nodeName", "=", "n1"),)
    )
    assert decide(source, listing) == Verdict(Decision.ALLOW)


# -- NodeRestriction ---------------------------------------------------------------------------


def node_obj(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"kind": "Node", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def mirror(**changes: Any) -> dict[str, Any]:
    out = pod("static", "n1", mirror=True)
    out["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": "node-uid", "controller": True}
    ]
    out["spec"].update(changes)
    return out


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        pytest.param(
            ("update", "nodes", "", node_obj("n1"), node_obj("n1")), {}, None, id="own-node"
        ),
        pytest.param(
            ("patch", "nodes", "status", node_obj("n2"), node_obj("n2")),
            {},
            'node "n1" is not allowed to modify node "n2"',
            id="other-node",
        ),
        pytest.param(
            (
                "create",
                "nodes",
                "",
                node_obj("n1", {"kubernetes.io/os": "linux", "team": "a"}),
                None,
            ),
            {},
            None,
            id="register-with-kubelet-labels",
        ),
        pytest.param(
            (
                "create",
                "nodes",
                "",
                node_obj(
                    "n1", {"node-restriction.kubernetes.io/secure": "y", "kubernetes.io/role": "x"}
                ),
                None,
            ),
            {},
            'node "n1" is not allowed to set the following labels: kubernetes.io/role, '
            "node-restriction.kubernetes.io/secure",
            id="register-forbidden-labels",
        ),
        pytest.param(
            ("update", "nodes", "", node_obj("n1", {"node.kubernetes.io/x": "1"}), node_obj("n1")),
            {},
            None,
            id="node-namespace-label",
        ),
        pytest.param(
            (
                "update",
                "nodes",
                "",
                node_obj("n1", {}),
                node_obj("n1", {"example.node-restriction.kubernetes.io/a": "1"}),
            ),
            {},
            "is not allowed to modify labels: example.node-restriction.kubernetes.io/a",
            id="remove-restricted-label",
        ),
        pytest.param(
            (
                "update",
                "nodes",
                "",
                node_obj("n1"),
                node_obj("n1", taints=[{"key": "k", "effect": "NoSchedule"}]),
            ),
            {},
            'node "n1" is not allowed to modify taints',
            id="untaint",
        ),
        pytest.param(
            ("create", "pods", "", mirror(), None), {"node_uid": "node-uid"}, None, id="mirror-pod"
        ),
        pytest.param(
            ("create", "pods", "", pod("p", "n1"), None),
            {"node_uid": "node-uid"},
            'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can'
            " only create mirror pods",
            id="not-mirror",
        ),
        pytest.param(
            ("create", "pods", "", mirror(nodeName="n2"), None),
            {"node_uid": "node-uid"},
            'node "n1" can only create pods with spec.nodeName set to itself',
            id="mirror-other-node",
        ),
        pytest.param(
            ("create", "pods", "", mirror(), None),
            {"node_uid": "new-uid"},
            "node n1 UID mismatch: expected node-uid got new-uid",
            id="mirror-uid",
        ),
        pytest.param(
            ("create", "pods", "", mirror(serviceAccountName="sa"), None),
            {"node_uid": "node-uid"},
            'node "n1" can not create pods that reference a service account',
            id="mirror-sa",
        ),
        pytest.param(
            (
                "create",
                "pods",
                "",
                mirror(volumes=[{"name": "v", "secret": {"secretName": "s"}}]),
                None,
            ),
            {"node_uid": "node-uid"},
            'node "n1" can not create pods that reference secrets',
            id="mirror-secret",
        ),
        pytest.param(
            ("delete", "pods", "", None, pod("p", "n2")),
            {},
            'node "n1" can only delete pods with spec.nodeName set to itself',
            id="delete-other-nodes-pod",
        ),
        pytest.param(("delete", "pods", "", None, pod("p", "n1")), {}, None, id="delete-own-pod"),
        pytest.param(
            ("update", "pods", "", pod("p", "n1"), pod("p", "n1")),
            {},
            'unexpected operation "UPDATE", node "n1" can only create and delete mirror pods',
            id="update-pod",
        ),
        pytest.param(
            ("patch", "pods", "status", pod("p", "n1"), pod("p", "n1")),
            {},
            None,
            id="own-pod-status",
        ),
        pytest.param(
            ("update", "pods", "status", pod("p", "n2"), pod("p", "n2")),
            {},
            'node "n1" can only update pod status for pods with spec.nodeName set to itself',
            id="other-pod-status",
        ),
        pytest.param(
            ("create", "pods", "eviction", {"metadata": {"name": "p"}}, pod("p", "n2")),
            {},
            "node n1 can only evict pods with spec.nodeName set to itself",
            id="evict-other-nodes-pod",
        ),
        pytest.param(
            ("create", "pods", "binding", {}, None),
            {},
            "unexpected pod subresource \"binding\", only 'status' and 'eviction' are allowed",
            id="pod-binding",
        ),
        pytest.param(
            (
                "create",
                "leases.coordination.k8s.io",
                "",
                {"metadata": {"name": "n1", "namespace": "kube-node-lease"}},
                None,
            ),
            {},
            None,
            id="create-own-lease",
        ),
        pytest.param(
            (
                "create",
                "leases.coordination.k8s.io",
                "",
                {"metadata": {"name": "n2", "namespace": "kube-node-lease"}},
                None,
            ),
            {},
            "can only access node lease with the same name as the requesting node",
            id="create-other-lease",
        ),
        pytest.param(
            ("delete", "leases.coordination.k8s.io", "", None, None),
            {"name": "n1", "namespace": "default"},
            'can only access leases in the "kube-node-lease" system namespace',
            id="lease-other-namespace",
        ),
        pytest.param(
            ("update", "persistentvolumeclaims", "", {}, {}),
            {},
            "may only update PVC status",
            id="pvc-spec",
        ),
        pytest.param(("get", "secrets", "", None, None), {}, None, id="reads-not-admitted"),
        pytest.param(("update", "configmaps", "", {}, {}), {}, None, id="other-resource"),
    ],
)
def test_node_may_write(
    args: tuple[Any, ...], kwargs: dict[str, Any], expected: str | None
) -> None:
    assert node_may_write("n1", *args, **kwargs) == expected


def test_node_may_write_not_found() -> None:
    with pytest.raises(ReferenceNotFound, match=r'^nodes "n1" not found$'):
        node_may_write("n1", "create", "pods", "", mirror(), None, node_uid=None)
    with pytest.raises(ReferenceNotFound, match=r'^pods "p" not found$'):
        node_may_write("n1", "delete", "pods", "", None, None, name="p")


def test_pvc_status_admission() -> None:
    old = {
        "metadata": {"name": "c", "resourceVersion": "1"},
        "spec": {"x": 1},
        "status": {"phase": "Bound"},
    }
    new = {
        "metadata": {"name": "c", "resourceVersion": "2"},
        "spec": {"x": 1},
        "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "conditions": []},
    }
    assert node_may_write("n1", "update", "persistentvolumeclaims", "status", new, old) is None
    relabelled = {**new, "metadata": {"name": "c", "labels": {"a": "b"}}}
    refused = node_may_write("n1", "update", "persistentvolumeclaims", "status", relabelled, old)
    assert refused is not None and refused.startswith(
        'node "n1" is not allowed to update fields other than status.capacity and'
        " status.conditions: metadata.labels"
    )


def token_request(**ref: Any) -> dict[str, Any]:
    return {"spec": {"boundObjectRef": ref}}


@pytest.mark.parametrize(
    ("request_body", "bound", "expected"),
    [
        pytest.param(
            token_request(apiVersion="v1", kind="Pod", name="web", uid="uid-web"),
            WEB,
            None,
            id="bound-to-own-pod",
        ),
        pytest.param({"spec": {}}, WEB, "node requested token not bound to a pod", id="unbound"),
        pytest.param(
            token_request(apiVersion="v1", kind="Secret", name="s", uid="u"),
            WEB,
            "node requested token not bound to a pod",
            id="bound-to-secret",
        ),
        pytest.param(
            token_request(apiVersion="v1", kind="Pod", name="web"),
            WEB,
            "node requested token with a pod binding without a uid",
            id="no-uid",
        ),
        pytest.param(
            token_request(apiVersion="v1", kind="Pod", name="web", uid="old"),
            WEB,
            "the UID in the bound object reference (old) does not match the UID in"
            " record. The object might have been deleted and then recreated",
            id="stale-uid",
        ),
        pytest.param(
            token_request(apiVersion="v1", kind="Pod", name="other", uid="uid-other"),
            pod("other", "n2"),
            "node requested token bound to a pod scheduled on a different node",
            id="other-nodes-pod",
        ),
    ],
)
def test_node_may_request_token(
    request_body: dict[str, Any], bound: dict[str, Any], expected: str | None
) -> None:
    assert node_may_request_token("n1", request_body, bound) == expected
    assert node_may_write("n1", "create", "serviceaccounts", "token", request_body, bound) == (
        expected
    )


def test_forbidden_node_labels() -> None:
    assert forbidden_node_labels(
        {
            "kubernetes.io/hostname": "h",
            "kubelet.kubernetes.io/x": "1",
            "k8s.io/y": "1",
            "foo.k8s.io/z": "1",
            "example.com/ok": "1",
        },
        {},
    ) == ["foo.k8s.io/z", "k8s.io/y"]
