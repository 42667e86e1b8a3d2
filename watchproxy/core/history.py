"""EventHistory: the bounded ring of one resource's events across all shards, in apply order.

Every event gets a sequence number (`seq`) when the cache applies it; watchers remember the last
seq they were given, so catching up after lagging is a bisect plus a slice. Per shard, the ring
also knows its floor: the revision at and below which that shard's events are no longer all here
(the list revision after a relist, raised whenever one of the shard's events is evicted).
"""

from __future__ import annotations

from bisect import bisect_right

from watchproxy.core.objects import CacheEvent

LINES_KEPT_FOR = 2048  # events; about one watcher queue's worth of catch-up


class EventHistory:
    """Owner: the reflectors, through WatchCache.apply (synchronous). Readers: watchers."""

    def __init__(self, capacity: int, shard_count: int, max_bytes: int = 0) -> None:
        """`capacity` events at most and, when `max_bytes` > 0, at most that many bytes of the
        objects the events carry (the newest event is always kept): a burst of large objects
        evicts old events early instead of pinning their bytes."""
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.bytes = 0
        self._events: list[CacheEvent] = []
        self._head = 0  # index of the oldest live event in _events
        self.floors = [0] * shard_count
        self.high_water = 0

    def __len__(self) -> int:
        return len(self._events) - self._head

    def append(self, event: CacheEvent) -> None:
        """Once per applied event: locals instead of len(self) (a Python-level call)."""
        events = self._events
        events.append(event)
        self.bytes += _size(event)
        # Watch lines are memoised for the fan-out of an event and the catch-up right after it;
        # older events rebuild them (a splice) if a watcher replays that far, instead of the
        # history holding two or three encoded copies of every object it keeps.
        total = len(events)
        head = self._head
        aged = total - 1 - LINES_KEPT_FOR
        if aged >= head:
            events[aged].drop_lines()
        capacity, max_bytes = self.capacity, self.max_bytes
        while total - head > capacity or (
            max_bytes and self.bytes > max_bytes and total - head > 1
        ):
            evicted = events[head]
            head += 1
            self.bytes -= _size(evicted)
            self.floors[evicted.shard] = max(self.floors[evicted.shard], evicted.revision)
        # Compact lazily so eviction stays O(1) amortised while holding at most 1/8 of the
        # capacity in already-evicted slots.
        if head > capacity // 8:
            del events[:head]
            total -= head
            head = 0
        self._head = head
        if total - head > self.high_water:
            self.high_water = total - head

    def reset_shard(self, shard: int, list_revision: int) -> None:
        """After a relist of `shard`: nothing of it at or below list_revision can be replayed."""
        self.floors[shard] = list_revision

    @property
    def oldest_seq(self) -> int:
        """Seq of the oldest event still held (or the next seq if empty)."""
        if len(self):
            return self._events[self._head].seq
        return self.last_seq + 1

    @property
    def last_seq(self) -> int:
        # Capacity is at least 1 and nothing empties the ring once it holds an event, so an
        # empty ring means no event was applied yet: seq 0.
        return self._events[-1].seq if len(self) else 0

    def after_seq(self, seq: int, limit: int) -> list[CacheEvent]:
        """Up to `limit` events with seq > `seq`, oldest first (empty if none)."""
        start = bisect_right(self._events, seq, lo=self._head, key=lambda e: e.seq)
        return self._events[start : start + limit]

    def seq_after_vector(self, shards: frozenset[int], vector: tuple[int, ...]) -> int:
        """The seq after which every event of `shards` newer than `vector` lies.

        Scans back from the newest event; the cost is the number of events being replayed.
        """
        start = len(self._events)
        pending = set(shards)
        while start > self._head and pending:
            event = self._events[start - 1]
            if event.shard in pending and event.revision <= vector[event.shard]:
                pending.discard(event.shard)
                continue  # keep scanning for the other shards without moving past this point
            start -= 1
        if start > self._head:
            return self._events[start - 1].seq
        return self.oldest_seq - 1

    def expired(self, shards: frozenset[int], vector: tuple[int, ...]) -> int | None:
        """The first shard whose events after `vector` are no longer all held, or None."""
        for shard in sorted(shards):
            if vector[shard] < self.floors[shard]:
                return shard
        return None


def _size(event: CacheEvent) -> int:
    """Bytes an event pins: its object's encoding (a deletion: the deleted object's)."""
    obj = event.obj if event.obj is not None else event.prev
    return len(obj.raw) if obj is not None else 0
