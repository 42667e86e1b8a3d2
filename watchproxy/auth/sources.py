"""What authenticators and authorizers read: the watch cache, seen through a narrow protocol so
they are unit-tested with a dict (tests) and served from the cache in production
(api/auth_sources.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

JsonObject = dict[str, Any]


class ObjectSource(Protocol):
    """Read-only view of cached objects.

    `resource` is the registry key: the plural for core types (`pods`, `secrets`,
    `serviceaccounts`, `nodes`), `plural.group` otherwise (`leases.coordination.k8s.io`,
    `roles.rbac.authorization.k8s.io`, `clusterroles.rbac.authorization.k8s.io`, ...).
    Namespace "" for cluster-scoped objects. Returned objects are shared: never mutate them.
    """

    def get(self, resource: str, namespace: str, name: str) -> JsonObject | None: ...

    def list(self, resource: str, namespace: str | None = None) -> Iterable[JsonObject]:
        """All objects of `resource` (in `namespace` when given)."""
        ...

    def pods_on_node(self, node: str) -> Iterable[JsonObject]:
        """Pods whose spec.nodeName is `node` (served from the cache's nodeName index)."""
        ...

    def generation(self, resource: str) -> int:
        """A number that changes whenever any object of `resource` changes (for derived indexes
        such as RBAC's subject index to rebuild lazily)."""
        ...
