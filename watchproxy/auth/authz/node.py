"""The Node authorizer: what a kubelet (`system:node:NAME` in `system:nodes`) may do, and the
references of its pods that decide it (NodeRestriction admission of its writes is
noderestriction.py).

`NodeAuthorizer` is kube's plugin/pkg/auth/authorizer/node/node_authorizer.go with
AuthorizeNodeWithSelectors on (the default since 1.32):

- secrets, configmaps: get, list and watch of ONE named object (a list or watch names it with a
  `metadata.name=` field selector) that a pod bound to the node references;
  persistentvolumeclaims, persistentvolumes, resourceclaims, volumeattachments: get of one such
  object only; persistentvolumeclaims/status: update and patch;
- serviceaccounts/token: create for a ServiceAccount a pod bound to the node runs as (the
  TokenRequest's bound pod is checked at admission: `node_may_request_token`);
- nodes: get, list and watch of its own Node only (list and watch with
  `fieldSelector=metadata.name=NAME`); create, update, patch and update/patch of nodes/status
  are allowed here and narrowed to its own Node by NodeRestriction (`node_may_write`);
- pods: get of a pod bound to it, list and watch with `fieldSelector=spec.nodeName=NAME` (or of
  one pod bound to it), create and delete (mirror pods, narrowed by NodeRestriction),
  update/patch of pods/status and create of pods/eviction (narrowed by NodeRestriction);
- leases in kube-node-lease named NAME; csinodes named NAME; resourceslices of the node;
- everything else by the static rules of the `system:node` ClusterRole (kube's NodeRules:
  events, certificatesigningrequests, tokenreviews, subjectaccessreviews, services, ...).

It never denies: a refusal is NO_OPINION with kube's reason, and the chain moves on to RBAC.

The graph (node_authorizer graph.go: node <- pod <- secret, configmap, pvc <- pv <- secret,
serviceaccount, resourceclaim; volumeattachment -> node) is not kept up to date by informers as in
kube: it is computed on demand from `source.pods_on_node(node)` and the PersistentVolumes and
cached per node until the generation of pods or persistentvolumes changes.  Mirror pods give the
node no edges, as in kube's AddPod.

`node_may_write` / `node_may_request_token` (noderestriction.py) are
plugin/pkg/admission/noderestriction/admission.go.

One module, over 400 lines: the Node authorizer and the graph it decides on (which Secrets,
ConfigMaps, PVCs, PVs and ResourceClaims a node's pods reach) are one rule set, as kube's
node_authorizer.go and graph_populator.go; NodeRestriction admission lives apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from watchproxy.auth.attributes import Attributes, Decision, Verdict
from watchproxy.auth.authz.bootstrap import node_rules
from watchproxy.auth.authz.rbac import RulesFor
from watchproxy.auth.authz.rules import Rule, request_name, rules_allow
from watchproxy.auth.sources import JsonObject, ObjectSource
from watchproxy.auth.user import NODE_USER_PREFIX, NODES_GROUP, UserInfo
from watchproxy.core.validation import go_quote

NODE_LEASE_NAMESPACE: Final = "kube-node-lease"
MIRROR_POD_ANNOTATION: Final = "kubernetes.io/config.mirror"
PODS: Final = "pods"
PERSISTENT_VOLUMES: Final = "persistentvolumes"
VOLUME_ATTACHMENTS: Final = "volumeattachments.storage.k8s.io"
RESOURCE_SLICES: Final = "resourceslices.resource.k8s.io"

_NO_OPINION: Final = Verdict(Decision.NO_OPINION)
_ALLOW: Final = Verdict(Decision.ALLOW)


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """(node name, is a node) as pkg/auth/nodeidentifier/default.go: a user named
    `system:node:NAME` in the group `system:nodes`; the name may be empty."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_PREFIX) :], True


# -- what objects reference ----------------------------------------------------------------------


