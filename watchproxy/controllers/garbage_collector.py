"""The garbage collector: deletes dependents whose owners are gone, orphans or deletes the
dependents of owners being deleted, by `metadata.ownerReferences`.

kube sources: pkg/controller/garbagecollector/garbagecollector.go (`attemptToDeleteItem`,
`classifyReferences`, `isDangling`, `processDeletingDependentsItem`, `attemptToOrphanWorker`),
graph.go (`blockingDependents`, `isDeletingDependents`), operations.go (deletes with a UID
precondition) and the GC's default ignored resources (events).

kube keeps a uid graph fed by informers; here `gc_graph.GraphBuilder` keeps it from the watch
cache's own event history, and each pass looks only at the items the changes since the last pass
concern (kube's attemptToDelete/attemptToOrphan queues), plus every item when the graph was
(re)built -- a new leader, a relist -- and every FULL_RESYNC_SECONDS as a safety net. Owners are
found by name in their resource's cache and compared by uid.

Rules (per item looked at):
- An owner being deleted with the `orphan` finalizer: remove its ownerReferences from each of its
  dependents, then remove the finalizer (attemptToOrphanWorker).
- An owner being deleted with `foregroundDeletion`: once no dependent that references it with
  `blockOwnerDeletion: true` exists any more, remove the finalizer (processDeletingDependentsItem).
- A dependent (not itself being deleted) is classified by its owners (classifyReferences): solid
  (exists), dangling (gone, or another uid under that name -- confirmed by a linearizable read
  before acting, since the cache may lag), waiting (being deleted with `foregroundDeletion`).
  Any owner whose apiVersion/kind is not served (or a namespaced owner of a cluster-scoped
  dependent) leaves the dependent alone, as kube's unresolvable references do.
  * some solid, some dangling/waiting: drop the references to the dangling and waiting owners;
  * no solid, some waiting, and the dependent has dependents of its own: delete it Foreground;
  * no solid: delete it, honouring an existing orphan/foreground finalizer, else Background.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from watchproxy.api.status import ApiError
from watchproxy.controllers.cached import cached, delete_by_uid, run_bounded, update_by_uid
from watchproxy.controllers.gc_graph import GraphBuilder, Item, OwnerRef
from watchproxy.etcd.client import EtcdError
from watchproxy.proxy import Proxy
from watchproxy.registry.deletion import FINALIZER_FOREGROUND, FINALIZER_ORPHAN, meta_of
from watchproxy.registry.options import BACKGROUND, FOREGROUND, ORPHAN, DeleteOptions
from watchproxy.registry.store import Store
from watchproxy.registry.versions import converts
from watchproxy.resources import Registry, ResourceType

log = logging.getLogger("watchproxy.controllers")
JsonObject = dict[str, Any]
# Resources the GC neither collects nor resolves as owners (kube: DefaultIgnoredResources; its
# events.events.k8s.io is not served here).
IGNORED = frozenset({"events"})
RETRY_SECONDS = 1.0
# A look at every item this often, changed or not (kube's informers resync; here a safety net).
FULL_RESYNC_SECONDS = 300.0
# Owner uids confirmed absent in etcd: a uid never comes back, so the answer stays true.
_ABSENT_CACHE_SIZE = 10_000


def resolve_owner(registry: Registry, ref: OwnerRef) -> ResourceType | None:
    """The served resource of an ownerReference's apiVersion/kind (the GC's RESTMapper)."""
    group = ref.api_version.rpartition("/")[0]
    resource = registry.by_group_kind(group, ref.kind)
    if resource is None or resource.key in IGNORED:
        return None
    return resource


class Owner(enum.Enum):
    """An owner reference's state as classifyReferences sorts them."""

    SOLID = "solid"
    DANGLING = "dangling"
    WAITING = "waiting"  # being deleted with foregroundDeletion
    UNRESOLVABLE = "unresolvable"


class Verdict(enum.Enum):
    """What attemptToDeleteItem does with a dependent."""

    KEEP = "keep"
    REMOVE_REFERENCES = "remove references"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    """A verdict with its arguments (the owners to drop, or the propagation policy)."""

    verdict: Verdict
    uids: frozenset[str] = frozenset()  # REMOVE_REFERENCES: the owners to drop
    policy: str = BACKGROUND  # DELETE: the propagation policy


