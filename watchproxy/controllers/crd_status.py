"""The CustomResourceDefinition controllers of apiextensions-apiserver, in one pass over the
cached CRDs (kube: pkg/controller/status/naming_controller.go,
pkg/controller/establish/establishing_controller.go, pkg/controller/finalizer/crd_finalizer.go).

- Names: `status.acceptedNames` takes each requested name that no other CRD of the group has
  accepted (or that this CRD already holds); `NamesAccepted` is True ("NoConflicts") or False
  with the first conflict's reason (PluralConflict, SingularConflict, ShortNamesConflict,
  KindConflict, ListKindConflict).
- Established: True ("InitialNamesAccepted") once the names are accepted AND this process
  serves the CRD's storage version. Every process serves a CRD from NamesAccepted on (kube's
  crdHandler serves NamesAccepted or Established CRDs), so a client that waited for
  Established (`kubectl wait --for condition=established`) finds it served and in discovery
  on the process that wrote it, and on the others a few hundred milliseconds later (kube's
  establishing controller waits 5 s on an HA control plane for the same reason).
- Deletion: a CRD with a deletionTimestamp and the `customresourcecleanup.apiextensions.k8s.io`
  finalizer gets Terminating True "InstanceDeletionInProgress", every instance on every shard is
  deleted through the store (uid preconditions), and once linearizable count-only reads of the
  resource's prefix find no key on any shard, Terminating False "InstanceDeletionCompleted" and
  the finalizer is removed (the store then deletes the CRD).

Unlike the namespace controller and the GC, this runs in every process without a Lease, as
kube runs these controllers in every apiserver: each write is conditional on the
resourceVersion read and idempotent, so concurrent passes converge (runner.py starts it).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from datetime import UTC, datetime

from watchproxy.api.status import ApiError, etcd_unavailable
from watchproxy.controllers.cached import (
    ObjectId,
    decode,
    delete_by_uid,
    objects_of,
    run_bounded,
    update_by_uid,
)
from watchproxy.etcd.client import EtcdError
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import timestamp
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.registry.strategies.crd import CLEANUP_FINALIZER
from watchproxy.resources import ResourceType
from watchproxy.schema.crd import (
    CRD_RESOURCE,
    JsonObject,
    conditions,
    set_condition,
    storage_version,
)
from watchproxy.schema.crd import served_types as crd_served_types

log = logging.getLogger("watchproxy.controllers.crd")
# How soon a CRD whose instances are still going (finalizers, grace) is looked at again.
TERMINATING_RECHECK_SECONDS = 1.0
# How soon a CRD whose names are accepted is looked at again while this process does not
# serve it yet (the proxy picks new CRDs up from its cache every CRD_POLL_SECONDS).
ESTABLISH_RECHECK_SECONDS = 0.1


def accepted_names(crd: JsonObject, others: list[JsonObject]) -> tuple[JsonObject, JsonObject]:
    """naming_controller.go calculateNamesAndConditions: (acceptedNames, NamesAccepted condition
    without its time) against the other CRDs of the same group."""
    spec = crd.get("spec") or {}
    group = spec.get("group")
    resources: set[str] = set()
    kinds: set[str] = set()
    for other in others:
        if (other.get("spec") or {}).get("group") != group:
            continue
        names = (other.get("status") or {}).get("acceptedNames") or {}
        resources.update(
            n for n in (names.get("plural"), names.get("singular")) if isinstance(n, str) and n
        )
        resources.update(n for n in names.get("shortNames") or [] if isinstance(n, str))
        kinds.update(
            n for n in (names.get("kind"), names.get("listKind")) if isinstance(n, str) and n
        )
    requested = spec.get("names") or {}
    accepted = dict((crd.get("status") or {}).get("acceptedNames") or {})
    new = dict(accepted)
    conflict: tuple[str, str] | None = None

    def fresh(want: object, have: object, used: set[str]) -> bool:
        return want == have or want not in used

    # kube's order; each conflict overwrites the condition, so the last one is reported.
    for field, used, reason in (
        ("plural", resources, "PluralConflict"),
        ("singular", resources, "SingularConflict"),
        ("shortNames", resources, "ShortNamesConflict"),
        ("kind", kinds, "KindConflict"),
        ("listKind", kinds, "ListKindConflict"),
    ):
        if field == "shortNames":
            shorts = list(requested.get("shortNames") or [])
            held = set(accepted.get("shortNames") or [])
            clashes = [f'"{n}" is already in use' for n in shorts if n not in held and n in used]
            if shorts == list(accepted.get("shortNames") or []):
                continue
            if clashes:
                conflict = (reason, ", ".join(clashes))
            else:
                new["shortNames"] = shorts
            continue
        want = requested.get(field)
        if want is None:
            continue
        if fresh(want, accepted.get(field), used):
            new[field] = want
        else:
            conflict = (reason, f'"{want}" is already in use')
    if not new.get("shortNames"):
        new.pop("shortNames", None)
    if requested.get("categories"):
        new["categories"] = requested["categories"]
    else:
        new.pop("categories", None)
    if conflict is None:
        return new, {"status": "True", "reason": "NoConflicts", "message": "no conflicts found"}
    return new, {"status": "False", "reason": conflict[0], "message": conflict[1]}


class CrdController:
    """One level-triggered pass over every cached CRD (runner.Reconciler)."""

    name = "crd-status"

    def __init__(self, *, proxy: Proxy, store: Store) -> None:
        self.proxy = proxy
        self.store = store
        found = proxy.registry.lookup(CRD_RESOURCE.group, "v1", CRD_RESOURCE.plural)
        self.crd_resource = found or CRD_RESOURCE
        self._terminating: list[ResourceType] = []

    def watched(self) -> list[ResourceType]:
        # Only those still served: a finalized CRD's resource is gone before the next pass.
        served = [r for r in self._terminating if self.proxy.is_served(r)]
        return [self.crd_resource, *served]

    def _crds(self) -> list[JsonObject]:
        return [decode(o) for o in objects_of(self.proxy, self.crd_resource)]

    async def sync(self) -> float | None:
        crds = self._crds()
        self._terminating = []
        wait: float | None = None
        for crd in crds:
            meta = crd.get("metadata") or {}
            try:
                if not meta.get("deletionTimestamp"):
                    if not await self.name_crd(crd, [c for c in crds if c is not crd]):
                        wait = min(wait or ESTABLISH_RECHECK_SECONDS, ESTABLISH_RECHECK_SECONDS)
                elif CLEANUP_FINALIZER in (meta.get("finalizers") or []):
                    if not await self.finalize(crd):
                        wait = TERMINATING_RECHECK_SECONDS
            except (ApiError, EtcdError) as exc:
                # One CRD's failed write must not hold up the others: retried soon.
                log.warning("custom resource definition %s: %s", meta.get("name"), exc)
                wait = TERMINATING_RECHECK_SECONDS
        return wait

    def _now(self) -> str:
        return timestamp(datetime.now(UTC))

    def _serves(self, crd: JsonObject, names: JsonObject) -> bool:
        """Whether this process serves the CRD's storage version under the accepted names."""
        spec = crd.get("spec") or {}
        storage = storage_version(crd)
        if storage is None:
            return False
        found = self.proxy.registry.lookup(
            str(spec.get("group", "")), str(storage.get("name", "")), str(names.get("plural"))
        )
        return found is not None and self.proxy.is_served(found)

    async def name_crd(self, crd: JsonObject, others: list[JsonObject]) -> bool:
        """NamesAccepted, acceptedNames and Established, written only when they change. False
        while the names are accepted but Established waits for this process to serve them."""
        names, cond = accepted_names(crd, others)
        established = conditions(crd).get("Established", {}).get("status") == "True"
        serves = established or self._serves(crd, names)
        now = self._now()

        def mutate(obj: JsonObject) -> None:
            obj.setdefault("status", {})["acceptedNames"] = names
            set_condition(
                obj, "NamesAccepted", cond["status"], cond["reason"], cond["message"], now
            )
            if established:
                return  # once established, always established (kube)
            if cond["status"] == "True":
                if serves:
                    reason = "InitialNamesAccepted"
                    message = "the initial names have been accepted"
                    set_condition(obj, "Established", "True", reason, message, now)
            else:
                reason, message = "NotAccepted", "not all names are accepted"
                set_condition(obj, "Established", "False", reason, message, now)

        wanted = copy.deepcopy(crd)
        mutate(wanted)
        if wanted.get("status") != crd.get("status"):
            await update_by_uid(self.store, self._id(crd), mutate, subresource="status")
        return serves or cond["status"] != "True"

    def _id(self, crd: JsonObject) -> ObjectId:
        meta = crd.get("metadata") or {}
        return ObjectId(self.crd_resource, "", str(meta.get("name", "")), str(meta.get("uid", "")))

    def _instances_type(self, crd: JsonObject) -> ResourceType | None:
        """A served version of the CRD (the storage version if it is served): every version
        reads the same keys, so deleting through one deletes them all."""
        found: list[ResourceType] = []
        for resource in crd_served_types(crd):
            served = self.proxy.registry.lookup(resource.group, resource.version, resource.plural)
            if served is not None and served.custom is not None:
                found.append(served)
        found.sort(key=lambda r: r.custom is None or r.version != r.custom.storage_version)
        return found[0] if found else None

    async def finalize(self, crd: JsonObject) -> bool:
        """crd_finalizer.go sync: delete every instance, then drop the finalizer. True when the
        finalizer is gone; False while instances remain (the pass is called again soon)."""
        target = self._id(crd)
        now = self._now()
        resource = self._instances_type(crd)
        if resource is None and conditions(crd).get("Established", {}).get("status") == "True":
            return False  # served soon by this process: its instances can then be deleted
        if resource is not None:
            self._terminating.append(resource)
            await self._set(
                target,
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
                now,
            )
            instances = [ObjectId.of(resource, o) for o in objects_of(self.proxy, resource)]
            options = DeleteOptions()
            await run_bounded(functools.partial(self._delete, i, options) for i in instances)
            if not await self._empty(resource):
                return False
            reason, message = "InstanceDeletionCompleted", "removed all instances"
        else:
            reason, message = "NeverEstablished", "resource was never established"
        await self._set(target, "False", reason, message, now)

        def drop(obj: JsonObject) -> None:
            meta = obj.setdefault("metadata", {})
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]

        await update_by_uid(self.store, target, drop)
        log.info("custom resource definition %s: instances deleted", target.name)
        return True

    async def _delete(self, instance: ObjectId, options: DeleteOptions) -> None:
        await delete_by_uid(self.store, instance, options)

    async def _set(
        self, target: ObjectId, status: str, reason: str, message: str, now: str
    ) -> None:
        def mutate(obj: JsonObject) -> None:
            set_condition(obj, "Terminating", status, reason, message, now)

        await update_by_uid(self.store, target, mutate, subresource="status")

    async def _empty(self, resource: ResourceType) -> bool:
        """No key of the resource on any shard (linearizable count-only reads)."""
        try:
            counts = await asyncio.gather(*(shard.count(resource) for shard in self.proxy.shards))
        except EtcdError as exc:
            raise etcd_unavailable(exc) from exc
        return not any(counts)
