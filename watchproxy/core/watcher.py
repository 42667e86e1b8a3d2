"""CacheWatcher: one client's watch: its filter, a bounded queue of encoded lines, and its cursor.

The dispatcher calls `offer` synchronously for each candidate event; it never waits. A watcher
whose queue is full -- `max_queue` lines, or `max_queue_bytes` bytes of them -- is not dropped:
it is marked lagging with the seq it stopped at, and its writer later catches up from
EventHistory in batches of at most BATCH events and about BATCH_BYTES, so a client that stops
reading pins a bounded number of bytes however large the objects are (the history holds the
events anyway). Only a watcher whose position has been evicted from the history gets a 410,
in-band. The writer side (`next_chunk`) drains everything queued into one chunk, so a burst of
events costs one socket write per watcher. With a `WatchSink` attached (`attach_sink`) and the
writer parked, live lines skip the writer task: the cache's Flusher writes them from the
dispatch path (core/flush.py, decision 0019), and the writer resumes whenever a sink refuses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from watchproxy.core.flush import Flusher, WatchSink, joined
from watchproxy.core.history import EventHistory
from watchproxy.core.objects import ADDED, DELETED, MODIFIED, CachedObject, CacheEvent, object_line
from watchproxy.core.watch_batches import BATCH, BATCH_BYTES, initial_lines
from watchproxy.core.watch_filter import TokenEncoder, WatcherState, WatchFilter

__all__ = ["BATCH", "BATCH_BYTES", "CacheWatcher", "TokenEncoder", "WatchFilter", "WatcherState"]

Vector = tuple[int, ...]
_ACTIVE = WatcherState.ACTIVE


class CacheWatcher:
    """Owner: the dispatcher (offer/close) and the HTTP writer (next_chunk).

    Concurrency: everything runs on one event loop; `offer` and `close` never await.
    """

    # Thousands of idle watchers per process: slots keep each one small.
    # fmt: off
    __slots__ = (
        "__weakref__", "_direct", "_dominated", "_encode_token", "_end_bookmark", "_final",
        "_history", "_initial_pos", "_initial_vector", "_lag_vector", "_live", "_match",
        "_pending", "_waiter", "bookmark_line", "coalesce_window", "filter", "floor", "flushed_at",
        "flusher", "high_water", "initial", "max_queue", "max_queue_bytes", "merged",
        "next_bookmark_at", "queue", "queue_bytes", "render", "resume_after_seq", "sent_bytes",
        "sent_events", "shards", "sink", "state",
    )
    # fmt: on

    def __init__(
        self,
        *,
        filt: WatchFilter,
        shards: frozenset[int],
        merged: bool,
        floor: Vector,
        encode_token: TokenEncoder,
        history: EventHistory,
        max_queue: int,
        max_queue_bytes: int,
        bookmark_line: Callable[[str, bool], bytes] | None,
    ) -> None:
        """`max_queue` lines and `max_queue_bytes` bytes of them may wait for the writer; past
        either the watcher lags and later replays from `history`. A single line larger than
        `max_queue_bytes` is still queued when the queue is empty, or it could never be sent."""
        self.filter = filt
        self._match = filt.compile()
        self._live = filt.compile_live()  # for `offer`: the dispatcher's bucket did the scope
        self.shards = shards
        self.merged = merged
        self.floor = floor
        self._encode_token = encode_token
        self._history = history
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.bookmark_line = bookmark_line  # None unless allowWatchBookmarks
        # Rewrites each event's object bytes (server-side printing); None keeps shared lines.
        self.render: Callable[[bytes], bytes] | None = None
        self.state = WatcherState.ACTIVE
        # A list: only appended and drained whole; empty, 56 bytes (a deque's block: ~620).
        self.queue: list[bytes] = []
        self.queue_bytes = 0  # the sum of len() over `queue`
        self.high_water = 0
        # Taken for the wire, counted per chunk (never per event): read by ResourceCache
        # .statistics() for the watch-event metrics, folded into its totals when the watch ends.
        self.sent_events = 0
        self.sent_bytes = 0
        self.resume_after_seq = 0  # valid while LAGGING: events after this seq are still owed
        # Valid while LAGGING: the position delivered up to resume_after_seq (for the 410).
        self._lag_vector = floor
        self.initial: list[CachedObject] = []
        self._initial_pos = 0
        self._initial_vector: Vector | None = None
        self._end_bookmark: bytes | None = None
        self._dominated = not merged
        self._final: bytes | None = None
        # The writer's wake-up, only while it is parked in next_chunk (an Event would hold a
        # deque too; decision 0023); it re-checks everything before parking: nothing is missed.
        self._waiter: asyncio.Future[None] | None = None
        self.next_bookmark_at = 0.0
        # The direct path (attach_sink): `_direct` while the writer is parked in next_chunk and
        # the flusher may write; `_pending` while in a flusher list; `flushed_at` (loop time of
        # the last direct flush) starts the coalescing window.
        self.sink: WatchSink | None = None
        self.flusher: Flusher | None = None
        self.coalesce_window, self.flushed_at = 0.0, -1e18
        self._direct = self._pending = False

    # -- set-up (synchronous, before the watcher is registered) ------------------------------

    def start_with_initial(
        self, objects: list[CachedObject], vector: Vector, end_bookmark: bytes | None
    ) -> None:
        """Send `objects` (the state at `vector`) as ADDED first, then the optional
        initial-events-end bookmark, then live events.

        Single-shard objects keep their own revision. On a merged watch each object's
        resourceVersion is a token of `vector` that also carries the object's own revision
        (format 2, core/rv.py): resuming from it resumes from the snapshot, and as an update
        precondition it is the object's revision -- never the snapshot's, which would 409.
        """
        self.initial = objects
        self._initial_vector = self._raised(vector) if self.merged else None
        self._end_bookmark = end_bookmark

    def start_from_history(self, after_seq: int) -> None:
        """Replay history after `after_seq`, skipping what `floor` says was delivered."""
        self.state = WatcherState.LAGGING
        self.resume_after_seq = after_seq
        self._lag_vector = self.floor

    def attach_sink(self, sink: WatchSink, flusher: Flusher, window: float) -> None:
        """Let `flusher` write live lines through `sink` while the writer is parked; events
        within `window` seconds of the last direct flush wait for the window's end."""
        self.sink = sink
        self.flusher = flusher
        self.coalesce_window = window

    # -- dispatcher side -----------------------------------------------------------------------

    def classify(self, event: CacheEvent) -> bytes | None:
        """ADDED / MODIFIED / DELETED as this watcher sees the event, or None to skip it."""
        if event.shard not in self.shards or event.revision <= self.floor[event.shard]:
            return None
        matches = self._match
        if matches is None:
            cur, prev = event.obj is not None, event.prev is not None
        else:
            cur = event.obj is not None and matches(event.obj)
            prev = event.prev is not None and matches(event.prev)
        if cur:
            return MODIFIED if prev else ADDED
        return DELETED if prev else None

    def line_for(self, event: CacheEvent, etype: bytes) -> bytes:
        if self.render is not None:
            rv = self.rv_at(event.vector) if self.merged else None
            return object_line(etype, self.render(event.object_bytes(etype, rv)))
        if not self.merged:
            return event.line(etype)
        if not self._dominated:
            vector = event.vector
            if all(v >= f for v, f in zip(vector, self.floor, strict=True)):
                self._dominated = True
            else:
                # Resumed from a token ahead of this replica on some shard: keep that shard's
                # entry so a later resume does not replay what the client already has.
                raised = tuple(max(v, f) for v, f in zip(vector, self.floor, strict=True))
                return object_line(etype, event.object_bytes(etype, self._encode_token(raised)))
        return event.line(etype, event.token(self._encode_token))

    def offer(self, event: CacheEvent) -> None:
        """Queue the event if it concerns this watcher; never blocks. For the Dispatcher only:
        `classify` inlined (once per candidate) with `_live`, which trusts the watcher's bucket."""
        shard = event.shard
        if (
            self.state is not _ACTIVE
            or shard not in self.shards
            or event.revision <= self.floor[shard]
        ):
            return
        matches, obj, prev = self._live, event.obj, event.prev
        if matches is None:
            etype = (MODIFIED if prev is not None else ADDED) if obj is not None else DELETED
        elif obj is not None and matches(obj):
            etype = MODIFIED if prev is not None and matches(prev) else ADDED
        elif prev is not None and matches(prev):
            etype = DELETED
        else:
            return
        queue = self.queue
        if len(queue) >= self.max_queue:
            self._lag_before(event)
            return
        # Lines are shared (memoised on the event) but a queued one outlives the history's
        # copy: the byte budget counts them. line_for's common case inlined.
        plain = self.render is None and not self.merged
        line = event.line(etype) if plain else self.line_for(event, etype)
        size = self.queue_bytes + len(line)
        if queue and size > self.max_queue_bytes:
            self._lag_before(event)
            return
        queue.append(line)
        self.queue_bytes = size
        if len(queue) > self.high_water:
            self.high_water = len(queue)
        if not self._direct:  # (as in offer_bookmark, inlined: once per delivery)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif not self._pending:
            self._pending = True
            self.flusher.touch(self)  # type: ignore[union-attr]  # set with _direct

    def _wake_writer(self) -> None:
        """Give the stream back to the writer task (it drains the queue first)."""
        self._direct = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def flush_direct(self, now: float) -> int:
        """Called by the flusher's pass: write the queue through the sink as one chunk; 1 if
        the sink took it, else 0 (and the writer takes over with the queue as it is)."""
        self._pending = False
        queue = self.queue
        if not self._direct or not queue:
            return 0
        chunk = queue[0] if len(queue) == 1 else joined(queue)
        if not self.sink.write_body(chunk):  # type: ignore[union-attr]  # set with _direct
            self._wake_writer()
            return 0
        self.flushed_at = now
        self.sent_events += len(queue)
        self.sent_bytes += len(chunk)
        queue.clear()
        self.queue_bytes = 0
        return 1

    def _lag_before(self, event: CacheEvent) -> None:
        """Switch to catch-up from the history, owing `event` and everything after it."""
        self.state = WatcherState.LAGGING
        self.resume_after_seq = event.seq - 1
        # Everything before this event was queued: of its shard, every revision below it.
        before = list(event.vector)
        before[event.shard] = event.revision - 1
        self._lag_vector = tuple(before)
        self._wake_writer()  # catch-up from the history is the writer's

    def offer_bookmark(self, vector: Vector) -> bool:
        """Queue a bookmark at `vector` if the watcher is fully caught up; False if not sent."""
        if (
            self.bookmark_line is None
            or self.state is not WatcherState.ACTIVE
            or self.queue
            or self._initial_pos < len(self.initial)
            or self._end_bookmark is not None
        ):
            return False
        line = self.bookmark_line(self.rv_at(vector), False)
        self.queue.append(line)
        self.queue_bytes += len(line)
        if not self._direct:
            self._wake_writer()  # (already not direct: just the wake-up)
        elif not self._pending:
            self._pending = True
            self.flusher.touch(self)  # type: ignore[union-attr]  # set with _direct
        return True

    def _raised(self, vector: Vector) -> Vector:
        """`vector` with no entry below the watcher's floor (what the client already has)."""
        return tuple(max(v, f) for v, f in zip(vector, self.floor, strict=True))

    def rv_at(self, vector: Vector) -> str:
        if self.merged:
            return self._encode_token(self._raised(vector))
        shard = next(iter(self.shards))
        return str(max(vector[shard], self.floor[shard]))

    def lag_position(self) -> Vector:
        """While LAGGING: the position the client has received everything up to (a vector over
        all shards), for the 410 `too old resource version: N (M)` if the history lost the rest."""
        return self._raised(self._lag_vector)

    def close(self, final_line: bytes | None = None) -> None:
        """Stop the watch; `final_line` (an ERROR event) is written after what is queued."""
        if self.state is WatcherState.CLOSED:
            return
        self.state = WatcherState.CLOSED
        self._final = final_line
        self._wake_writer()

    @property
    def closed(self) -> bool:
        return self.state is WatcherState.CLOSED

    # -- writer side ---------------------------------------------------------------------------

    def _initial_batch(self) -> bytes:
        """Up to BATCH initial objects as ADDED lines, stopping after the one at the byte bound."""
        lines, pos = initial_lines(
            self.initial,
            self._initial_pos,
            self._initial_vector,
            self.render,
            self._encode_token,
            min(BATCH_BYTES, self.max_queue_bytes),
        )
        self._initial_pos = pos
        self.sent_events += len(lines)
        if pos == len(self.initial):
            self.initial = []
            self._initial_pos = 0
            if self._end_bookmark is not None:
                lines.append(self._end_bookmark)
                self._end_bookmark = None
        chunk = b"".join(lines)
        self.sent_bytes += len(chunk)
        return chunk

    def _catch_up_batch(self) -> bytes | None:
        """Events owed from history, up to BATCH events and stopping after the line that
        reaches the byte bound; None means the watcher fell out of the window."""
        history = self._history
        if self.resume_after_seq < history.oldest_seq - 1:
            return None
        events = history.after_seq(self.resume_after_seq, BATCH)
        limit = min(BATCH_BYTES, self.max_queue_bytes)
        lines: list[bytes] = []
        size = taken = 0
        for event in events:
            taken += 1
            etype = self.classify(event)
            if etype is not None:
                line = self.line_for(event, etype)
                lines.append(line)
                size += len(line)
                if size >= limit:
                    break
        if taken:
            last = events[taken - 1]
            self.resume_after_seq = last.seq
            self._lag_vector = last.vector
        self.sent_events += len(lines)
        if taken == len(events) < BATCH:
            # Caught up: from here on live offers are complete (no await since the read).
            self.state = WatcherState.ACTIVE
        chunk = b"".join(lines)
        self.sent_bytes += len(chunk)
        return chunk

    async def next_chunk(self, expired: Callable[[], bytes]) -> bytes | None:
        """Everything ready to write as one chunk; None when the watch is over.

        `expired` builds the in-band 410 ERROR line if catch-up finds the history gone.
        """
        while True:
            if self.initial or self._end_bookmark is not None:
                return self._initial_batch()
            if self.queue:
                chunk = b"".join(self.queue)
                self.sent_events += len(self.queue)
                self.sent_bytes += len(chunk)
                self.queue.clear()
                self.queue_bytes = 0
                return chunk
            if self.state is WatcherState.LAGGING:
                caught = self._catch_up_batch()
                if caught is None:
                    self.close(expired())
                    continue
                if caught:
                    return caught
                continue
            if self.state is WatcherState.CLOSED:
                final, self._final = self._final, None
                return final
            # Parked: live lines go out through the sink until one is refused (or the watch lags
            # or closes: the waiter resolves). A cancelled wait (the watch's timeout) must not
            # leave the flusher writing behind the handler's back.
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            self._direct = self.sink is not None
            try:
                await waiter
            finally:
                self._direct = False
                self._waiter = None
