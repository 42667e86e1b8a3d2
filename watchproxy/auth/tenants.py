"""Tenant-scoped identities: what kube-apiserver cannot do.

An identity belongs to a tenant when the config names it (`tenants[].subjects` users or groups),
when it is a ServiceAccount of a namespace of that tenant, or when it is a node whose Node object
carries the tenant's `watchproxy.io/tenant` label (a kubelet of a tenant's node sees only that
tenant; its Lease in `kube-node-lease`, a namespace of no tenant, stays reachable). Unlabelled
(shared) nodes are not tenant-scoped; the Node authorizer confines every kubelet anyway.

A tenant-scoped identity sees only its tenant: a request naming another tenant's namespace (or
a cluster-scoped object of another tenant) is refused before RBAC is consulted, and a
cluster-wide LIST or WATCH is served from the tenant's shard with only the tenant's objects
(api/view.py). Inside its tenant, RBAC decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from watchproxy.auth.sources import ObjectSource
from watchproxy.auth.user import UserInfo, node_name, split_service_account_username

TENANT_LABEL: Final = "watchproxy.io/tenant"
NODE_LEASE_NAMESPACE: Final = "kube-node-lease"
_NODE_NAMESPACES: Final = {"leases": (NODE_LEASE_NAMESPACE,), "events": ("default",)}
_WRITE_VERBS: Final = frozenset(
    {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind"}
)

# Reviews about the asking identity itself: never another tenant's data.
_SELF_REVIEWS: Final = frozenset(
    {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}
)
# Reviews about anyone (other tenants' identities, tokens, permissions): cluster introspection a
# tenant identity is refused even when RBAC grants it (LocalSubjectAccessReview is namespaced and
# stays allowed in the tenant's own namespaces).
_CLUSTER_REVIEWS: Final = frozenset({"subjectaccessreviews", "tokenreviews"})
_REVIEW_GROUPS: Final = frozenset({"authentication.k8s.io", "authorization.k8s.io"})
# Cluster-scoped resources a tenant identity may write: its own namespaces only. ClusterRoles
# and ClusterRoleBindings act on every tenant (a label does not confine them: aggregation, a
# binding to another tenant's kubelet), and Nodes are assigned to tenants by administrators.
# Operator endpoints (/debug, /metrics) are refused too.
_OPERATOR_PATHS: Final = ("/debug", "/metrics")


class _Subjects(Protocol):
    @property
    def users(self) -> tuple[str, ...]: ...

    @property
    def groups(self) -> tuple[str, ...]: ...


class TenantSubjects(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def subjects(self) -> _Subjects: ...


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    """The part of a request the tenant check reads (see api/requestinfo.py)."""

    is_resource_request: bool
    api_group: str
    resource: str
    namespace: str
    name: str
    namespaced: bool
    verb: str = ""
    path: str = ""
    # The kubelet's node name when a node identity asks (its Lease and Node events).
    node: str = ""


class TenantScope:
    """Which tenant an identity belongs to, and whether a request stays inside it."""

    def __init__(
        self,
        tenants: Sequence[TenantSubjects],
        tenant_of_namespace: Callable[[str], str | None],
        source: ObjectSource,
    ) -> None:
        self._by_user: dict[str, str] = {}
        self._by_group: dict[str, str] = {}
        for tenant in tenants:
            for user in tenant.subjects.users:
                self._by_user[user] = tenant.name
            for group in tenant.subjects.groups:
                self._by_group[group] = tenant.name
        self._tenant_of_namespace = tenant_of_namespace
        self._source = source

    @property
    def enabled(self) -> bool:
        """False when no tenant has subjects: only ServiceAccounts and nodes can then be scoped."""
        return bool(self._by_user or self._by_group)

    def tenant_of(self, user: UserInfo) -> str | None:
        """The tenant `user` belongs to, or None (a cluster-level identity: admins, controllers).

        Order: the user name, then the groups in order, then a ServiceAccount's namespace.
        (config.py refuses a user or group named by two tenants.)"""
        tenant = self._by_user.get(user.name)
        if tenant is not None:
            return tenant
        for group in user.groups:
            tenant = self._by_group.get(group)
            if tenant is not None:
                return tenant
        sa = split_service_account_username(user.name)
        if sa is not None:
            return self._tenant_of_namespace(sa[0])
        node = node_name(user)
        if node is not None:
            obj = self._source.get("nodes", "", node)
            label = ((obj or {}).get("metadata") or {}).get("labels", {}).get(TENANT_LABEL)
            return label if isinstance(label, str) and label else None
        return None

    def namespaces_of(self, tenant: str, names: Iterable[str]) -> list[str]:
        """The names among `names` (namespaces) that belong to `tenant`."""
        return [n for n in names if self._tenant_of_namespace(n) == tenant]

    def refusal(self, tenant: str, request: ScopeRequest) -> str | None:
        """Why `request` leaves `tenant`, or None when it stays inside (or is not tenant data).

        A namespaced request must name a namespace of the tenant (or none: a cluster-wide read,
        narrowed by the view); the namespaces resource is checked by name; another cluster-scoped
        object by name must carry the tenant's label.
        """
        if not request.is_resource_request:
            if request.path.startswith(_OPERATOR_PATHS):
                return f'operator endpoints are not open to identities of tenant "{tenant}"'
            return None
        if request.api_group in _REVIEW_GROUPS:
            if request.resource in _SELF_REVIEWS:
                return None
            if request.resource in _CLUSTER_REVIEWS:
                return f'{request.resource} are not open to identities of tenant "{tenant}"'
        if request.verb == "impersonate":
            # Decided on the identity impersonated (api/guard.py): it must be of this tenant.
            return None
        if (
            not request.namespaced
            and request.verb in _WRITE_VERBS
            and not (request.resource == "namespaces" and not request.api_group)
            and not (request.node and request.resource == "nodes" and not request.api_group)
        ):
            return (
                f'{request.resource} are cluster-wide: identities of tenant "{tenant}" cannot'
                " write them"
            )
        if request.verb == "deletecollection" and not (request.namespaced and request.namespace):
            # A collection delete is not narrowed as reads are: it must name one of the tenant's
            # namespaces (or it would reach every tenant's objects).
            return (
                f'a tenant identity may delete collections only in a namespace of tenant "{tenant}"'
            )
        if request.resource == "namespaces" and not request.api_group:
            name = request.name or request.namespace
            if name and self._tenant_of_namespace(name) != tenant:
                return f'namespace "{name}" is not in tenant "{tenant}"'
            return None
        if request.namespaced:
            if request.node and request.namespace in _NODE_NAMESPACES.get(request.resource, ()):
                # A kubelet's heartbeat Lease (kube-node-lease) and its Node's events
                # (default): outside every tenant; the Node authorizer confines the rest.
                return None
            if request.namespace and self._tenant_of_namespace(request.namespace) != tenant:
                return f'namespace "{request.namespace}" is not in tenant "{tenant}"'
            return None
        if request.name:
            key = (
                request.resource
                if not request.api_group
                else (f"{request.resource}.{request.api_group}")
            )
            obj = self._source.get(key, "", request.name)
            labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
            if labels.get(TENANT_LABEL) != tenant:
                return f'{request.resource} "{request.name}" is not in tenant "{tenant}"'
        return None
