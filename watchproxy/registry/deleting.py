"""DELETE and deletecollection on the generic store (store.go `Delete`,
`updateForGracefulDeletionAndFinalizers`, `DeleteCollection`).

A deletion either removes the key now, or -- for an object with finalizers, or a type with graceful
deletion (pods) -- writes `deletionTimestamp`/`deletionGracePeriodSeconds` (watchers see MODIFIED)
and leaves the removal to whoever clears the finalizers or deletes again with grace 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from watchproxy.api.status import ApiError, etcd_unavailable, not_found
from watchproxy.core.objects import CachedObject
from watchproxy.etcd.client import EtcdError, KeyValue
from watchproxy.registry.admission import admit_request
from watchproxy.registry.deletion import before_delete, gc_finalizers, mark_as_deleting, meta_of
from watchproxy.registry.errors import PreconditionFailed, conflict
from watchproxy.registry.objects import JsonObject, Located, Written, json_copy, storage_value
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.store import Store, retrying
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import ResourceType


class Raced(Exception):
    """The object changed between read and write: start over from a fresh read."""


def check_preconditions(
    store: Store, resource: ResourceType, current: Located, options: DeleteOptions
) -> None:
    """DeleteOptions.preconditions (uid, resourceVersion): PreconditionFailed (409) with the
    messages of rest.BeforeDelete (or of the type's own Delete: Strategy.precondition_failed)."""
    strategy = strategy_for(resource)
    name = str(current.obj["metadata"].get("name", ""))
    uid = current.obj["metadata"].get("uid")
    if options.precondition_uid is not None and options.precondition_uid != uid:
        raise PreconditionFailed.of(
            strategy.precondition_failed(name, "UID", options.precondition_uid, str(uid))
        )
    wanted = store.precondition(current.shard, options.precondition_resource_version)
    if wanted is not None and wanted != current.kv.mod_revision:
        raise PreconditionFailed.of(
            strategy.precondition_failed(
                name,
                "ResourceVersion",
                str(options.precondition_resource_version),
                str(current.kv.mod_revision),
            )
        )


async def delete(
    store: Store, resource: ResourceType, namespace: str, name: str, options: DeleteOptions
) -> Written:
    """DELETE of one object. Returns the object as it stays (deleted=False) or as it was
    when removed, with the delete's revision (deleted=True). Raises 404, 409.

    The first attempt starts from the watch cache's copy (registry/attempt.py, kube's
    `cachedExistingObject` of etcd3 store.go Delete): its writes compare on the copy's revision,
    and an outcome no write confirms (an error, nothing to write) is decided again on etcd's
    state."""
    current = None if options.dry_run else store.cached(resource, namespace, name)
    for _ in retrying():
        suggested = current is not None
        if current is None:
            current = await store.require(resource, namespace, name)
        try:
            check_preconditions(store, resource, current, options)
            return await _delete_once(store, resource, current, options, suggested)
        except Raced:
            pass
        except ApiError:
            if not suggested:
                raise
        current = None
    raise conflict(resource, name)


async def _delete_once(
    store: Store, resource: ResourceType, current: Located, options: DeleteOptions, suggested: bool
) -> Written:
    """store.go Delete with updateForGracefulDeletionAndFinalizers folded in: kube re-reads the
    object between the two, but `current` was read just now, so the rules run once on one copy.
    Raises Raced on a lost race, and when `current` is the cache's copy (`suggested`) and the
    outcome would be no write at all (nothing confirmed the copy is etcd's state)."""
    strategy = strategy_for(resource)
    await admit_request(store, resource, "delete", "", None, current.obj)
    now = datetime.now(UTC)
    custom = strategy.begin_delete(json_copy(current.obj), options, now)
    if custom is not None:
        return await _write_kept(store, resource, current, custom, options, suggested)
    obj = json_copy(current.obj)
    graceful, pending, used = before_delete(strategy, obj, options, now)
    if pending:
        if suggested:
            raise Raced
        return Written(current.obj, current.kv.mod_revision)
    changed, finalizers = gc_finalizers(obj, options)
    if changed:
        meta_of(obj)["finalizers"] = finalizers
    has_finalizers = bool(meta_of(obj).get("finalizers"))
    if not graceful and has_finalizers:
        mark_as_deleting(obj, now)
        return await _write_kept(store, resource, current, obj, options, suggested)
    if graceful:
        kept = await _write_kept(store, resource, current, obj, options, suggested)
        if has_finalizers or (used.grace_period_seconds or 0) > 0:
            return kept
        # Grace 0 (an unscheduled pod): the update is written, then the object removed at once.
        revision = kept.revision or current.kv.mod_revision
        kv = current.kv if options.dry_run else _with_revision(current, kept.obj, revision)
        current = Located(current.shard, kv, kept.obj)
    # Not graceful and no finalizers (left): removed now, if the type allows it yet.
    if strategy.delete_blocked(current.obj):
        if suggested and not graceful:  # no write confirmed the cache's copy
            raise Raced
        return Written(current.obj, current.kv.mod_revision)
    return await delete_located(store, resource, current, dry_run=options.dry_run)


def _with_revision(current: Located, obj: JsonObject, revision: int) -> KeyValue:
    kv = current.kv
    return KeyValue(kv.key, storage_value(obj), kv.create_revision, revision, kv.version + 1)


async def _write_kept(
    store: Store,
    resource: ResourceType,
    current: Located,
    obj: JsonObject,
    options: DeleteOptions,
    suggested: bool,
) -> Written:
    """Write the deletion recorded on `obj`; the object stays. Raises Raced on a lost race,
    and on a no-op computed on the cache's copy (`suggested`: etcd's bytes decide)."""
    value = storage_value(obj, resource)
    if suggested and value == current.kv.value:
        raise Raced
    revision = await store.write_over(resource, current, obj, dry_run=options.dry_run, value=value)
    if revision is None:
        raise Raced
    obj["metadata"]["resourceVersion"] = str(revision)
    return Written(obj, revision)


async def delete_located(
    store: Store, resource: ResourceType, current: Located, *, dry_run: bool
) -> Written:
    """Remove the key if it is still at current's mod_revision; the answer carries the
    delete's revision (etcd3 store: the DeleteRange header revision)."""
    if dry_run:
        return Written(current.obj, current.kv.mod_revision, deleted=True)
    try:
        result = await store.proxy.shards[current.shard].client.delete(
            current.kv.key, expected_mod_revision=current.kv.mod_revision
        )
    except EtcdError as exc:
        raise etcd_unavailable(exc) from exc
    name = str(current.obj["metadata"].get("name", ""))
    if not result.succeeded:
        if result.current is None:
            raise not_found(resource.plural, name, resource.group)
        raise Raced
    if store.needs_claim(resource):
        try:
            await store.claims.forget(resource, name, current.shard)
        except EtcdError:
            pass  # a stale bound claim is repaired by the next create of the name
    await strategy_for(resource).after_delete(store, current.obj)  # e.g. release a ClusterIP
    obj = current.obj
    obj["metadata"]["resourceVersion"] = str(result.header_revision)
    return Written(obj, result.header_revision, deleted=True)


async def delete_collection(
    store: Store,
    resource: ResourceType,
    *,
    namespace: str,
    matches: Callable[[CachedObject], bool],
    options: DeleteOptions,
) -> tuple[list[JsonObject], int]:
    """deletecollection: every object of the collection that `matches`, deleted one by one
    with `options` (store.go DeleteCollection: not atomic; NotFound on the way is ignored).
    Returns the listed objects and the highest revision read."""
    shards = (
        store.candidate_shards(resource, namespace, "")
        if namespace
        else range(store.tenancy.shard_count)
    )
    page_size = store.proxy.settings.etcd_page_size
    items: list[JsonObject] = []
    revision = 0
    for shard in shards:
        try:
            read_at, objects = await store.proxy.shards[shard].list_objects(
                resource, namespace, revision=0, page_size=page_size
            )
        except EtcdError as exc:
            raise etcd_unavailable(exc) from exc
        revision = max(revision, read_at)
        items.extend(orjson.loads(obj.raw) for obj in objects if matches(obj))
    for item in items:
        meta = item["metadata"]
        try:
            await delete(
                store, resource, str(meta.get("namespace", "")), str(meta["name"]), options
            )
        except ApiError as exc:
            if exc.code != 404:
                raise
    return items, revision