KEEP = Decision(Verdict.KEEP)


def decide(item: Item, owners: dict[str, Owner], *, has_dependents: bool) -> Decision:
    """attemptToDeleteItem for a dependent, given each owner's state (by uid)."""
    if item.deleting or not item.owners:
        return KEEP  # "being deleted" is a one-way trip; owners being deleted act as owners
    states = [owners[ref.uid] for ref in item.owners]
    if Owner.UNRESOLVABLE in states:
        return KEEP
    solid = [r.uid for r in item.owners if owners[r.uid] is Owner.SOLID]
    stale = frozenset(r.uid for r in item.owners if owners[r.uid] is not Owner.SOLID)
    if solid:
        return Decision(Verdict.REMOVE_REFERENCES, uids=stale) if stale else KEEP
    if Owner.WAITING in states and has_dependents:
        return Decision(Verdict.DELETE, policy=FOREGROUND)
    if FINALIZER_ORPHAN in item.finalizers:
        return Decision(Verdict.DELETE, policy=ORPHAN)
    if FINALIZER_FOREGROUND in item.finalizers:
        return Decision(Verdict.DELETE, policy=FOREGROUND)
    return Decision(Verdict.DELETE, policy=BACKGROUND)


def blocking_dependents(owner: Item, dependents: Iterable[Item]) -> list[Item]:
    """graph.go blockingDependents: dependents whose reference to `owner` blocks its deletion."""
    return [d for d in dependents if any(r.uid == owner.uid and r.block for r in d.owners)]


