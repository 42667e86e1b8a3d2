"""Nodes: the `watchproxy.io/tenant` label must name a tenant the configuration knows, since it
decides the shard that stores the node and which tenant's pods may run there (422 otherwise).

Kube lets a pod be bound to a node that does not exist yet, so the pod-side check
(strategies/pod.py) cannot see a node created later: a labelled node is refused (403) while pods
of another tenant are bound to its name, else its kubelet's single-shard watch would never see
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watchproxy.registry.errors import forbidden, raise_invalid
from watchproxy.registry.strategy import JsonObject, Strategy, register
from watchproxy.resources import TENANT_LABEL

if TYPE_CHECKING:
    from watchproxy.registry.store import Store


@register("nodes")
class NodeStrategy(Strategy):
    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        tenant = labels.get(TENANT_LABEL) if isinstance(labels, dict) else None
        known = store.tenancy.tenant_names
        if tenant is None:
            return
        if tenant in known:
            if old is None:
                await self._check_bound_pods(store, obj, str(tenant))
            return
        shown = ", ".join(sorted(known)) or "none configured"
        raise_invalid(
            self.resource,
            str((obj.get("metadata") or {}).get("name", "")),
            [
                (
                    "FieldValueInvalid",
                    f"metadata.labels[{TENANT_LABEL}]",
                    f'Invalid value: "{tenant}": unknown tenant (known tenants: {shown})',
                )
            ],
        )

    async def verify_written(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        tenant = labels.get(TENANT_LABEL) if isinstance(labels, dict) else None
        if old is None and tenant in store.tenancy.tenant_names:
            # A pod of another tenant bound to this name while the node was being created.
            await self._check_bound_pods(store, obj, str(tenant))

    async def _check_bound_pods(self, store: Store, obj: JsonObject, tenant: str) -> None:
        from watchproxy.api.freshness import current_targets, wait_fresh
        from watchproxy.api.view import View
        from watchproxy.core.errors import TooLargeResourceVersion

        name = str((obj.get("metadata") or {}).get("name", ""))
        proxy = store.proxy
        pods = proxy.cache_of(store.resource("pods"))
        # The pods' trigger index is the cheap way to find pods by node; first let the cache
        # catch up with every write committed before this request (a pod bound just now).
        targets = await current_targets(proxy, proxy.all_shards)
        try:
            await wait_fresh(proxy, pods, View(proxy.all_shards, merged=True), targets)
        except TooLargeResourceVersion:
            pass  # best effort: a cache this far behind is reported by /readyz and the logs
        for state in pods.shards:
            for pod in (state.by_trigger.get(name) or {}).values():
                owner = store.tenancy.tenant_of_namespace(pod.namespace)
                if owner is not None and owner != tenant:
                    raise forbidden(
                        self.resource,
                        name,
                        f'pods of tenant "{owner}" (e.g. {pod.namespace}/{pod.name}) are bound '
                        f'to this node name, which would belong to tenant "{tenant}": tenants '
                        "do not share nodes",
                    )
