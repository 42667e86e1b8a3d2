"""Which shard holds an object: tenants own namespaces (by glob), cluster-scoped objects follow
their `watchproxy.io/tenant` label, everything else lives on the default shard.

Shards are numbered by their sorted names, the same order the composite resourceVersion uses.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from watchproxy.config import Settings
from watchproxy.resources import TENANT_LABEL, ResourceType


class Tenancy:
    def __init__(self, settings: Settings) -> None:
        self.shard_names: tuple[str, ...] = tuple(sorted(settings.shard_names()))
        self._index = {name: i for i, name in enumerate(self.shard_names)}
        self.default_shard = self._index[settings.default_shard]
        self._tenant_shard = {t.name: self._index[t.shard] for t in settings.tenants}
        self.tenant_names = frozenset(self._tenant_shard)
        self._tenant_globs = [(glob, t.name) for t in settings.tenants for glob in t.namespaces]
        # namespace -> (its tenant or None, its shard): glob matching once per namespace.
        self._ns_memo: dict[str, tuple[str | None, int]] = {}

    @property
    def shard_count(self) -> int:
        return len(self.shard_names)

    def shard_index(self, name: str) -> int:
        return self._index[name]

    def _namespace_home(self, namespace: str) -> tuple[str | None, int]:
        home = self._ns_memo.get(namespace)
        if home is None:
            tenant = next(
                (t for glob, t in self._tenant_globs if fnmatch.fnmatchcase(namespace, glob)),
                None,
            )
            home = (tenant, self.shard_of_tenant(tenant))
            if len(self._ns_memo) < 100_000:
                self._ns_memo[namespace] = home
        return home

    def shard_of_namespace(self, namespace: str) -> int:
        return self._namespace_home(namespace)[1]

    def tenant_of_namespace(self, namespace: str) -> str | None:
        """The tenant whose namespace globs match, or None (the namespace then lives on the
        default shard and belongs to no tenant)."""
        return self._namespace_home(namespace)[0]

    def shard_of_tenant(self, tenant: str | None) -> int:
        if tenant is None:
            return self.default_shard
        return self._tenant_shard.get(tenant, self.default_shard)

    def tenant_label_shard(self, obj: dict[str, Any]) -> int | None:
        """Shard named by the object's tenant label, if it names a known tenant."""
        labels = (obj.get("metadata") or {}).get("labels") or {}
        tenant = labels.get(TENANT_LABEL)
        return self._tenant_shard.get(tenant) if isinstance(tenant, str) else None

    def shard_of_object(self, resource: ResourceType, obj: dict[str, Any]) -> int:
        meta = obj.get("metadata") or {}
        if resource.namespaced:
            return self.shard_of_namespace(str(meta.get("namespace", "")))
        if resource.plural == "namespaces" and not resource.group:
            return self.shard_of_namespace(str(meta.get("name", "")))
        label_shard = self.tenant_label_shard(obj)
        return self.default_shard if label_shard is None else label_shard