def _d(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _l(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """VisitContainers(AllContainers): init, regular, then ephemeral containers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in _l(spec.get(key)):
            yield _d(container)


def _env_ref_names(spec: Mapping[str, Any], env_from_ref: str, key_ref: str) -> Iterator[str]:
    """The names of every container's `envFrom[].<env_from_ref>` and
    `env[].valueFrom.<key_ref>` references, in VisitContainers order."""
    for container in _containers(spec):
        for env_from in _l(container.get("envFrom")):
            ref = _d(env_from).get(env_from_ref)
            if isinstance(ref, Mapping):
                yield _s(ref.get("name"))
        for env in _l(container.get("env")):
            ref = _d(_d(env).get("valueFrom")).get(key_ref)
            if isinstance(ref, Mapping):
                yield _s(ref.get("name"))


def _projected_names(projected: Mapping[str, Any], source_key: str) -> Iterator[str]:
    """The names of a projected volume's `sources[].<source_key>` (secret or configMap)."""
    for source in map(_d, _l(projected.get("sources"))):
        if isinstance(source.get(source_key), Mapping):
            yield _s(source[source_key].get("name"))


def pod_secret_names(pod: Mapping[str, Any]) -> Iterator[str]:
    """VisitPodSecretNames (pkg/api/v1/pod/util.go): image pull secrets, envFrom / env secret
    refs of every container, and secret-bearing volumes; empty names skipped."""
    spec = _d(pod.get("spec"))
    names: list[str] = [_s(_d(ref).get("name")) for ref in _l(spec.get("imagePullSecrets"))]
    names.extend(_env_ref_names(spec, "secretRef", "secretKeyRef"))
    for volume in map(_d, _l(spec.get("volumes"))):
        # The first volume source present wins, as Go's switch does.
        if isinstance(volume.get("azureFile"), Mapping):
            names.append(_s(volume["azureFile"].get("secretName")))
        elif isinstance(volume.get("cephfs"), Mapping):
            names.append(_s(_d(volume["cephfs"].get("secretRef")).get("name")))
        elif isinstance(volume.get("cinder"), Mapping):
            names.append(_s(_d(volume["cinder"].get("secretRef")).get("name")))
        elif isinstance(volume.get("flexVolume"), Mapping):
            names.append(_s(_d(volume["flexVolume"].get("secretRef")).get("name")))
        elif isinstance(volume.get("projected"), Mapping):
            names.extend(_projected_names(volume["projected"], "secret"))
        elif isinstance(volume.get("rbd"), Mapping):
            names.append(_s(_d(volume["rbd"].get("secretRef")).get("name")))
        elif isinstance(volume.get("secret"), Mapping):
            names.append(_s(volume["secret"].get("secretName")))
        elif isinstance(volume.get("scaleIO"), Mapping):
            names.append(_s(_d(volume["scaleIO"].get("secretRef")).get("name")))
        elif isinstance(volume.get("iscsi"), Mapping):
            names.append(_s(_d(volume["iscsi"].get("secretRef")).get("name")))
        elif isinstance(volume.get("storageos"), Mapping):
            names.append(_s(_d(volume["storageos"].get("secretRef")).get("name")))
        elif isinstance(volume.get("csi"), Mapping):
            names.append(_s(_d(volume["csi"].get("nodePublishSecretRef")).get("name")))
    return (name for name in names if name)


def pod_configmap_names(pod: Mapping[str, Any]) -> Iterator[str]:
    """VisitPodConfigmapNames (pkg/api/v1/pod/util.go)."""
    spec = _d(pod.get("spec"))
    names = list(_env_ref_names(spec, "configMapRef", "configMapKeyRef"))
    for volume in map(_d, _l(spec.get("volumes"))):
        if isinstance(volume.get("projected"), Mapping):
            names.extend(_projected_names(volume["projected"], "configMap"))
        elif isinstance(volume.get("configMap"), Mapping):
            names.append(_s(volume["configMap"].get("name")))
    return (name for name in names if name)


def pod_pvc_names(pod: Mapping[str, Any]) -> Iterator[str]:
    """The claims of a pod's volumes (graph.go AddPod): persistentVolumeClaim.claimName, and for
    a generic ephemeral volume `<pod name>-<volume name>` (ephemeral.VolumeClaimName)."""
    pod_name = _s(_d(pod.get("metadata")).get("name"))
    for volume in map(_d, _l(_d(pod.get("spec")).get("volumes"))):
        if isinstance(volume.get("persistentVolumeClaim"), Mapping):
            claim = _s(volume["persistentVolumeClaim"].get("claimName"))
        elif isinstance(volume.get("ephemeral"), Mapping):
            claim = f"{pod_name}-{_s(volume.get('name'))}"
        else:
            continue
        if claim:
            yield claim


def pod_resource_claim_names(pod: Mapping[str, Any]) -> Iterator[str]:
    """The ResourceClaims of a pod (graph.go AddPod, resourceclaim.Name): resourceClaimName, or
    for a template the name status.resourceClaimStatuses records; plus
    status.extendedResourceClaimStatus.resourceClaimName."""
    status = _d(pod.get("status"))
    statuses = {
        _s(_d(s).get("name")): _d(s).get("resourceClaimName")
        for s in _l(status.get("resourceClaimStatuses"))
    }
    for claim in map(_d, _l(_d(pod.get("spec")).get("resourceClaims"))):
        name = claim.get("resourceClaimName")
        if name is None and claim.get("resourceClaimTemplateName") is not None:
            name = statuses.get(_s(claim.get("name")))
        if isinstance(name, str) and name:
            yield name
    extended = _s(_d(status.get("extendedResourceClaimStatus")).get("resourceClaimName"))
    if extended:
        yield extended


def pv_secret_refs(pv: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """VisitPVSecretNames (pkg/api/v1/persistentvolume/util.go): (namespace, name,
    kubelet-visible) of the secrets a PersistentVolume names; empty names skipped."""
    spec = _d(pv.get("spec"))
    claim_namespace = _s(_d(spec.get("claimRef")).get("namespace"))
    found: list[tuple[str, str, bool]] = []

    def ref_in(source: Mapping[str, Any], key: str = "secretRef") -> None:
        ref = source.get(key)
        if isinstance(ref, Mapping):
            found.append((_s(ref.get("namespace")) or claim_namespace, _s(ref.get("name")), True))

    if isinstance(spec.get("azureFile"), Mapping):
        azure = spec["azureFile"]
        namespace = _s(azure.get("secretNamespace")) or claim_namespace
        found.append((namespace, _s(azure.get("secretName")), True))
    elif isinstance(spec.get("cephfs"), Mapping):
        ref_in(spec["cephfs"])
    elif isinstance(spec.get("cinder"), Mapping):
        ref = _d(spec["cinder"].get("secretRef"))
        if ref:
            found.append((_s(ref.get("namespace")), _s(ref.get("name")), True))
    elif isinstance(spec.get("flexVolume"), Mapping):
        ref_in(spec["flexVolume"])
    elif isinstance(spec.get("rbd"), Mapping):
        ref_in(spec["rbd"])
    elif isinstance(spec.get("scaleIO"), Mapping):
        ref_in(spec["scaleIO"])
    elif isinstance(spec.get("iscsi"), Mapping):
        ref_in(spec["iscsi"])
    elif isinstance(spec.get("storageos"), Mapping):
        ref = _d(spec["storageos"].get("secretRef"))
        if ref:
            found.append((_s(ref.get("namespace")), _s(ref.get("name")), True))
    elif isinstance(spec.get("csi"), Mapping):
        csi = spec["csi"]
        for key, visible in (
            ("controllerPublishSecretRef", False),
            ("controllerExpandSecretRef", False),
            ("nodePublishSecretRef", True),
            ("nodeStageSecretRef", True),
            ("nodeExpandSecretRef", True),
        ):
            ref = _d(csi.get(key))
            if ref:
                found.append((_s(ref.get("namespace")), _s(ref.get("name")), visible))
    return (f for f in found if f[1])


def is_mirror_pod(pod: Mapping[str, Any]) -> bool:
    return MIRROR_POD_ANNOTATION in _d(_d(pod.get("metadata")).get("annotations"))


# -- the graph, per node ----------------------------------------------------------------------

NamespacedName = tuple[str, str]


@dataclass(frozen=True, slots=True)
class NodeGraph:
    """What kube's node graph reaches from one node: (namespace, name) of its pods and of the
    secrets, configmaps, PVCs, ResourceClaims and ServiceAccounts they use, and the names of the
    PersistentVolumes bound to those PVCs (whose kubelet-visible secrets are in `secrets`)."""

    pods: frozenset[NamespacedName]
    secrets: frozenset[NamespacedName]
    configmaps: frozenset[NamespacedName]
    pvcs: frozenset[NamespacedName]
    resource_claims: frozenset[NamespacedName]
    service_accounts: frozenset[NamespacedName]
    pvs: frozenset[str]


def build_node_graph(
    pods: Iterator[JsonObject] | Sequence[JsonObject],
    pvs_by_claim: Mapping[NamespacedName, Sequence[JsonObject]],
) -> NodeGraph:
    """graph.go AddPod for each pod bound to the node, and AddPV for the PVs whose claimRef names
    one of their PVCs."""
    pod_keys: set[NamespacedName] = set()
    secrets: set[NamespacedName] = set()
    configmaps: set[NamespacedName] = set()
    pvcs: set[NamespacedName] = set()
    claims: set[NamespacedName] = set()
    service_accounts: set[NamespacedName] = set()
    for pod in pods:
        meta = _d(pod.get("metadata"))
        namespace = _s(meta.get("namespace"))
        pod_keys.add((namespace, _s(meta.get("name"))))
        if is_mirror_pod(pod):
            continue
        sa = _s(_d(pod.get("spec")).get("serviceAccountName"))
        if sa:
            service_accounts.add((namespace, sa))
        secrets.update((namespace, n) for n in pod_secret_names(pod))
        configmaps.update((namespace, n) for n in pod_configmap_names(pod))
        pvcs.update((namespace, n) for n in pod_pvc_names(pod))
        claims.update((namespace, n) for n in pod_resource_claim_names(pod))
    pvs: set[str] = set()
    for pvc in pvcs:
        for pv in pvs_by_claim.get(pvc, ()):
            pvs.add(_s(_d(pv.get("metadata")).get("name")))
            secrets.update((ns, name) for ns, name, visible in pv_secret_refs(pv) if visible)
    return NodeGraph(
        frozenset(pod_keys),
        frozenset(secrets),
        frozenset(configmaps),
        frozenset(pvcs),
        frozenset(claims),
        frozenset(service_accounts),
        frozenset(pvs),
    )


class NodeAuthorizer:
    """kube's Node authorizer (node_authorizer.go, AuthorizeNodeWithSelectors on) over an
    `ObjectSource`; `rules` defaults to the system:node ClusterRole of the bootstrap policy."""

    def __init__(self, source: ObjectSource, rules: Sequence[Rule] | None = None) -> None:
        self._source = source
        self._rules: Sequence[Rule] = node_rules() if rules is None else rules
        self._graphs: dict[str, tuple[tuple[int, int], NodeGraph]] = {}
        self._pv_gen = -1
        self._pvs_by_claim: dict[NamespacedName, list[JsonObject]] = {}

    def _claim_index(self) -> Mapping[NamespacedName, Sequence[JsonObject]]:
        gen = self._source.generation(PERSISTENT_VOLUMES)
        if gen != self._pv_gen:
            index: dict[NamespacedName, list[JsonObject]] = {}
            for pv in self._source.list(PERSISTENT_VOLUMES):
                ref = _d(_d(pv.get("spec")).get("claimRef"))
                if ref:
                    key = (_s(ref.get("namespace")), _s(ref.get("name")))
                    index.setdefault(key, []).append(pv)
            self._pvs_by_claim, self._pv_gen = index, gen
        return self._pvs_by_claim

    def graph(self, node: str) -> NodeGraph:
        """The objects reachable from `node`, recomputed when pods or PVs changed."""
        key = (self._source.generation(PODS), self._source.generation(PERSISTENT_VOLUMES))
        cached = self._graphs.get(node)
        if cached is not None and cached[0] == key:
            return cached[1]
        graph = build_node_graph(list(self._source.pods_on_node(node)), self._claim_index())
        self._graphs[node] = (key, graph)
        return graph

    def rules_for(self, user: UserInfo, namespace: str) -> RulesFor:
        """NodeAuthorizer.RulesFor: nodes' permissions cannot be enumerated."""
        if node_identity(user)[1]:
            return RulesFor([], [], True, ["node authorizer does not support user rule resolution"])
        return RulesFor([], [], False, [])

    def authorize(self, attrs: Attributes) -> Verdict:
        """NodeAuthorizer.Authorize (node_authorizer.go)."""
        node, is_node = node_identity(attrs.user)
        if not is_node:
            return _NO_OPINION
        if not node:
            return Verdict(
                Decision.NO_OPINION, f"unknown node for user {go_quote(attrs.user.name)}"
            )
        if attrs.is_resource_request:
            group, resource = attrs.api_group, attrs.resource
            if group == "":
                if resource in ("secrets", "configmaps"):
                    return self._read_namespaced(node, resource, attrs)
                if resource == "persistentvolumeclaims":
                    if attrs.subresource == "status":
                        return self._status_update(node, resource, attrs)
                    return self._get(node, resource, attrs)
                if resource == "persistentvolumes":
                    return self._get(node, resource, attrs)
                if resource == "serviceaccounts":
                    return self._create_token(node, attrs)
                if resource == "nodes":
                    return self._node(node, attrs)
                if resource == "pods":
                    return self._pod(node, attrs)
            elif group == "resource.k8s.io":
                if resource == "resourceclaims":
                    return self._get(node, resource, attrs)
                if resource == "resourceslices":
                    return self._resource_slice(node, attrs)
            elif group == "storage.k8s.io":
                if resource == "volumeattachments":
                    return self._get(node, resource, attrs)
                if resource == "csinodes":
                    return self._csinode(node, attrs)
            elif group == "coordination.k8s.io" and resource == "leases":
                return self._lease(node, attrs)
        if rules_allow(attrs, self._rules):
            return _ALLOW
        return _NO_OPINION

    # -- relationships ---------------------------------------------------------------------

    def _has_path(self, node: str, kind: str, namespace: str, name: str) -> bool:
        """hasPathFrom: is there a path from this object to the node in the graph?"""
        if kind == "volumeattachments":
            va = self._source.get(VOLUME_ATTACHMENTS, "", name)
            return va is not None and _d(va.get("spec")).get("nodeName") == node
        if kind == "resourceslices":
            found = self._source.get(RESOURCE_SLICES, "", name)
            return found is not None and _d(found.get("spec")).get("nodeName") == node
        graph = self.graph(node)
        key = (namespace, name)
        if kind == "pods":
            return key in graph.pods
        if kind == "secrets":
            return key in graph.secrets
        if kind == "configmaps":
            return key in graph.configmaps
        if kind == "persistentvolumeclaims":
            return key in graph.pvcs
        if kind == "persistentvolumes":
            return name in graph.pvs
        if kind == "resourceclaims":
            return key in graph.resource_claims
        if kind == "serviceaccounts":
            return key in graph.service_accounts
        return False

    def _authorize(self, node: str, kind: str, attrs: Attributes) -> Verdict:
        """NodeAuthorizer.authorize: the named object must lead to the node."""
        name = request_name(attrs)
        if not name:
            return Verdict(Decision.NO_OPINION, "No Object name found")
        if not self._has_path(node, kind, attrs.namespace, name):
            return Verdict(
                Decision.NO_OPINION, f"no relationship found between node '{node}' and this object"
            )
        return _ALLOW

    def _status_update(self, node: str, kind: str, attrs: Attributes) -> Verdict:
        """authorizeStatusUpdate."""
        if attrs.verb not in ("update", "patch"):
            return Verdict(Decision.NO_OPINION, "can only get/update/patch this type")
        if attrs.subresource != "status":
            return Verdict(Decision.NO_OPINION, "can only update status subresource")
        return self._authorize(node, kind, attrs)

    def _get(self, node: str, kind: str, attrs: Attributes) -> Verdict:
        """authorizeGet."""
        if attrs.verb != "get":
            return Verdict(Decision.NO_OPINION, "can only get individual resources of this type")
        if attrs.subresource:
            return Verdict(Decision.NO_OPINION, "cannot get subresource")
        return self._authorize(node, kind, attrs)

    def _read_namespaced(self, node: str, kind: str, attrs: Attributes) -> Verdict:
        """authorizeReadNamespacedObject."""
        if attrs.verb not in ("get", "list", "watch"):
            return Verdict(Decision.NO_OPINION, "can only read resources of this type")
        if attrs.subresource:
            return Verdict(Decision.NO_OPINION, "cannot read subresource")
        if not attrs.namespace:
            return Verdict(Decision.NO_OPINION, "can only read namespaced object of this type")
        return self._authorize(node, kind, attrs)

    def _create_token(self, node: str, attrs: Attributes) -> Verdict:
        """authorizeCreateToken."""
        name = request_name(attrs)
        if attrs.verb != "create" or not name:
            return Verdict(
                Decision.NO_OPINION, "can only create tokens for individual service accounts"
            )
        if attrs.subresource != "token":
            return Verdict(
                Decision.NO_OPINION, "can only create token subresource of serviceaccount"
            )
        if not self._has_path(node, "serviceaccounts", attrs.namespace, name):
            return Verdict(
                Decision.NO_OPINION, f"no relationship found between node '{node}' and this object"
            )
        return _ALLOW

    def _lease(self, node: str, attrs: Attributes) -> Verdict:
        """authorizeLease."""
        verb = attrs.verb
        if verb not in ("get", "create", "update", "patch", "delete"):
            return Verdict(
                Decision.NO_OPINION, "can only get, create, update, patch, or delete a node lease"
            )
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            return Verdict(
                Decision.NO_OPINION,
                f"can only access leases in the {go_quote(NODE_LEASE_NAMESPACE)} system namespace",
            )
        if verb != "create" and request_name(attrs) != node:
            return Verdict(
                Decision.NO_OPINION,
                "can only access node lease with the same name as the requesting node",
            )
        return _ALLOW

    def _csinode(self, node: str, attrs: Attributes) -> Verdict:
        """authorizeCSINode."""
        verb = attrs.verb
        if verb not in ("get", "create", "update", "patch", "delete"):
            return Verdict(
                Decision.NO_OPINION, "can only get, create, update, patch, or delete a CSINode"
            )
        if attrs.subresource:
            return Verdict(Decision.NO_OPINION, "cannot authorize CSINode subresources")
        if verb != "create" and request_name(attrs) != node:
            return Verdict(
                Decision.NO_OPINION,
                "can only access CSINode with the same name as the requesting node",
            )
        return _ALLOW

    def _resource_slice(self, node: str, attrs: Attributes) -> Verdict:
        """authorizeResourceSlice (with selectors)."""
        if attrs.subresource:
            return Verdict(Decision.NO_OPINION, "cannot authorize ResourceSlice subresources")
        verb = attrs.verb
        if verb == "create":
            return _ALLOW
        if verb in ("get", "update", "patch", "delete"):
            return self._authorize(node, "resourceslices", attrs)
        if verb in ("watch", "list", "deletecollection"):
            if ("spec.nodeName", "=", node) in attrs.field_requirements:
                return _ALLOW
            return Verdict(
                Decision.NO_OPINION,
                "can only list/watch/deletecollection resourceslices with nodeName field selector",
            )
        return Verdict(
            Decision.NO_OPINION,
            "only the following verbs are allowed for a ResourceSlice: get, watch, list, create,"
            " update, patch, delete, deletecollection",
        )

    def _node(self, node: str, attrs: Attributes) -> Verdict:
        """authorizeNode."""
        verb = attrs.verb
        if attrs.subresource == "":
            if verb in ("create", "update", "patch"):
                return _ALLOW
            if verb in ("get", "list", "watch"):
                name = request_name(attrs)
                if name == node:
                    return _ALLOW
                if name == "":
                    return Verdict(
                        Decision.NO_OPINION,
                        f"node '{node}' cannot read all nodes, only its own Node object",
                    )
                return Verdict(
                    Decision.NO_OPINION,
                    f"node '{node}' cannot read '{name}', only its own Node object",
                )
        elif attrs.subresource == "status" and verb in ("update", "patch"):
            return _ALLOW
        return _NO_OPINION

    def _pod(self, node: str, attrs: Attributes) -> Verdict:
        """authorizePod."""
        verb, subresource = attrs.verb, attrs.subresource
        if subresource == "":
            if verb == "get":
                return self._get(node, "pods", attrs)
            if verb in ("list", "watch"):
                if ("spec.nodeName", "=", node) in attrs.field_requirements:
                    return _ALLOW
                if request_name(attrs):
                    return self._authorize(node, "pods", attrs)
                return Verdict(
                    Decision.NO_OPINION,
                    "can only list/watch pods with spec.nodeName field selector",
                )
            if verb in ("create", "delete"):
                return _ALLOW
        elif subresource == "status":
            if verb in ("update", "patch"):
                return _ALLOW
        elif subresource == "eviction" and verb == "create":
            return _ALLOW
        return _NO_OPINION
