"""kube-apiserver's default ClusterRoles and ClusterRoleBindings
(plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go, as its testdata
cluster-roles.yaml / cluster-role-bindings.yaml print them), trimmed to what watchproxy serves:
cluster-admin, admin / edit / view with their system:aggregate-to-* roles, system:basic-user,
system:discovery, system:public-info-viewer, system:monitoring, system:node (its binding has no
subjects: nodes are authorized by the Node authorizer, which uses these rules as kube's
NodeRules), system:kube-controller-manager and system:kube-scheduler, and their bindings
(cluster-admin to the group system:masters, basic-user and discovery to system:authenticated,
public-info-viewer to system:authenticated and system:unauthenticated).

The objects carry kube's label `kubernetes.io/bootstrapping: rbac-defaults` and annotation
`rbac.authorization.kubernetes.io/autoupdate: "true"`; writing them to etcd at start-up is
someone else's job.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any, Final

import yaml

from watchproxy.auth.sources import JsonObject

POLICY_FILE: Final = Path(__file__).with_name("bootstrap-policy.yaml")
BOOTSTRAP_LABEL: Final = ("kubernetes.io/bootstrapping", "rbac-defaults")
AUTOUPDATE_ANNOTATION: Final = "rbac.authorization.kubernetes.io/autoupdate"


@functools.cache
def _load() -> tuple[JsonObject, ...]:
    data: Any = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    items = data["items"]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(f"{POLICY_FILE}: items must be a list of objects")
    return tuple(items)


def bootstrap_objects() -> list[JsonObject]:
    """The default ClusterRoles, then the ClusterRoleBindings, as full objects (apiVersion
    rbac.authorization.k8s.io/v1, kind, metadata with name, labels and annotations).  A fresh
    copy each call: the caller may mutate it."""
    return copy.deepcopy(list(_load()))


@functools.cache
def _cluster_role_rules(name: str) -> tuple[JsonObject, ...]:
    for obj in _load():
        if obj.get("kind") == "ClusterRole" and obj["metadata"]["name"] == name:
            return tuple(obj.get("rules") or ())
    raise KeyError(name)


def node_rules() -> tuple[JsonObject, ...]:
    """bootstrappolicy.NodeRules(): the rules of the `system:node` ClusterRole, which the Node
    authorizer applies to nodes for every resource it does not subdivide.  Shared: do not
    mutate."""
    return _cluster_role_rules("system:node")