class GarbageCollector:
    """Owner: the runner; a new instance for each term of the `watchproxy-garbage-collector`
    Lease, so a new leader rebuilds its graph and looks at every item once.

    Concurrency: `sync` is called by one task at a time; it fans writes out (cached.CONCURRENCY).
    """

    name = "garbage-collector"

    def __init__(self, *, proxy: Proxy, store: Store) -> None:
        self.proxy = proxy
        self.store = store
        # One version of a converted built-in (autoscaling/v2 HPAs, not v1): the same objects.
        self.resources = [
            r for r in proxy.registry.resources if r.key not in IGNORED and not converts(r)
        ]
        self.builder = GraphBuilder(proxy, self.resources)
        self.graph = self.builder.graph
        self._retry: set[str] = set()  # uids whose last look failed
        self._full_at = 0.0  # loop time of the next look at every item
        self._absent: dict[str, None] = {}  # insertion-ordered set of owner uids known gone

    def watched(self) -> list[ResourceType]:
        """The resources whose changes call for a pass: every one the graph is built from."""
        return self.resources

    async def sync(self) -> float | None:
        """Look at every item the cache changes since the last pass concern (every item after a
        rebuild and every FULL_RESYNC_SECONDS); seconds until a retry is due, or None."""
        loop = asyncio.get_running_loop()
        dirty, rebuilt = await self.builder.catch_up()
        dirty |= self._retry
        self._retry = set()
        if rebuilt or loop.time() >= self._full_at:
            dirty = set(self.graph.items)
            self._full_at = loop.time() + FULL_RESYNC_SECONDS
        items = self.graph.items  # not changed until the next catch-up
        await run_bounded(partial(self._evaluate, items[uid]) for uid in dirty if uid in items)
        return RETRY_SECONDS if self._retry else None

    async def _evaluate(self, item: Item) -> None:
        """attemptToOrphan / processDeletingDependentsItem / attemptToDeleteItem for one item;
        an API or etcd error puts it on the retry list."""
        try:
            if item.orphaning:
                await self._orphan(item)
            elif item.deleting_dependents:
                if not blocking_dependents(item, self.graph.dependents_of(item.uid)):
                    await self._remove_finalizer(item, FINALIZER_FOREGROUND)
            if item.owners and not item.deleting:
                await self._attempt_to_delete(item)
        except (ApiError, EtcdError) as exc:
            self._retry.add(item.uid)
            log.warning("garbage collector: %s: %s (retried)", item.describe(), exc)

    def owner_resource(self, item: Item, ref: OwnerRef) -> ResourceType | None:
        """The owner's served resource; None when the reference cannot be resolved (not served,
        or a namespaced owner of a cluster-scoped dependent: Owner.UNRESOLVABLE)."""
        resource = resolve_owner(self.proxy.registry, ref)
        if resource is None or (resource.namespaced and not item.resource.namespaced):
            return None
        return resource

    def owner_in_cache(self, item: Item, ref: OwnerRef, resource: ResourceType) -> Owner | None:
        """The owner's state from the cache; None when the cache does not have it (absent or
        lagging: the caller asks etcd)."""
        if ref.uid in self._absent:
            return Owner.DANGLING
        found = cached(self.proxy, resource, item.namespace, ref.name)
        if found is None or found.uid != ref.uid:
            return None
        owner = self.graph.items.get(ref.uid)
        return Owner.WAITING if owner is not None and owner.deleting_dependents else Owner.SOLID

    async def owner_in_etcd(self, item: Item, ref: OwnerRef, resource: ResourceType) -> Owner:
        """isDangling: a linearizable read of the owner by name, compared by uid."""
        namespace = item.namespace if resource.namespaced else ""
        found = await self.store.locate(resource, namespace, ref.name)
        if found is None or found.obj["metadata"].get("uid") != ref.uid:
            self._absent[ref.uid] = None
            while len(self._absent) > _ABSENT_CACHE_SIZE:
                del self._absent[next(iter(self._absent))]
            return Owner.DANGLING
        meta = found.obj["metadata"]
        deleting = meta.get("deletionTimestamp") and FINALIZER_FOREGROUND in (
            meta.get("finalizers") or []
        )
        return Owner.WAITING if deleting else Owner.SOLID

    async def _attempt_to_delete(self, item: Item) -> None:
        resolved: list[tuple[OwnerRef, ResourceType]] = []
        for ref in item.owners:
            resource = self.owner_resource(item, ref)
            if resource is None:
                return  # Owner.UNRESOLVABLE: the dependent is left alone
            resolved.append((ref, resource))
        owners: dict[str, Owner] = {}
        for ref, resource in resolved:
            state = self.owner_in_cache(item, ref, resource)
            if state is not None:
                owners[ref.uid] = state
        for ref, resource in resolved:
            if ref.uid not in owners:
                owners[ref.uid] = await self.owner_in_etcd(item, ref, resource)
        decision = decide(item, owners, has_dependents=bool(self.graph.dependents.get(item.uid)))
        if decision.verdict is Verdict.REMOVE_REFERENCES:
            await self._remove_references(item, decision.uids)
        elif decision.verdict is Verdict.DELETE:
            options = DeleteOptions(propagation_policy=decision.policy)
            written = await delete_by_uid(self.store, item, options)
            if written is not None:
                log.info(
                    "garbage collector: deleted %s (%s; owners gone or being deleted)",
                    item.describe(),
                    decision.policy,
                )

    async def _remove_references(self, item: Item, uids: frozenset[str]) -> None:
        await self._prune(
            item,
            "ownerReferences",
            lambda r: not (isinstance(r, dict) and r.get("uid") in uids),
            f"owner references {', '.join(sorted(uids))}",
        )

    async def _orphan(self, owner: Item) -> None:
        """attemptToOrphanWorker: dependents lose the reference, then the owner its finalizer."""
        for dependent in self.graph.dependents_of(owner.uid):
            await self._remove_references(dependent, frozenset({owner.uid}))
        await self._remove_finalizer(owner, FINALIZER_ORPHAN)

    async def _remove_finalizer(self, item: Item, finalizer: str) -> None:
        await self._prune(item, "finalizers", lambda f: f != finalizer, f"finalizer {finalizer}")

    async def _prune(self, item: Item, field: str, keep: Callable[[Any], bool], what: str) -> None:
        """Drop the entries of metadata.`field` that `keep` rejects (the store drops the list
        once empty), by uid so a replaced object is left alone."""

        def mutate(obj: JsonObject) -> None:
            meta = meta_of(obj)
            meta[field] = [entry for entry in meta.get(field) or [] if keep(entry)]

        written = await update_by_uid(self.store, item, mutate)
        if written is not None:
            log.info("garbage collector: removed %s from %s", what, item.describe())
