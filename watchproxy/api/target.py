"""What a request is about: resource, namespace, name, subresource, parsed from the path."""

from __future__ import annotations

from dataclasses import dataclass

from watchproxy.resources import ResourceType


@dataclass(frozen=True)
class Target:
    resource: ResourceType
    namespace: str  # "" for cluster-scoped or all-namespaces requests
    name: str  # "" for collections
    subresource: str  # "" or "status"
    force_watch: bool = False  # the legacy /watch/ path prefix
    # The tenant a tenant-scoped identity belongs to: reads see only its objects, from its shard.
    tenant: str | None = None
    # ... and of its tenant's namespaces, only these (RBAC allows it there, not cluster-wide).
    namespaces: frozenset[str] | None = None
