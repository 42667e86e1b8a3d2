"""Store: the generic write path over the etcd shards (kube's
apiserver/pkg/registry/generic/registry/store.go), shared by every resource type.

Every write is one etcd transaction on the object's shard, guarded by a `mod_revision` compare, so
optimistic concurrency is exactly etcd's. An update or delete starts from the watch cache's copy
(registry/attempt.py, kube's `cachedExistingObject`): its transaction compares on the copy's
revision, and whatever no compare confirms -- a stale copy, an error, a no-op -- is decided on a
linearizable etcd read, so a precondition always sees the latest write. Dry-run (`dryRun=All`)
runs every step -- decoding, defaulting, validation, admission, preconditions, patching -- on
etcd's state and answers what would be stored, skipping only the etcd write (kube's
DryRunnableStorage).

Objects are stored as kube-apiserver stores them with the JSON media type: without
`metadata.resourceVersion`, which is the key's `mod_revision` when read back.

The generic create/update path of kube's store.go; BeforeUpdate lives in updating.py, deletion
in deleting.py and deletion.py, managedFields and server-side apply in fieldmanager/.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from watchproxy.api.status import ApiError, bad_request, etcd_unavailable, not_found
from watchproxy.core.rv import ForeignTokenError, ResourceVersionError, parse_plain
from watchproxy.etcd.client import EtcdError, KeyValue
from watchproxy.proxy import Proxy
from watchproxy.registry import fieldmanager, versions
from watchproxy.registry.admission import admit_request, check_namespace_open
from watchproxy.registry.attempt import cached_copy, quietly, update_once
from watchproxy.registry.claims import NameClaims
from watchproxy.registry.deletion import timestamp
from watchproxy.registry.errors import already_exists, conflict, raise_invalid
from watchproxy.registry.meta import validate_object_meta
from watchproxy.registry.objects import (
    JsonObject,
    Located,
    Written,
    check_type,
    json_copy,
    omit_empty_meta,
    storage_value,
)
from watchproxy.registry.options import WriteOptions
from watchproxy.registry.strategy import Strategy, strategy_for
from watchproxy.registry.updating import prepare_update
from watchproxy.resources import ResourceType

# A write that lost a race to another writer, and carries no resourceVersion precondition of the
# client's, is retried on the new state until it wins, as kube's GuaranteedUpdate does -- bounded
# only by time (kube: the request's 60 s timeout), never by a count: ten writers patching one
# object must all succeed.
RETRY_SECONDS = 30.0


def retrying() -> Iterator[None]:
    """One step per attempt, for at least one attempt and until RETRY_SECONDS have passed."""
    deadline = time.monotonic() + RETRY_SECONDS
    yield
    while time.monotonic() < deadline:
        yield


_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apiserver's SimpleNameGenerator


class Store:
    """Owner: the HTTP write handlers and the built-in controllers (one per process).

    Concurrency: any task may call any method; etcd transactions serialise the writes.
    """

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.tenancy = proxy.tenancy
        claim_shard = proxy.shards[proxy.tenancy.default_shard]
        self.claims = NameClaims(
            client=claim_shard.client,
            key_prefix=claim_shard.key_prefix,
            shard_names=proxy.tenancy.shard_names,
        )

    # -- etcd access ----------------------------------------------------------------------------

    def key(self, shard: int, resource: ResourceType, namespace: str, name: str) -> bytes:
        prefix = self.proxy.shards[shard].resource_prefix(resource.storage_prefix)
        return prefix + (f"{namespace}/{name}" if resource.namespaced else name).encode()

    async def read_kv(self, shard: int, key: bytes) -> KeyValue | None:
        try:
            result = await self.proxy.shards[shard].client.range(key)
        except EtcdError as exc:
            raise etcd_unavailable(exc) from exc
        return result.kvs[0] if result.kvs else None

    def candidate_shards(self, resource: ResourceType, namespace: str, name: str) -> list[int]:
        tenancy = self.tenancy
        if resource.namespaced:
            return [tenancy.shard_of_namespace(namespace)]
        if resource.plural == "namespaces" and not resource.group:
            return [tenancy.shard_of_namespace(name)]
        return list(range(tenancy.shard_count))

    async def locate(self, resource: ResourceType, namespace: str, name: str) -> Located | None:
        """The object's shard, key-value and body as etcd holds them now (linearizable)."""
        shards = self.candidate_shards(resource, namespace, name)
        found = await asyncio.gather(
            *(self.read_kv(s, self.key(s, resource, namespace, name)) for s in shards)
        )
        for shard, kv in zip(shards, found, strict=True):
            if kv is not None:
                obj = orjson.loads(kv.value)
                obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
                if resource.custom is not None:  # any stored version, as the one asked for
                    obj["apiVersion"] = resource.api_version  # (CRD conversion None)
                return Located(shard, kv, obj)
        return None

    def cached(self, resource: ResourceType, namespace: str, name: str) -> Located | None:
        """The watch cache's copy of the object, a first attempt's base (registry/attempt.py):
        never proof of etcd's state, only a write comparing on its revision confirms it."""
        return cached_copy(self, resource, namespace, name)

    async def require(self, resource: ResourceType, namespace: str, name: str) -> Located:
        found = await self.locate(resource, namespace, name)
        if found is None:
            raise not_found(resource.plural, name, resource.group)
        return found

    def resource(self, plural: str, group: str = "", version: str = "v1") -> ResourceType:
        found = self.proxy.registry.lookup(group, version, plural)
        assert found is not None, plural
        return found

    def precondition(self, shard: int, text: Any) -> int | None:
        """A client's resourceVersion precondition as this shard's revision (plain or token)."""
        if text in (None, ""):
            return None
        text = str(text)
        plain = parse_plain(text)
        if plain is not None:
            return plain
        try:
            # A token carries the object's own revision when it was minted for one object
            # (docs/resource-versions.md); else the shard's entry of its vector.
            return self.proxy.codec.object_revision(text, shard)
        except (ResourceVersionError, ForeignTokenError) as exc:
            raise bad_request(f"invalid resourceVersion precondition: {exc}") from exc

    # -- create ---------------------------------------------------------------------------------

    async def create(
        self,
        resource: ResourceType,
        namespace: str,
        obj: JsonObject,
        options: WriteOptions,
        *,
        fields_done: bool = False,
    ) -> Written:
        """POST: a new object (201). Raises 409 AlreadyExists, 404 for a missing namespace, 403
        for a terminating one, 422 with causes for invalid objects. The creating manager's
        managedFields entry is recorded unless `fields_done` (an apply computed them)."""
        strategy = strategy_for(resource)
        check_type(resource, obj)
        meta = obj["metadata"]
        if resource.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            prefix = meta.get("generateName")
            if not prefix or not isinstance(prefix, str):
                raise_invalid(
                    resource,
                    "",
                    [
                        (
                            "FieldValueRequired",
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
            meta["name"] = str(prefix) + "".join(random.choices(_GENERATE_ALPHABET, k=5))
        name = str(meta["name"])
        for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timestamp(datetime.now(UTC))
        meta["generation"] = 1
        if not fields_done:
            # As kube: the body decoded (defaults applied), then the field manager, then the
            # strategy's and admission's changes (status, tolerations), which nobody owns.
            obj = versions.defaulted(strategy, resource, obj)
            manager = fieldmanager.manager_name(options.field_manager)
            fieldmanager.track(resource, None, obj, manager)
        obj = resource.stored_form(obj)  # the strategy works at the storage version
        strategy.prepare_for_create(obj)
        omit_empty_meta(obj)
        raise_invalid(resource, name, validate_object_meta(resource, obj) + strategy.validate(obj))
        if resource.namespaced:
            await check_namespace_open(self, resource, namespace, name)
        await strategy.admit(self, obj, None)
        await admit_request(self, resource, "create", "", obj, None)
        async with strategy.reserved(self, obj, None, dry_run=options.dry_run):
            shard = self.tenancy.shard_of_object(resource, obj)
            key = self.key(shard, resource, namespace, name)
            if options.dry_run:
                if await self.locate(resource, namespace, name) is not None:
                    raise already_exists(resource, name)
                return Written(obj, None)
            revision = await self._create_kv(resource, name, shard, key, obj)
            try:
                await strategy.verify_written(self, obj, None)
            except ApiError:
                # A concurrent write broke an invariant the admission check could not see.
                await quietly(
                    self.proxy.shards[shard].client.delete(key, expected_mod_revision=revision)
                )
                if self.needs_claim(resource):
                    await quietly(self.claims.forget(resource, name, shard))
                raise
            return Written(obj, revision)

    async def _create_kv(
        self, resource: ResourceType, name: str, shard: int, key: bytes, obj: JsonObject
    ) -> int:
        claim = None
        try:
            if self.needs_claim(resource):

                async def lookup(s: int) -> KeyValue | None:
                    return await self.read_kv(s, self.key(s, resource, "", name))

                claim = await self.claims.acquire(resource, name, shard, lookup)
            result = await self.proxy.shards[shard].client.create(key, storage_value(obj, resource))
            if claim is not None:
                await self.claims.bind(claim)  # the object (ours or a legacy one) holds it
        except EtcdError as exc:
            if claim is not None:
                await quietly(self.claims.release(claim))
            raise etcd_unavailable(exc) from exc
        if not result.succeeded:
            raise already_exists(resource, name)
        return result.header_revision

    def needs_claim(self, resource: ResourceType) -> bool:
        """Cluster-scoped objects that follow a tenant label may land on any shard."""
        return (
            not resource.namespaced
            and not (resource.plural == "namespaces" and not resource.group)
            and self.tenancy.shard_count > 1
        )

    # -- update ---------------------------------------------------------------------------------

    async def update(
        self,
        resource: ResourceType,
        *,
        namespace: str,
        name: str,
        subresource: str,
        compute: Callable[[Located], JsonObject],
        options: WriteOptions,
        track: bool = True,
    ) -> Written:
        """Read, compute the new object from the current one, write it if unchanged since.

        `compute(current)` returns the object the request asks for (a PUT body or a patched
        copy); a resourceVersion in it is a precondition (409 when stale). Without one, a lost
        race is retried on the new current state. Raises 404, 409, 422. The writer's
        managedFields entry is recorded unless not `track` (an apply's compute did it).
        """
        strategy = strategy_for(resource)
        # kube's Cacher.GuaranteedUpdate: the watch cache's copy is tried first, and etcd is
        # read only when the transaction's compare shows it stale or the outcome rests on it.
        current = None if options.dry_run else self.cached(resource, namespace, name)
        for _ in retrying():
            suggested = current is not None
            if current is None:
                current = await self.require(resource, namespace, name)
            try:
                written = await update_once(
                    self,
                    resource,
                    strategy,
                    current,
                    compute,
                    options,
                    suggested,
                    subresource,
                    track,
                )
            except ApiError:
                if not suggested:
                    raise
                written = None  # an error against the cache's copy: decided on etcd's
            if written is not None:
                return written
            current = None
        raise conflict(resource, name)

    async def write_over(
        self,
        resource: ResourceType,
        current: Located,
        obj: JsonObject,
        *,
        dry_run: bool,
        value: bytes | None = None,
    ) -> int | None:
        """Put `obj` in `current`'s place if the key is still at current's mod_revision.

        Returns the revision the object is at afterwards -- current's own for a dry run or a
        no-op (same bytes: kube skips the write and keeps the resourceVersion) -- or None when
        another write came first. Raises 404 if the object is gone, 503 if etcd is. `value`:
        `obj`'s storage_value when the caller has it already.
        """
        if value is None:
            value = storage_value(obj, resource)
        if dry_run or value == current.kv.value:
            return current.kv.mod_revision
        try:
            result = await self.proxy.shards[current.shard].client.update(
                current.kv.key, value, expected_mod_revision=current.kv.mod_revision
            )
        except EtcdError as exc:
            raise etcd_unavailable(exc) from exc
        if result.succeeded:
            return result.header_revision
        if result.current is None:
            name = str(current.obj["metadata"].get("name", ""))
            raise not_found(resource.plural, name, resource.group)
        return None

    def prepare_update(
        self, strategy: Strategy, new: JsonObject, old: JsonObject, subresource: str
    ) -> None:
        """BeforeUpdate (registry/updating.py)."""
        prepare_update(strategy, new, old, subresource)

    async def guaranteed_update(
        self,
        resource: ResourceType,
        namespace: str,
        name: str,
        mutate: Callable[[JsonObject], None],
        *,
        subresource: str = "",
    ) -> Written:
        """Apply `mutate` to the latest object until it sticks (controllers' updates)."""

        def compute(current: Located) -> JsonObject:
            new = json_copy(current.obj)
            new["metadata"].pop("resourceVersion", None)
            mutate(new)
            return new

        return await self.update(
            resource,
            namespace=namespace,
            name=name,
            subresource=subresource,
            compute=compute,
            options=WriteOptions(),
        )
