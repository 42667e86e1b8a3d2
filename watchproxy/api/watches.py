"""WATCH served from the watch cache: the start position (a resourceVersion, the WatchList's
initial state, or now), bookmarks, the stream with its timeout, and its in-band errors
(cacher/cacher.go `Watch`, `newErrWatcher`; handlers/watch.go).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from watchproxy.api.freshness import current_targets, wait_fresh
from watchproxy.api.http import Receive, Send
from watchproxy.api.params import ListOptions
from watchproxy.api.printing import Printing, bookmark_type, event_renderer
from watchproxy.api.reads import make_filter, ready_view, targets_of
from watchproxy.api.status import error_line, too_old_resource_version
from watchproxy.api.target import Target
from watchproxy.api.view import View, format_rv, parse_rv
from watchproxy.core.errors import ProxyError, ResourceExpired, TooLargeResourceVersion
from watchproxy.core.flush import WATCH_SINK, WatchSink
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watch_filter import WatchFilter
from watchproxy.core.watcher import CacheWatcher
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
# Live events are written from the dispatch path through the server's WatchSink (decision 0019).
# WATCHPROXY_WATCH_DIRECT=0 keeps every event on the writer task: a measurement knob for the
# before/after comparison (bench/fanout_micro.py, docs/decisions/0019), not a setting.
direct_writes = os.environ.get("WATCHPROXY_WATCH_DIRECT", "") != "0"


# -- WATCH -----------------------------------------------------------------------------------------


def bookmark_factory(resource: ResourceType, printing: Printing | None = None) -> Any:
    """BOOKMARK lines: an object of the watched kind (PartialObjectMetadata on a metadata-only
    watch) with only `metadata.resourceVersion`, and the initial-events-end annotation.
    `line(rv: str, initial_end: bool) -> bytes`, one function shared by every watch of a kind
    (not a closure per watch, decision 0023)."""
    return _bookmark_line(*bookmark_type(resource, printing))


@lru_cache(maxsize=1024)  # (kinds x {object, PartialObjectMetadata} x API versions: bounded)
def _bookmark_line(kind: str, api_version: str) -> Callable[[str, bool], bytes]:
    head = (
        b'{"type":"BOOKMARK","object":{"kind":"'
        + kind.encode()
        + b'","apiVersion":"'
        + api_version.encode()
        + b'","metadata":{"resourceVersion":"'
    )

    def line(rv: str, initial_end: bool) -> bytes:
        tail = (
            b'","annotations":{"' + INITIAL_EVENTS_END.encode() + b'":"true"}}}}\n'
            if initial_end
            else b'"}}}\n'
        )
        return head + rv.encode() + tail

    return line


async def serve_watch(
    proxy: Proxy,
    target: Target,
    opts: ListOptions,
    receive: Receive,
    send: Send,
    printing: Printing | None = None,
    extensions: dict[str, Any] | None = None,
) -> None:
    """A WATCH. `extensions` are the ASGI scope's: a server's `watchproxy.watch_sink` there
    lets live events bypass `send` while the stream keeps up (core/flush.py).
    Once the request is valid, every error is an in-band ERROR event after HTTP 200
    (cacher/cacher.go `Watch`, `newErrWatcher`): a start position the history no longer holds
    (or this view cannot read) is 410 `too old resource version: N (M)`, a WatchList whose
    position the cache does not reach in time is the 504 with cause ResourceVersionTooLarge.
    A watch from a future position waits for it (no error), as the cacher does."""
    # Set up in a frame of its own: what only the set-up needs (the filter's inputs, the
    # WatchList's initial objects, targets, the view) is freed before the stream's long wait.
    cache, watcher, pending_error = await _open_watch(proxy, target, opts, printing, extensions)
    await stream_watch(proxy, cache, watcher, opts, receive, send, pending_error)


async def _open_watch(
    proxy: Proxy,
    target: Target,
    opts: ListOptions,
    printing: Printing | None,
    extensions: dict[str, Any] | None,
) -> tuple[ResourceCache, CacheWatcher, ProxyError | None]:
    """The registered watcher of a WATCH (see serve_watch), or the error it starts with."""
    resource = target.resource
    cache, view = ready_view(proxy, target, opts)
    rv = opts.resource_version
    initial = opts.send_initial_events
    if initial is None:
        # The WatchList defaulting of kube-apiserver >= 1.34: RV "" or "0" sends the state first.
        initial = rv in ("", "0")
    start_vector: Vector | None = None
    pending_error: ProxyError | None = None
    if rv not in ("", "0"):
        try:
            start_vector = parse_rv(proxy, view, rv)
        except ResourceExpired:
            pending_error = _too_old(proxy, cache, view, rv)
    if initial and rv != "0" and pending_error is None:
        targets = (
            await current_targets(proxy, view.shards)
            if rv == ""
            else targets_of(view, start_vector or ())
        )
        # No etcd fallback: the stream continues from the cache, so the cache itself must be
        # proven fresh (events or trusted progress), else the in-band 504.
        try:
            await wait_fresh(proxy, cache, view, targets)
        except TooLargeResourceVersion as exc:
            pending_error = exc  # after the stream has started: an in-band ERROR
    bookmarks = bookmark_factory(resource, printing) if opts.allow_bookmarks else None
    filt = make_filter(proxy, target, opts)
    now = cache.vector()
    watcher = CacheWatcher(
        filt=filt,
        shards=view.shards,
        merged=view.merged,
        floor=start_vector if (start_vector is not None and not initial) else now,
        encode_token=proxy.codec.encode,
        history=cache.history,
        max_queue=proxy.settings.watcher_queue_size,
        max_queue_bytes=proxy.settings.watcher_queue_max_bytes,
        bookmark_line=bookmarks,
    )
    if printing is not None:
        watcher.render = event_renderer(resource, printing)
    sink: WatchSink | None = extensions.get(WATCH_SINK) if extensions else None
    if sink is not None and direct_writes:
        window = proxy.settings.watch_coalesce_window_seconds
        watcher.attach_sink(sink, cache.flusher, window)
    if pending_error is None:
        if initial:
            objects = [
                o
                for o in ResourceCache.merge_sorted(
                    cache.select(
                        sorted(view.shards),
                        namespace=filt.namespace,
                        trigger=filt.trigger,
                        key=pinned_key(resource, filt),
                    )
                )
                if filt.matches(o)
            ]
            end = bookmarks(watcher.rv_at(now), True) if bookmarks is not None else None
            watcher.start_with_initial(objects, now, end)
            cache.watch_now(watcher)
        elif start_vector is not None:
            if cache.history.expired(view.shards, start_vector) is not None:
                pending_error = _too_old(proxy, cache, view, rv, start_vector)
            else:
                try:
                    cache.watch_from(watcher, start_vector)
                except ResourceExpired:
                    pending_error = _too_old(proxy, cache, view, rv, start_vector)
        else:
            cache.watch_now(watcher)
    return cache, watcher, pending_error


def pinned_key(resource: ResourceType, filt: WatchFilter) -> str | None:
    """The cache key of the one object a watch selects by name (`metadata.name=` or a path
    name), or None when the name does not pin one key: a namespaced resource watched across
    namespaces matches that name in every namespace."""
    if not filt.name:
        return None
    if filt.namespace:
        return f"{filt.namespace}/{filt.name}"
    return None if resource.namespaced else filt.name


def _too_old(
    proxy: Proxy, cache: ResourceCache, view: View, text: str, vector: Vector | None = None
) -> ResourceExpired:
    """The cacher's 410 `too old resource version: N (M)`: N the requested position as this
    view reads it (the text itself if it cannot), M the oldest position a watch of this view
    can start from (watch_cache_history.go: oldest RV held - 1; here each shard's floor)."""
    requested = text if vector is None else format_rv(proxy, view, vector)
    oldest = format_rv(proxy, view, tuple(cache.history.floors))
    return too_old_resource_version(requested, oldest)


def watch_for_disconnect(
    proxy: Proxy, watcher: CacheWatcher, receive: Receive
) -> asyncio.Task[None] | None:
    """Close the watcher when its client goes away.

    uvicorn's request cycle exposes a `disconnected` flag; the bookmark ticker polls it, so an
    idle watch holds no task of its own. Other ASGI servers get a task waiting on receive().
    """
    cycle = getattr(receive, "__self__", None)
    if cycle is not None and isinstance(getattr(cycle, "disconnected", None), bool):
        proxy.bookmarks.track_connection(watcher, cycle)
        return None

    async def wait_for_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        watcher.close()

    return asyncio.create_task(wait_for_disconnect())


class _Expiry:
    """The watch's timeout, as asyncio.timeout_at keeps it but in about a third of the memory
    an idle watch holds for it (no Timeout object, dict or bound method; decision 0023): called
    at the deadline, it cancels the streaming task; `timed_out()` in the task's `except
    CancelledError` tells that cancellation from any other (a server shutting down)."""

    __slots__ = ("_cancelling", "_fired", "_task")

    def __init__(self) -> None:
        task = asyncio.current_task()
        assert task is not None  # (only ever made inside the watch's task)
        self._task = task
        self._cancelling = task.cancelling()
        self._fired = False

    def __call__(self) -> None:
        self._fired = True
        self._task.cancel()

    def timed_out(self) -> bool:
        """True if the deadline's own cancellation is the one being handled (then undone);
        call once, from the `except CancelledError` that caught it."""
        return self._fired and self._task.uncancel() <= self._cancelling


def _fell_behind(proxy: Proxy, cache: ResourceCache, watcher: CacheWatcher) -> bytes:
    """The in-band 410 for a watcher whose catch-up position left the history: worded as the
    cacher answers the client's re-watch from that position would be. Given to next_chunk as
    a partial: built only if needed, with no closure or View held per idle watch."""
    view = View(watcher.shards, watcher.merged)
    return error_line(_too_old(proxy, cache, view, "", watcher.lag_position()))


async def stream_watch(
    proxy: Proxy,
    cache: ResourceCache,
    watcher: CacheWatcher,
    opts: ListOptions,
    receive: Receive,
    send: Send,
    pending_error: ProxyError | None,
) -> None:
    loop = asyncio.get_running_loop()
    timeout = opts.timeout_seconds
    if not timeout:
        # Unset or 0: the server's default, min request timeout x (1 + rand) (handlers/get.go
        # handleWatch: `if timeout == 0 && minRequestTimeout > 0`).
        timeout = proxy.settings.min_request_timeout_seconds * (1 + random.random())
    deadline = loop.time() + timeout
    if watcher.bookmark_line is not None:
        interval = proxy.settings.bookmark_interval_seconds
        watcher.next_bookmark_at = min(loop.time() + interval, deadline - 2)
        proxy.bookmarks.add(cache, watcher, deadline)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-cache")],
        }
    )
    await send({"type": "http.response.body", "body": b"", "more_body": True})

    disconnect = watch_for_disconnect(proxy, watcher, receive)
    expired = partial(_fell_behind, proxy, cache, watcher)
    try:
        if pending_error is not None:
            await send(
                {"type": "http.response.body", "body": error_line(pending_error), "more_body": True}
            )
        else:
            expiry = _Expiry()
            timer = loop.call_at(deadline, expiry)
            try:
                while (chunk := await watcher.next_chunk(expired)) is not None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    # Drop the reference before waiting: an idle WatchList watcher would
                    # otherwise keep its whole initial state alive until its next event.
                    chunk = b""
            except asyncio.CancelledError:
                if not expiry.timed_out():
                    raise  # cancelled from outside (the server stops): not the timeout
            finally:
                timer.cancel()
    except OSError:
        pass  # the client went away mid-write
    finally:
        if disconnect is not None:
            disconnect.cancel()
        cache.stop(watcher)
        proxy.bookmarks.discard(watcher)
    try:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass
