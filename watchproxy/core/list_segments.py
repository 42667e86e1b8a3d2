"""Reuse of LIST work at one revision: the merged, key-ordered selection of a LIST (a
*snapshot*) and the gzip-compressed bodies of whole lists built from it.

Why: a LIST of 50,000 pods spent about two thirds of its proxy CPU selecting and merging the
objects (a list comprehension over the sorted keys, then a sort merging the shards), and every
`limit=500` page of a paginated LIST did it again to bisect to its continue key; a gzip LIST
compressed 90 MB each time. The cache's objects are immutable (core/objects.py), and the state
of a selection at a revision vector never changes, so both can be built once per vector:

- a snapshot is keyed by (cache, view shards, namespace, trigger, the view shards' revisions).
  A continue page carries the list's revision, so every page of a paginated LIST finds its
  first page's snapshot -- also after writes, which is kube's continue semantics: every page
  is the state at the first page's revision (storage/cacher, KEP-365);
- a gzip body is keyed by its snapshot plus the list head (kind, apiVersion, ListMeta), the
  label and field selectors' canonical text and the continue key it starts after: two
  selections never share a body. Only whole answers are kept (no continue token due).

A LIST at a new revision (any write in between, or a progress notification moving the vector)
builds afresh, so under a steady stream of writes this reuse helps only LISTs that meet at one
revision (a relist storm, every page of a paginated LIST) -- never a stale answer.

Memory is bounded and freed when idle:
- at most `max_snapshots` snapshots holding `max_items` references in all (least recently used
  out first); a snapshot is dropped as soon as its cache's history no longer reaches its
  revision (the same condition that makes an exact read at it a 410, `ResourceCache.select`),
  so the older object versions it pins are versions the history pins anyway;
- gzip bodies are at most `max_body_bytes` in all (a larger body is not kept);
- entries unused for `idle_seconds` are dropped by a timer on the running event loop.

Owner: the event loop (no locks; every method is synchronous).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from watchproxy.core.errors import ResourceExpired
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache

Vector = tuple[int, ...]
# (id(cache), view shards sorted, namespace, trigger, the view shards' revisions)
SnapshotKey = tuple[int, tuple[int, ...], str, str | None, Vector]
# (list head bytes, label selector text, field selector text, continue key)
BodyKey = tuple[bytes, str, str, str]

MAX_SNAPSHOTS: Final = 16
# References held by all snapshots: 8 bytes each, so 16 MB, about 40 lists of 50,000 objects.
MAX_ITEMS: Final = 2_000_000
# Compressed bytes of all kept gzip bodies (a 90 MB list of the bench's pods is 2.5 MB gzip).
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
# An entry unused this long is dropped: paging and relist storms reuse within seconds.
IDLE_SECONDS: Final = 30.0


@dataclass(slots=True, eq=False)
class _Snapshot:
    cache: weakref.ref[ResourceCache]
    shards: tuple[int, ...]
    revisions: Vector
    items: list[CachedObject]
    used: float
    bodies: dict[BodyKey, list[bytes]] = field(default_factory=dict)


def snapshot_key(
    cache: ResourceCache,
    shards: tuple[int, ...],
    namespace: str,
    trigger: str | None,
    vector: Vector,
) -> SnapshotKey:
    """The key of a selection at `vector` (the full vector; only `shards` entries count)."""
    return (id(cache), shards, namespace, trigger, tuple(vector[s] for s in shards))


class ListReuse:
    """Snapshots and gzip bodies of LISTs, bounded; see the module docstring."""

    def __init__(
        self,
        *,
        max_snapshots: int = MAX_SNAPSHOTS,
        max_items: int = MAX_ITEMS,
        max_body_bytes: int = MAX_BODY_BYTES,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_snapshots = max_snapshots
        self.max_items = max_items
        self.max_body_bytes = max_body_bytes
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._snapshots: OrderedDict[SnapshotKey, _Snapshot] = OrderedDict()
        self.items = 0  # references held by all snapshots
        self.body_bytes = 0  # bytes of all kept gzip bodies
        self.hits = 0
        self.misses = 0
        self._timer: asyncio.TimerHandle | None = None
        self._building: set[tuple[SnapshotKey, BodyKey]] = set()

    def __len__(self) -> int:
        return len(self._snapshots)

    # -- snapshots ------------------------------------------------------------------------------

    def snapshot(self, cache: ResourceCache, key: SnapshotKey) -> list[CachedObject] | None:
        """The kept selection for `key`, or None. Raises ResourceExpired (and drops it) when
        the cache's history no longer reaches the snapshot's revision on a shard that has
        moved past it -- exactly when `ResourceCache.select(at=...)` would raise."""
        entry = self._snapshots.get(key)
        if entry is None or entry.cache() is not cache:
            self.misses += 1
            return None
        if _expired(cache, entry):
            self._drop(key)
            floors = [cache.history.floors[s] for s in entry.shards]
            raise ResourceExpired(f"too old resource version: {entry.revisions} ({floors})")
        entry.used = self._clock()
        self._snapshots.move_to_end(key)
        self.hits += 1
        return entry.items

    def keep(self, cache: ResourceCache, key: SnapshotKey, items: list[CachedObject]) -> None:
        """Keep `items` (the selection at `key`, key-ordered; never mutated afterwards)."""
        if len(items) > self.max_items:
            return
        old = self._snapshots.pop(key, None)
        if old is not None:
            self._forget(old)
        self._snapshots[key] = _Snapshot(weakref.ref(cache), key[1], key[4], items, self._clock())
        self.items += len(items)
        while len(self._snapshots) > self.max_snapshots or self.items > self.max_items:
            self._drop(next(iter(self._snapshots)))
        self._arm_timer()

    # -- gzip bodies ----------------------------------------------------------------------------

    def body(self, cache: ResourceCache, key: SnapshotKey, body: BodyKey) -> list[bytes] | None:
        """The kept gzip body (its chunks, in order) of `body` over snapshot `key`, or None."""
        entry = self._snapshots.get(key)
        if entry is None or entry.cache() is not cache:
            return None
        chunks = entry.bodies.get(body)
        if chunks is not None:
            entry.used = self._clock()
        return chunks

    def claim_body(self, cache: ResourceCache, key: SnapshotKey, body: BodyKey) -> bool:
        """Whether the caller is to build (and keep) `body` over snapshot `key`: the first
        caller while its snapshot is kept and nobody else builds it. It must call
        `release_body` when done, kept or not; the others build their answers without keeping
        them, so a storm of LISTs holds one body being kept, not one each."""
        entry = self._snapshots.get(key)
        if entry is None or entry.cache() is not cache or (key, body) in self._building:
            return False
        self._building.add((key, body))
        return True

    def release_body(self, key: SnapshotKey, body: BodyKey) -> None:
        self._building.discard((key, body))

    def keep_body(
        self, cache: ResourceCache, key: SnapshotKey, body: BodyKey, chunks: list[bytes]
    ) -> bool:
        """Keep a whole gzip body over snapshot `key` (which must be kept); False when it was
        not kept (no such snapshot, or larger than `max_body_bytes`)."""
        entry = self._snapshots.get(key)
        size = sum(map(len, chunks))
        if entry is None or entry.cache() is not cache:
            return False
        if size > self.max_body_bytes or body in entry.bodies:
            return False
        # Least recently used snapshots give up their bodies first (this one's last).
        for other_key in list(self._snapshots):
            if self.body_bytes + size <= self.max_body_bytes:
                break
            other = self._snapshots[other_key]
            for old in other.bodies.values():
                self.body_bytes -= sum(map(len, old))
            other.bodies.clear()
        entry.bodies[body] = chunks
        self.body_bytes += size
        return True

    # -- bounds ---------------------------------------------------------------------------------

    def sweep(self) -> None:
        """Drop entries unused for `idle_seconds`, of caches gone, or past their history."""
        now = self._clock()
        for key, entry in list(self._snapshots.items()):
            cache = entry.cache()
            if cache is None or now - entry.used >= self.idle_seconds or _expired(cache, entry):
                self._drop(key)

    def clear(self) -> None:
        for key in list(self._snapshots):
            self._drop(key)

    def _drop(self, key: SnapshotKey) -> None:
        entry = self._snapshots.pop(key)
        self._forget(entry)

    def _forget(self, entry: _Snapshot) -> None:
        self.items -= len(entry.items)
        for chunks in entry.bodies.values():
            self.body_bytes -= sum(map(len, chunks))
        entry.bodies.clear()

    def _arm_timer(self) -> None:
        """One timer at a time on the running loop sweeps idle entries until none is left."""
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): entries go with later calls' sweeps
        self._timer = loop.call_later(self.idle_seconds, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.sweep()
        if self._snapshots:
            self._arm_timer()


def _expired(cache: ResourceCache, entry: _Snapshot) -> bool:
    """A shard has moved past the snapshot and its history floor has passed it."""
    history = cache.history
    for shard, revision in zip(entry.shards, entry.revisions, strict=True):
        state = cache.shards[shard]
        if revision < state.revision and revision < history.floors[shard]:
            return True
    return False


# The process's LIST reuse (api/reads.py); one per `--workers` process, like its caches.
LIST_REUSE: Final = ListReuse()
