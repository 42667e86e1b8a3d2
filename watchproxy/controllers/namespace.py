"""The namespace controller: empties a Terminating namespace, then finalizes and deletes it.

kube sources: pkg/controller/namespace/namespace_controller.go (the loop),
deletion/namespaced_resources_deleter.go (`Delete`, `deleteAllContent`, `finalizeNamespace`,
`deleteNamespace`, `estimateGracefulTermination`) and deletion/status_condition_utils.go (the
five `Namespace*` status conditions, their reasons and messages: namespace_status.py).

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
`--node-monitor-grace-period`; pod_liveness.py). Pods on nodes with a live kubelet are left to
the kubelet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from watchproxy.api.status import ApiError, etcd_unavailable
from watchproxy.controllers.cached import (
    ObjectId,
    cached,
    decode,
    delete_by_uid,
    objects_of,
    run_bounded,
    update_by_uid,
)
from watchproxy.controllers.namespace_status import (
    RETRY_SECONDS,
    Remaining,
    failure_conditions,
    merge_conditions,
)
from watchproxy.controllers.pod_liveness import KubeletLiveness, should_force_delete
from watchproxy.core.objects import CachedObject
from watchproxy.etcd.client import EtcdError
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, meta_of
from watchproxy.registry.options import BACKGROUND, DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.registry.strategies.namespace import FINALIZER_KUBERNETES
from watchproxy.registry.versions import converts
from watchproxy.resources import ResourceType

log = logging.getLogger("watchproxy.controllers")
JsonObject = dict[str, Any]
_GC_FINALIZERS = frozenset({FINALIZER_ORPHAN, FINALIZER_FOREGROUND})
# A namespace nothing changed in is looked at again after this (kube re-queues a namespace with
# finalizers remaining after 15 s; heartbeats of live kubelets age without any cache change).
RESYNC_SECONDS = 15.0


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
        self.content = [  # a converted built-in once, at its storage version (decision 0018)
            r
            for r in proxy.registry.resources
            if r.namespaced and "delete" in r.verbs and not converts(r)
        ]
        # Namespace -> (fingerprint at its last look, loop time its next look is due).
        self._seen: dict[str, tuple[tuple[int, ...], float]] = {}
        self._terminating = False  # the last pass saw a Terminating namespace

    def watched(self) -> list[ResourceType]:
        """The resources whose changes call for a pass: the namespaces, and while one is
        Terminating, what may be in it and the Nodes (whose kubelets finish pods)."""
        if not self._terminating:
            return [self.namespaces]
        return [self.namespaces, self.nodes, *self.content]

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
        self._terminating = bool(names)
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
        if not meta.get("deletionTimestamp"):
            return None
        namespace = ObjectId(self.namespaces, "", name, str(meta.get("uid", "")))
        if (found.obj.get("status") or {}).get("phase") != "Terminating":
            await self._update_status(namespace, _set_terminating)
        finalizers = (found.obj.get("spec") or {}).get("finalizers") or []
        if not finalizers:
            await self._delete_namespace(namespace)
            return None
        if FINALIZER_KUBERNETES not in finalizers:
            return None  # other finalizers' owners finish it; we delete it once they are gone
        now = datetime.now(UTC)
        remaining = await self._delete_content(name, now)
        await self._update_conditions(namespace, remaining, now)
        if not remaining.empty:
            return remaining.wait_seconds(now)
        if not await self._empty_in_etcd(name):
            return RETRY_SECONDS  # the cache has not shown us everything yet
        written = await update_by_uid(
            self.store, namespace, _remove_kubernetes_finalizer, subresource="finalize"
        )
        if written is not None and written.deleted:
            # kube's namespace store deletes on the /finalize that empties spec.finalizers
            # (ShouldDeleteNamespaceDuringUpdate).
            log.info("namespace controller: namespace %s finalized and deleted", name)
        elif written is not None and not (written.obj.get("spec") or {}).get("finalizers"):
            await self._delete_namespace(namespace)
        return None

    async def _update_status(
        self, namespace: ObjectId, mutate: Callable[[JsonObject], None]
    ) -> None:
        await update_by_uid(self.store, namespace, mutate, subresource="status")

    async def _delete_namespace(self, namespace: ObjectId) -> None:
        written = await delete_by_uid(self.store, namespace, DeleteOptions())
        if written is not None and written.deleted:
            log.info("namespace controller: namespace %s finalized and deleted", namespace.name)

    async def _delete_content(self, namespace: str, now: datetime) -> Remaining:
        """deleteAllContent: delete what is not being deleted yet, force-delete pods no kubelet
        will finish, count the rest."""
        remaining = Remaining()
        liveness = KubeletLiveness(self.proxy, nodes=self.nodes, leases=self.leases, now=now)
        steps = []
        for resource in self.content:
            for found in objects_of(self.proxy, resource, namespace):
                delete = partial(self._delete, resource, found, remaining)
                if b'"deletionTimestamp"' not in found.raw:
                    # Not being deleted: the cached name and uid are all the delete needs.
                    steps.append(partial(delete, force=False))
                    continue
                obj = decode(found)
                meta = meta_of(obj)
                if not meta.get("deletionTimestamp") or _GC_FINALIZERS & set(
                    meta.get("finalizers") or []
                ):
                    # kube deletes every item again on each pass with Background, which drops
                    # an orphan/foreground finalizer an earlier DELETE set; deleting items
                    # again changes nothing else, so only those are sent again.
                    steps.append(partial(delete, force=False))
                elif resource is self.pods and should_force_delete(
                    obj, now=now, kubelet_is_alive=liveness.of_pod(obj)
                ):
                    steps.append(partial(delete, force=True))
                else:
                    remaining.add(resource, obj)
        if steps:
            log.info(
                "namespace controller: namespace %s: deleting %d objects", namespace, len(steps)
            )
        await run_bounded(steps)
        return remaining

    async def _delete(
        self, resource: ResourceType, found: CachedObject, remaining: Remaining, *, force: bool
    ) -> None:
        options = DeleteOptions(
            propagation_policy=BACKGROUND, grace_period_seconds=0 if force else None
        )
        try:
            written = await delete_by_uid(self.store, ObjectId.of(resource, found), options)
        except (ApiError, EtcdError) as exc:
            remaining.add(resource, decode(found))
            remaining.errors.append(f"{resource.plural}.{resource.group}: {exc}")
            return
        if written is not None and not written.deleted:
            remaining.add(resource, written.obj)

    async def _update_conditions(
        self, namespace: ObjectId, remaining: Remaining, now: datetime
    ) -> None:
        failures = failure_conditions(remaining)

        def mutate(obj: JsonObject) -> None:
            status = obj.setdefault("status", {})
            merged = merge_conditions(status.get("conditions"), failures, now)
            if merged is not None:
                status["conditions"] = merged

        await self._update_status(namespace, mutate)

    async def _empty_in_etcd(self, namespace: str) -> bool:
        """No key of any served namespaced resource under the namespace, by linearizable
        count-only reads, all at once (kube's final check is a live LIST too)."""

        async def count(resource: ResourceType, shard: int) -> int:
            try:
                return await self.proxy.shards[shard].count(resource, namespace)
            except EtcdError as exc:
                raise etcd_unavailable(exc) from exc

        counts = await asyncio.gather(
            *(
                count(resource, shard)
                for resource in self.content
                for shard in self.store.candidate_shards(resource, namespace, "")
            )
        )
        return not any(counts)


def _set_terminating(obj: JsonObject) -> None:
    obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}


def _remove_kubernetes_finalizer(obj: JsonObject) -> None:
    spec = obj.setdefault("spec", {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER_KUBERNETES]
