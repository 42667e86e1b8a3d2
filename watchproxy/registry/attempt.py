"""One attempt of an update (the `tryUpdate` and transaction of kube's etcd3 store.go
GuaranteedUpdate), and the watch cache's copy of an object as the first attempt's base (kube's
Cacher.GuaranteedUpdate passes the cached object down as `cachedExistingObject`).

A write based on the cache's copy is conditional on its revision, so a stale copy only costs a
failed compare; any outcome that the compare does not confirm -- an error, a no-op, a raced
delete -- is decided again on etcd's state, as store.go does while `origStateIsCurrent` is
false. The common update is then one etcd round trip (the transaction) instead of two.
Split from store.py, which loops over the attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from watchproxy.api.status import ApiError
from watchproxy.etcd.client import EtcdError, KeyValue
from watchproxy.registry import fieldmanager, versions
from watchproxy.registry.admission import admit_request
from watchproxy.registry.deletion import should_delete_during_update
from watchproxy.registry.errors import conflict, raise_invalid
from watchproxy.registry.meta import validate_object_meta_update
from watchproxy.registry.objects import JsonObject, Located, Written, check_type, storage_value
from watchproxy.registry.options import WriteOptions
from watchproxy.registry.strategy import Strategy
from watchproxy.resources import ResourceType

if TYPE_CHECKING:
    from watchproxy.registry.store import Store


def cached_copy(store: Store, resource: ResourceType, namespace: str, name: str) -> Located | None:
    """The watch cache's copy of the object as a Located, or None: not cached (yet), a cache
    not listed, or a type whose cache holds another form than etcd's (custom resources are
    pruned and defaulted on read, converted versions converted). Its `kv.value` is the copy
    re-encoded, not etcd's bytes: good for a no-op test between two objects decoded alike,
    never proof of etcd's content; its create_revision and version are unknown (0)."""
    if resource.custom is not None or resource.conversion is not None:
        return None
    if not store.proxy.is_served(resource):
        return None
    shards = store.proxy.cache_of(resource).shards
    cache_key = f"{namespace}/{name}" if resource.namespaced else name
    for shard in store.candidate_shards(resource, namespace, name):
        state = shards[shard]
        cached = state.objects.get(cache_key) if state.ready else None
        if cached is None:
            continue
        obj = orjson.loads(cached.raw)  # a copy of our own, resourceVersion included
        key = store.key(shard, resource, namespace, name)
        kv = KeyValue(key, storage_value(obj, resource), 0, cached.revision, 0)
        return Located(shard, kv, obj)
    return None


async def update_once(
    store: Store,
    resource: ResourceType,
    strategy: Strategy,
    current: Located,
    compute: Callable[[Located], JsonObject],
    options: WriteOptions,
    suggested: bool,
    subresource: str,
    track: bool,
) -> Written | None:
    """One attempt of Store.update on `current` (the cache's copy when `suggested`): the
    written object, or None to start over from etcd's state (a lost race; on the cache's copy
    also a no-op or a raced delete). Raises ApiError (404, 409, 422, ...)."""
    name = str(current.obj["metadata"].get("name", ""))
    # kube's storage codec defaults what it decodes: an object written without newer defaults
    # (by another writer, or an older version) is compared and patched as its defaulted form,
    # so a label patch is not refused as a spec change (runtime.Decode -> scheme.Default).
    strategy.apply_defaults(current.obj)
    new = compute(replace(current, obj=resource.served_form(current.obj)))  # its version
    check_type(resource, new)
    wanted = store.precondition(current.shard, new["metadata"].get("resourceVersion"))
    if wanted is not None and wanted != current.kv.mod_revision:
        raise conflict(resource, name)
    computed_fields = new["metadata"].get("managedFields")
    new = resource.stored_form(new)
    store.prepare_update(strategy, new, current.obj, subresource)
    if track:
        manager = fieldmanager.manager_name(options.field_manager)
        versions.track(resource, current.obj, new, manager, subresource)
    elif computed_fields:
        # An apply's entries survive a status strategy's metadata reset (kube's
        # ResetObjectMetaForStatus keeps managedFields); unchanged, their times too.
        new["metadata"]["managedFields"] = computed_fields
        fieldmanager.keep_times_if_unchanged(current.obj, new)
    causes = validate_object_meta_update(new, current.obj, resource)
    if subresource == "status":  # the status strategy's rules (kube's statusStrategy)
        causes += strategy.validate_status_update(new, current.obj)
    else:
        causes += strategy.validate_update(new, current.obj)
    raise_invalid(resource, name, causes)
    await strategy.admit(store, new, current.obj)
    await admit_request(store, resource, "update", subresource, new, current.obj)
    await strategy.reserve(store, new, current.obj, dry_run=options.dry_run)
    if should_delete_during_update(strategy, new, current.obj):
        # The last finalizer is gone from an object being deleted: delete it instead.
        from watchproxy.registry.deleting import Raced, delete_located

        try:
            await delete_located(store, resource, current, dry_run=options.dry_run)
        except Raced:
            return None
        # kube's deleteWithoutFinalizers: the client of an update gets the updated
        # object (at the revision it was computed from), never a delete Status.
        return Written(new, current.kv.mod_revision, deleted=True)
    value = storage_value(new, resource)
    if suggested and value == current.kv.value:
        return None  # a no-op on the cache's copy: etcd's bytes decide (etcd3 store.go)
    revision = await store.write_over(resource, current, new, dry_run=options.dry_run, value=value)
    if revision is None:
        if wanted is not None and not suggested:
            raise conflict(resource, name)
        return None
    if revision != current.kv.mod_revision:
        try:
            await strategy.verify_written(store, new, current.obj)
        except ApiError:
            # Undo (compare on our own write): a concurrent write broke an invariant.
            await quietly(
                store.proxy.shards[current.shard].client.update(
                    current.kv.key, current.kv.value, expected_mod_revision=revision
                )
            )
            raise
    return Written(new, revision)


async def quietly(step: Any) -> None:
    """Await a best-effort etcd step, ignoring etcd's errors."""
    try:
        await step
    except EtcdError:
        pass  # best effort: a stale claim is repaired by the next create (claims.py)
