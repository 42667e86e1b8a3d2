"""The namespace controller: empties a Terminating namespace, then finalizes and deletes it.

kube sources: pkg/controller/namespace/namespace_controller.go (the loop),
deletion/namespaced_resources_deleter.go (`Delete`, `deleteAllContent`, `finalizeNamespace`,
`deleteNamespace`, `estimateGracefulTermination`) and deletion/status_condition_utils.go (the
five `Namespace*` status conditions, their reasons and messages).

A Terminating namespace is looked at when it or anything in it changed in the cache since its
last look, or when that look asked to be called back (a pod's grace period ends) or 15 s passed.
Per look (the namespace found in the watch cache, then read from etcd as kube's `Get` does):
1. `spec.finalizers` already empty: delete the namespace (uid precondition) and stop.
2. Delete every namespaced object of every served resource in it, `propagationPolicy:
   Background`, with the object's uid as precondition. Objects with finalizers stay (their
   deletion is recorded) until whoever owns the finalizer removes it; pods bound to a node get
   their grace period. Objects already being deleted are left alone, except those holding the
   GC's `orphan`/`foregroundDeletion` finalizer: deleting them again with Background drops it,
   as kube's repeated deletecollection does.
3. Record what remains in `status.conditions` (NamespaceContentRemaining,
   NamespaceFinalizersRemaining, NamespaceDeletionContentFailure, and the two discovery ones,
   always "ok" here since the served resources are known).
4. Nothing remains in the cache *and* etcd counts no key under the namespace: remove
   `kubernetes` from `spec.finalizers` through `/finalize`, and delete the namespace again.

Pods with no kubelet. kube waits for the kubelet of a bound pod to finish it (the controller
re-queues after the pods' longest grace period); PodGC force-deletes pods whose node object is
gone. watchproxy often runs with no kubelets at all (dev mode, proxies in front of etcd only), so
waiting would keep such namespaces Terminating forever. Rule here: a pod in a Terminating
namespace whose grace period has ended (`deletionTimestamp` is past) is deleted with grace 0
unless its node has a live kubelet -- the Node exists and its `kube-node-lease` Lease `renewTime`
or its Ready condition's `lastHeartbeatTime` is within 40 s (kube-controller-manager's
`--node-monitor-grace-period`). Pods on nodes with a live kubelet are left to the kubelet.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from watchproxy.api.status import ApiError
from watchproxy.controllers.cached import (
    cached,
    decode,
    delete_by_uid,
    meta_of,
    objects_of,
    parse_time,
    run_bounded,
    update_by_uid,
)
from watchproxy.etcd.client import EtcdError, prefix_range_end
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, timestamp
from watchproxy.registry.options import BACKGROUND, DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.resources import ResourceType

log = logging.getLogger("watchproxy.controllers")
JsonObject = dict[str, Any]
FINALIZER = "kubernetes"  # v1.FinalizerKubernetes
NODE_MONITOR_GRACE = timedelta(seconds=40)  # --node-monitor-grace-period
NODE_LEASE_NAMESPACE = "kube-node-lease"
_GC_FINALIZERS = frozenset({FINALIZER_ORPHAN, FINALIZER_FOREGROUND})
# Next look at a namespace whose etcd still has keys the cache has not shown yet, or whose last
# pass failed (kube re-queues with rate-limited backoff; the cache's change wakes us sooner).
RETRY_SECONDS = 1.0
# A namespace nothing changed in is looked at again after this (kube re-queues a namespace with
# finalizers remaining after 15 s; heartbeats of live kubelets age without any cache change).
RESYNC_SECONDS = 15.0

CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
_OK: dict[str, tuple[str, str]] = {  # type -> (reason, message) when nothing is wrong
    "NamespaceDeletionDiscoveryFailure": (
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    "NamespaceDeletionGroupVersionParsingFailure": (
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    "NamespaceDeletionContentFailure": (
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentRemoved", "All content successfully removed"),
}


@dataclass
class Remaining:
    """What one pass left in a namespace: counts per `resource.group` and per finalizer, the
    delete errors per resource, and when the remaining pods' grace periods end."""

    by_resource: Counter[str] = field(default_factory=Counter)
    by_finalizer: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    grace_ends: list[datetime] = field(default_factory=list)

    def add(self, resource: ResourceType, obj: JsonObject) -> None:
        meta = meta_of(obj)
        self.by_resource[f"{resource.plural}.{resource.group}"] += 1
        for finalizer in meta.get("finalizers") or []:
            self.by_finalizer[str(finalizer)] += 1
        ends = parse_time(meta.get("deletionTimestamp"))
        if resource.key == "pods" and ends is not None and meta.get("deletionGracePeriodSeconds"):
            self.grace_ends.append(ends)

    @property
    def empty(self) -> bool:
        return not self.by_resource and not self.errors

    def wait_seconds(self, now: datetime) -> float | None:
        """When to look again without a cache change: just after the earliest grace period
        ends (kube: estimateGracefulTermination), or soon after an error."""
        if self.errors:
            return RETRY_SECONDS
        ahead = [ends for ends in self.grace_ends if ends > now]
        if not ahead:
            return None
        # deletionTimestamp has second precision: look a moment after it.
        return (min(ahead) - now).total_seconds() + 0.5


