"""BeforeUpdate of the generic store (kube's rest.BeforeUpdate in
apiserver/pkg/registry/rest/update.go, with store.go's generation rule): what an update may not
change, carried from the stored object. Split from store.py, which calls it for every update.
"""

from __future__ import annotations

from watchproxy.core.validation import field_invalid, go_quote
from watchproxy.registry.errors import conflict, raise_invalid
from watchproxy.registry.objects import JsonObject, omit_empty_meta
from watchproxy.registry.strategy import Strategy
from watchproxy.resources import TENANT_LABEL

# Fields of metadata only the server sets; carried from the stored object on every update.
SERVER_META = (
    "uid",
    "creationTimestamp",
    "namespace",
    "name",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def prepare_update(strategy: Strategy, new: JsonObject, old: JsonObject, subresource: str) -> None:
    """BeforeUpdate: server-owned metadata from the stored object, the type's rules, the
    generation bump, and the tenancy invariant (the tenant label decides the shard)."""
    resource = strategy.resource
    meta, old_meta = new["metadata"], old.get("metadata") or {}
    name = str(old_meta.get("name", ""))
    uid = meta.get("uid")
    if uid not in (None, "") and uid != old_meta.get("uid"):
        # The object's uid is a precondition (rest.DefaultUpdatedObjectInfo.Preconditions).
        raise conflict(
            resource,
            name,
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {old_meta.get('uid', '')}",
        )
    if meta.get("deletionTimestamp") and not old_meta.get("deletionTimestamp"):
        # Only DELETE starts a deletion (ValidateObjectMetaUpdate: immutable field).
        raise_invalid(
            resource,
            name,
            [
                field_invalid(
                    "metadata.deletionTimestamp",
                    go_quote(str(meta["deletionTimestamp"])),
                    "field is immutable",
                )
            ],
        )
    for field in SERVER_META:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    strategy.prepare_for_update(new, old, subresource)
    meta = new["metadata"]
    if not resource.namespaced:
        old_tenant = (old_meta.get("labels") or {}).get(TENANT_LABEL)
        new_tenant = (meta.get("labels") or {}).get(TENANT_LABEL)
        if old_tenant != new_tenant:
            raise_invalid(
                resource,
                str(old_meta.get("name", "")),
                [
                    (
                        "FieldValueInvalid",
                        f"metadata.labels[{TENANT_LABEL}]",
                        "Invalid value: the tenant label is immutable: it decides the shard "
                        "that stores the object",
                    )
                ],
            )
    omit_empty_meta(new)
    if strategy.generation_changes(new, old):
        meta["generation"] = int(old_meta.get("generation") or 1) + 1
