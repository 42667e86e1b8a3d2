"""Nodes: the `watchproxy.io/tenant` label must name a tenant the configuration knows, since it
decides the shard that stores the node and which tenant's pods may run there (422 otherwise)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        if tenant is None or tenant in known:
            return
        from watchproxy.registry.store import raise_invalid

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
