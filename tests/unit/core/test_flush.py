"""Direct writes (core/flush.py, decision 0019): while its writer is parked, a watcher with a
sink gets its live lines written by the cache's Flusher, one chunk per pass; a refusing sink
hands the queue back to the writer, in order; lag, close, bookmarks and a cancelled writer
keep the writer's semantics; the coalescing window sends the first event after a quiet spell
at once and gathers the ones that follow until the window's end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson

from tests.unit.core.test_watcher import cm
from tests.unit.core.watchers import start_writer, watcher
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatcherState


class FakeSink:
    """Records what it took; refuses while `accept` is False."""

    def __init__(self) -> None:
        self.accept = True
        self.chunks: list[bytes] = []
        self.times: list[float] = []
        self.direct_bytes = 0

    def write_body(self, data: bytes) -> bool:
        if not self.accept:
            return False
        self.chunks.append(data)
        self.times.append(asyncio.get_running_loop().time())
        self.direct_bytes += len(data)
        return True


class Stream:
    """A watcher with a FakeSink, and a writer task doing with chunks what api/watches.py
    stream_watch does (`by_writer`)."""

    def __init__(self, cache: ResourceCache, window: float = 0.0, **kw: object) -> None:
        self.cache = cache
        self.w: CacheWatcher = watcher(cache, **kw)  # type: ignore[arg-type]
        self.sink = FakeSink()
        self.w.attach_sink(self.sink, cache.flusher, window)
        cache.watch_now(self.w)
        self.task, self.by_writer = start_writer(self.w)


def names(chunks: list[bytes]) -> list[str]:
    return [
        orjson.loads(line)["object"]["metadata"]["name"]
        for chunk in chunks
        for line in chunk.splitlines()
        if line
    ]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def fresh_cache() -> AsyncIterator[ResourceCache]:
    cache = ResourceCache(shard_count=1, history_size=1000, expired_line=lambda m: b"")
    cache.replace(0, [], 10)
    yield cache
    for w in list(cache.dispatcher.all()):
        cache.stop(w)
    await settle()


async def test_live_events_skip_the_writer_one_chunk_per_pass() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache)
        await settle()  # the writer parks: direct from here
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)  # same callback: same pass
        await settle()
        assert names(s.sink.chunks) == ["a", "b"] and len(s.sink.chunks) == 1
        assert s.by_writer == []
        assert s.w.sent_events == 2 and s.w.sent_bytes == len(s.sink.chunks[0])
        assert not s.w.queue and s.w.queue_bytes == 0
        cache.apply(0, "ns/c", cm("c", "ns", 13), 13)
        await settle()
        assert names(s.sink.chunks) == ["a", "b", "c"] and len(s.sink.chunks) == 2
        assert cache.flusher.writes == 2


async def test_a_refusing_sink_hands_the_queue_to_the_writer_in_order() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache)
        await settle()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        s.sink.accept = False  # e.g. the transport paused writing
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)
        cache.apply(0, "ns/c", cm("c", "ns", 13), 13)
        await settle()
        assert names(s.sink.chunks) == ["a"]
        assert names(s.by_writer) == ["b", "c"]  # the writer took over with the queue
        s.sink.accept = True
        cache.apply(0, "ns/d", cm("d", "ns", 14), 14)  # writer parked again: direct
        await settle()
        assert names(s.sink.chunks) == ["a", "d"] and names(s.by_writer) == ["b", "c"]
        assert s.w.sent_events == 4


async def test_a_window_gathers_the_events_after_the_first() -> None:
    async with fresh_cache() as cache:
        window = 0.2
        s = Stream(cache, window=window)
        await settle()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        assert names(s.sink.chunks) == ["a"]  # after a quiet spell: at once
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)
        await settle()
        cache.apply(0, "ns/c", cm("c", "ns", 13), 13)
        await settle()
        assert len(s.sink.chunks) == 1  # b and c wait for the window's end
        await asyncio.sleep(window + 0.05)
        assert [names([c]) for c in s.sink.chunks] == [["a"], ["b", "c"]]
        assert s.sink.times[1] - t0 >= window * 0.9  # not before the window ends
        assert s.sink.times[1] - t0 <= window + 0.15  # and not much after it
        await asyncio.sleep(window)  # quiet again: the next one goes at once
        cache.apply(0, "ns/d", cm("d", "ns", 14), 14)
        await settle()
        assert names(s.sink.chunks[-1:]) == ["d"]


async def test_a_shorter_window_is_not_held_up_by_a_longer_one() -> None:
    async with fresh_cache() as cache:
        slow, fast = Stream(cache, window=5.0), Stream(cache, window=0.05)
        await settle()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)  # both inside their windows
        await asyncio.sleep(0.15)
        assert names(fast.sink.chunks) == ["a", "b"]
        # The slow one keeps its own window: the fast one's timer does not flush it early.
        assert names(slow.sink.chunks) == ["a"] and slow.w.queue


async def test_windows_ending_in_one_tick_share_a_pass_and_none_is_flushed_late() -> None:
    async with fresh_cache() as cache:
        window = 0.05
        streams = [Stream(cache, window=window) for _ in range(20)]
        later = Stream(cache, window=1.0)
        await settle()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        t0 = asyncio.get_running_loop().time()
        passes = cache.flusher.passes
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)  # every window open
        await asyncio.sleep(0.1)
        # The 20 windows that end together: one timer, one pass, one write each.
        assert cache.flusher.passes == passes + 1
        for s in streams:
            assert names(s.sink.chunks) == ["a", "b"]
            assert s.sink.times[1] - t0 <= window + 0.04  # at its window's end, not later
        assert names(later.sink.chunks) == ["a"]  # its window is still open
        await asyncio.sleep(1.0)
        assert names(later.sink.chunks) == ["a", "b"] and cache.flusher.passes == passes + 2
        assert later.sink.times[1] - t0 >= 1.0 - 0.002  # at most one tick early


async def test_a_full_queue_inside_the_window_lags_and_catches_up_in_order() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache, window=10.0, queue=2)
        await settle()
        for i in range(6):
            cache.apply(0, f"ns/p{i}", cm(f"p{i}", "ns", 11 + i), 11 + i)
            await settle()
        # p0 went at once; p1, p2 filled the queue; p3 made it lag: the writer caught up
        # (p1-p3) and parked; p4, p5 wait in the queue for the window's end.
        assert s.w.state is WatcherState.ACTIVE
        assert names(s.sink.chunks) == ["p0"] and names(s.by_writer) == ["p1", "p2", "p3"]
        cache.flusher.flush_all()
        assert names(s.sink.chunks[1:]) == ["p4", "p5"] and len(s.sink.chunks) == 2
        assert s.w.sent_events == 6


async def test_close_with_lines_queued_writes_them_then_the_final_line() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache, window=10.0)
        await settle()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        cache.apply(0, "ns/b", cm("b", "ns", 12), 12)  # waits for the window
        s.w.close(b'{"type":"ERROR"}\n')
        await asyncio.wait_for(s.task, 1)
        assert names(s.sink.chunks) == ["a"]
        assert len(s.by_writer) == 2 and names(s.by_writer[:1]) == ["b"]
        assert s.by_writer[1] == b'{"type":"ERROR"}\n'
        cache.flusher.flush_all()  # the pending pass finds it closed: writes nothing
        assert len(s.sink.chunks) == 1


async def test_bookmarks_go_out_directly() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache)
        s.w.bookmark_line = lambda rv, end: b'{"type":"BOOKMARK","rv":"' + rv.encode() + b'"}\n'
        await settle()
        assert s.w.offer_bookmark(cache.vector())
        await settle()
        assert s.sink.chunks == [b'{"type":"BOOKMARK","rv":"10"}\n'] and s.by_writer == []


async def test_a_cancelled_writer_turns_the_direct_path_off() -> None:
    async with fresh_cache() as cache:
        s = Stream(cache)
        await settle()
        s.task.cancel()  # what the watch's timeout does to stream_watch
        with contextlib.suppress(asyncio.CancelledError):
            await s.task
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        assert s.sink.chunks == [] and names([b"".join(s.w.queue)]) == ["a"]


async def test_without_a_sink_the_writer_sends_everything() -> None:
    async with fresh_cache() as cache:
        w = watcher(cache)
        cache.watch_now(w)
        task, got = start_writer(w)
        await settle()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        assert names(got) == ["a"] and cache.flusher.passes == 0
        cache.stop(w)
        await asyncio.wait_for(task, 1)