def failure_conditions(remaining: Remaining) -> dict[str, tuple[str, str]]:
    """The conditions that are True, type -> (reason, message), as status_condition_utils.go
    words them (ProcessContentTotals, makeDeleteContentCondition)."""
    out: dict[str, tuple[str, str]] = {}
    if remaining.errors:
        errors = sorted(remaining.errors)
        out["NamespaceDeletionContentFailure"] = (
            "ContentDeletionFailed",
            f"Failed to delete all resource types, {len(errors)} remaining: {', '.join(errors)}",
        )
    if remaining.by_resource:
        parts = sorted(f"{r} has {n} resource instances" for r, n in remaining.by_resource.items())
        out["NamespaceContentRemaining"] = (
            "SomeResourcesRemain",
            f"Some resources are remaining: {', '.join(parts)}",
        )
    if remaining.by_finalizer:
        parts = sorted(f"{f} in {n} resource instances" for f, n in remaining.by_finalizer.items())
        out["NamespaceFinalizersRemaining"] = (
            "SomeFinalizersRemain",
            f"Some content in the namespace has finalizers remaining: {', '.join(parts)}",
        )
    return out


def merge_conditions(
    old: Any, failures: dict[str, tuple[str, str]], now: datetime
) -> list[JsonObject] | None:
    """kube's updateConditions: each of the five types set True with the failure or False with
    the ok reason; lastTransitionTime moves only when the status flips. None: nothing changed."""
    conditions = [dict(c) for c in old if isinstance(c, dict)] if isinstance(old, list) else []
    changed = False
    for kind in CONDITION_TYPES:
        status = "True" if kind in failures else "False"
        reason, message = failures.get(kind, _OK[kind])
        current = next((c for c in conditions if c.get("type") == kind), None)
        if current is None:
            conditions.append(
                {
                    "type": kind,
                    "status": status,
                    "lastTransitionTime": timestamp(now),
                    "reason": reason,
                    "message": message,
                }
            )
            changed = True
        elif (current.get("status"), current.get("reason"), current.get("message")) != (
            status,
            reason,
            message,
        ):
            if current.get("status") != status:
                current["lastTransitionTime"] = timestamp(now)
            current.update(status=status, reason=reason, message=message)
            changed = True
    return conditions if changed else None


def kubelet_alive(node: JsonObject | None, node_lease: JsonObject | None, now: datetime) -> bool:
    """The node has a kubelet that reported within NODE_MONITOR_GRACE: its kube-node-lease
    Lease renewTime or its Ready condition's lastHeartbeatTime (node lifecycle controller)."""
    if node is None:
        return False
    beats = []
    if node_lease is not None:
        beats.append(parse_time((node_lease.get("spec") or {}).get("renewTime")))
    for condition in (node.get("status") or {}).get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            beats.append(parse_time(condition.get("lastHeartbeatTime")))
    return any(beat is not None and now - beat < NODE_MONITOR_GRACE for beat in beats)


def should_force_delete(pod: JsonObject, *, now: datetime, kubelet_is_alive: bool) -> bool:
    """A terminating pod whose grace period is over and that no live kubelet will finish
    (see the module docstring). Already force-deleted pods (grace 0) wait for finalizers."""
    meta = meta_of(pod)
    ends = parse_time(meta.get("deletionTimestamp"))
    if ends is None or ends > now or not meta.get("deletionGracePeriodSeconds"):
        return False
    return not kubelet_is_alive


