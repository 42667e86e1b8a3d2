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

# API groups whose resources are never tenant data: reviews answered from the request itself.
_UNSCOPED_GROUPS: Final = frozenset({"authentication.k8s.io", "authorization.k8s.io"})


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
        if not request.is_resource_request or request.api_group in _UNSCOPED_GROUPS:
            return None
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
            if request.namespace == NODE_LEASE_NAMESPACE and request.resource == "leases":
                return None  # every kubelet's heartbeat Lease; the Node authorizer confines it
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