class NamespaceController:
    """Owner: the runner, while this process holds the `watchproxy-namespace-controller` Lease.

    Concurrency: `sync` is called by one task at a time; it fans writes out (cached.CONCURRENCY).
    """

    name = "namespace-controller"

    def __init__(self, *, proxy: Proxy, store: Store) -> None:
        self.proxy = proxy
        self.store = store
        self.namespaces = store.resource("namespaces")
        self.pods = store.resource("pods")
        self.nodes = store.resource("nodes")
        self.leases = store.resource("leases", "coordination.k8s.io")
        self.content = [r for r in proxy.registry.resources if r.namespaced and "delete" in r.verbs]
        # Namespace -> (fingerprint at its last look, loop time its next look is due).
        self._seen: dict[str, tuple[tuple[int, ...], float]] = {}

    def terminating(self) -> list[str]:
        """Names of the namespaces the cache shows with a deletionTimestamp."""
        names = []
        for obj in objects_of(self.proxy, self.namespaces):
            if b'"deletionTimestamp"' in obj.raw and meta_of(decode(obj)).get("deletionTimestamp"):
                names.append(obj.name)
        return sorted(names)

    def fingerprint(self, name: str) -> tuple[int, ...]:
        """Changes when the namespace or anything in it changed in the cache: per resource, the
        count and the sum of revisions (an update raises one; an add and a delete cannot cancel
        out, since the new revision is above every old one). No decoding, O(objects in it)."""
        found = cached(self.proxy, self.namespaces, "", name)
        out = [found.revision if found is not None else 0]
        for resource in self.content:
            objects = objects_of(self.proxy, resource, name)
            out += (len(objects), sum(o.revision for o in objects))
        return tuple(out)

    async def sync(self) -> float | None:
        """One pass over the Terminating namespaces that changed since their last look, or
        whose look is due (kube re-queues a namespace after its estimate); seconds until the
        next look is due even if the cache does not change."""
        loop = asyncio.get_running_loop()
        names = self.terminating()
        current = set(names)
        self._seen = {n: seen for n, seen in self._seen.items() if n in current}
        due: list[tuple[str, tuple[int, ...]]] = []
        for name in names:
            mark = self.fingerprint(name)
            seen = self._seen.pop(name, None)
            if seen is not None and seen[0] == mark and loop.time() < seen[1]:
                self._seen[name] = seen
            else:
                due.append((name, mark))

        async def one(name: str, mark: tuple[int, ...]) -> None:
            wait = await self.sync_namespace(name)
            # Set only after a look that did not fail: a failed one is retried next pass.
            self._seen[name] = (mark, loop.time() + (RESYNC_SECONDS if wait is None else wait))

        failed = await run_bounded(partial(one, name, mark) for name, mark in due)
        if failed:
            return RETRY_SECONDS
        if not self._seen:
            return None
        return max(0.0, min(at for _, at in self._seen.values()) - loop.time())

    async def sync_namespace(self, name: str) -> float | None:
        """namespacedResourcesDeleter.Delete for one namespace, read from etcd first."""
        found = await self.store.locate(self.namespaces, "", name)
        if found is None:
            return None
        meta = found.obj["metadata"]
        uid = str(meta.get("uid", ""))
        if not meta.get("deletionTimestamp"):
            return None
        if (found.obj.get("status") or {}).get("phase") != "Terminating":
            await self._set_terminating(name, uid)
        finalizers = (found.obj.get("spec") or {}).get("finalizers") or []
        if not finalizers:
            await self._delete_namespace(name, uid)
            return None
        if FINALIZER not in finalizers:
            return None  # other finalizers' owners finish it; we delete it once they are gone
        now = datetime.now(UTC)
        remaining = await self._delete_content(name, now)
        await self._update_conditions(name, uid, remaining, now)
        if not remaining.empty:
            return remaining.wait_seconds(now)
        if not await self._empty_in_etcd(name):
            return RETRY_SECONDS  # the cache has not shown us everything yet
        written = await update_by_uid(
            self.store,
            self.namespaces,
            namespace="",
            name=name,
            uid=uid,
            mutate=_remove_kubernetes_finalizer,
            subresource="finalize",
        )
        if written is not None and written.deleted:
            # kube's namespace store deletes on the /finalize that empties spec.finalizers
            # (ShouldDeleteNamespaceDuringUpdate).
            log.info("namespace controller: namespace %s finalized and deleted", name)
        elif written is not None and not (written.obj.get("spec") or {}).get("finalizers"):
            await self._delete_namespace(name, uid)
        return None

    async def _set_terminating(self, name: str, uid: str) -> None:
        def mutate(obj: JsonObject) -> None:
            obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}

        await update_by_uid(
            self.store,
            self.namespaces,
            namespace="",
            name=name,
            uid=uid,
            mutate=mutate,
            subresource="status",
        )

    async def _delete_namespace(self, name: str, uid: str) -> None:
        written = await delete_by_uid(
            self.store, self.namespaces, namespace="", name=name, uid=uid, options=DeleteOptions()
        )
        if written is not None and written.deleted:
            log.info("namespace controller: namespace %s finalized and deleted", name)

    async def _delete_content(self, namespace: str, now: datetime) -> Remaining:
        """deleteAllContent: delete what is not being deleted yet, force-delete pods no kubelet
        will finish, count the rest."""
        remaining = Remaining()
        steps = []
        for resource in self.content:
            for cached_obj in objects_of(self.proxy, resource, namespace):
                if b'"deletionTimestamp"' not in cached_obj.raw:
                    # Not being deleted: the cached name and uid are all the delete needs.
                    identity = {
                        "namespace": cached_obj.namespace,
                        "name": cached_obj.name,
                        "uid": cached_obj.uid,
                    }
                    steps.append(
                        partial(
                            self._delete, resource, {"metadata": identity}, remaining, force=False
                        )
                    )
                    continue
                obj = decode(cached_obj)
                meta = meta_of(obj)
                if not meta.get("deletionTimestamp") or _GC_FINALIZERS & set(
                    meta.get("finalizers") or []
                ):
                    # kube deletes every item again on each pass with Background, which drops
                    # an orphan/foreground finalizer an earlier DELETE set; deleting items
                    # again changes nothing else, so only those are sent again.
                    steps.append(partial(self._delete, resource, obj, remaining, force=False))
                elif resource is self.pods and should_force_delete(
                    obj, now=now, kubelet_is_alive=self._kubelet_alive(obj, now)
                ):
                    steps.append(partial(self._delete, resource, obj, remaining, force=True))
                else:
                    remaining.add(resource, obj)
        if steps:
            log.info(
                "namespace controller: namespace %s: deleting %d objects", namespace, len(steps)
            )
        await run_bounded(steps)
        return remaining

    async def _delete(
        self, resource: ResourceType, obj: JsonObject, remaining: Remaining, *, force: bool
    ) -> None:
        meta = meta_of(obj)
        options = DeleteOptions(
            propagation_policy=BACKGROUND, grace_period_seconds=0 if force else None
        )
        try:
            written = await delete_by_uid(
                self.store,
                resource,
                namespace=str(meta.get("namespace", "")),
                name=str(meta.get("name", "")),
                uid=str(meta.get("uid", "")),
                options=options,
            )
        except (ApiError, EtcdError) as exc:
            remaining.add(resource, obj)
            remaining.errors.append(f"{resource.plural}.{resource.group}: {exc}")
            return
        if written is not None and not written.deleted:
            remaining.add(resource, written.obj)

    def _kubelet_alive(self, pod: JsonObject, now: datetime) -> bool:
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        if not node_name:
            return False
        node = cached(self.proxy, self.nodes, "", node_name)
        lease = cached(self.proxy, self.leases, NODE_LEASE_NAMESPACE, node_name)
        return kubelet_alive(
            decode(node) if node is not None else None,
            decode(lease) if lease is not None else None,
            now,
        )

    async def _update_conditions(
        self, name: str, uid: str, remaining: Remaining, now: datetime
    ) -> None:
        failures = failure_conditions(remaining)

        def mutate(obj: JsonObject) -> None:
            status = obj.setdefault("status", {})
            merged = merge_conditions(status.get("conditions"), failures, now)
            if merged is not None:
                status["conditions"] = merged

        await update_by_uid(
            self.store,
            self.namespaces,
            namespace="",
            name=name,
            uid=uid,
            mutate=mutate,
            subresource="status",
        )

    async def _empty_in_etcd(self, namespace: str) -> bool:
        """No key of any served namespaced resource under the namespace, by linearizable
        count-only reads (kube's final check is a live LIST too)."""
        for resource in self.content:
            for shard in self.store.candidate_shards(resource, namespace, ""):
                backend = self.proxy.shards[shard]
                prefix = backend.resource_prefix(resource.storage_prefix) + f"{namespace}/".encode()
                result = await backend.client.range(
                    prefix, prefix_range_end(prefix), count_only=True
                )
                if result.count:
                    return False
        return True


def _remove_kubernetes_finalizer(obj: JsonObject) -> None:
    spec = obj.setdefault("spec", {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
