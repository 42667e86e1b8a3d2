"""GET, LIST and WATCH served from the watch cache.

Consistent reads (no resourceVersion) read each involved shard's current etcd revision --
coalesced across concurrent requests by ShardBackend -- then wait until the cache has caught up
and answer from memory (KEP-2340). LIST bodies are spliced from each object's stored bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
from bisect import bisect_right
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import orjson

from watchproxy.api.freshness import (
    current_targets,
    fresh_or_etcd,
    get_object,
    list_parts,
    wait_fresh,
)
from watchproxy.api.http import Receive, Send, respond
from watchproxy.api.params import EXACT, ListOptions, parse_list_options
from watchproxy.api.printing import (
    Printing,
    bookmark_type,
    event_renderer,
    render_list,
    render_object,
)
from watchproxy.api.status import (
    ApiError,
    bad_request,
    continue_expired,
    error_line,
    list_expired,
    not_found,
    too_old_resource_version,
)
from watchproxy.api.target import Target
from watchproxy.api.view import View, format_rv, parse_rv, resolve_view
from watchproxy.core.errors import ProxyError, ResourceExpired, TooLargeResourceVersion
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_key_of = attrgetter("key")


def not_ready(resource: ResourceType) -> ApiError:
    return ApiError(
        429, "TooManyRequests", f"storage is (re)initializing: {resource.plural}", retry_after=1
    )


# Freshness (current_targets, wait_fresh, the etcd fallback) lives in api/freshness.py.


def _targets(view: View, vector: Vector) -> dict[int, int]:
    return {s: vector[s] for s in view.shards}


def make_view(proxy: Proxy, target: Target, opts: ListOptions) -> View:
    """The request's view: its path or its exact selectors may pin one shard (api/view.py)."""
    node = None
    if target.resource.trigger_field == "spec.nodeName":
        node = opts.fields.exact_value("spec.nodeName")
    namespace = target.namespace or (opts.fields.exact_value("metadata.namespace") or "")
    name = target.name or (opts.fields.exact_value("metadata.name") or "")
    return resolve_view(proxy, target.resource, namespace, name, node)


def make_filter(target: Target, opts: ListOptions) -> WatchFilter:
    resource = target.resource
    return WatchFilter(
        namespace=target.namespace or (opts.fields.exact_value("metadata.namespace") or ""),
        name=target.name or (opts.fields.exact_value("metadata.name") or ""),
        trigger=opts.fields.exact_value(resource.trigger_field) if resource.trigger_field else None,
        labels=opts.labels,
        fields=opts.fields,
    )


# -- LIST ------------------------------------------------------------------------------------------


# The rv of a continue token that continues at the latest state (kube's `rv: -1`, handed out
# with the 410 for an expired continue token: storage/etcd3/errors.go).
CONTINUE_LATEST = "-1"


def _encode_continue(rv: str, key: str) -> str:
    """base64url(JSON) as storage/continue.go: `{"v":"meta.k8s.io/v1","rv":..,"start":key\\0}`;
    rv is the list's resourceVersion text, or the integer -1 for CONTINUE_LATEST."""
    rv_field: str | int = -1 if rv == CONTINUE_LATEST else rv
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv_field, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_continue(token: str) -> tuple[str, str]:
    """(rv text or CONTINUE_LATEST, the key to continue after); 400 for anything else."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv, start = data["rv"], data["start"]
        if rv == -1 and not isinstance(rv, bool):
            rv = CONTINUE_LATEST
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(rv, str) or not rv:
            raise ValueError
        if not isinstance(start, str) or not start.endswith("\x00") or len(start) < 2:
            raise ValueError
        return rv, start[:-1]
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise bad_request(
            "invalid continue token: continue key is not valid: " + token[:64]
        ) from exc


def ready_view(proxy: Proxy, target: Target, opts: ListOptions) -> tuple[ResourceCache, View]:
    """The resource's cache and the request's view; 429 until those shards have listed."""
    cache = proxy.cache_of(target.resource)
    view = make_view(proxy, target, opts)
    if not cache.ready(view.shards):
        raise not_ready(target.resource)
    return cache, view


async def serve_list(
    proxy: Proxy, target: Target, opts: ListOptions, send: Send, printing: Printing | None = None
) -> None:
    """A LIST. A position that can no longer be read (older than the history or compacted in
    etcd, a token of another shard layout, a plain revision given to a merged view) is kube's
    410 for lists (storage/etcd3/errors.go): `The resourceVersion for the provided list is too
    old.`, or for a continue token the inconsistent-continue message with a `metadata.continue`
    that lists the rest at the latest state (rv -1)."""
    try:
        await _serve_list(proxy, target, opts, send, printing)
    except ResourceExpired as exc:
        if opts.continue_token:
            _, start_after = _decode_continue(opts.continue_token)
            raise continue_expired(_encode_continue(CONTINUE_LATEST, start_after)) from exc
        raise list_expired() from exc


async def _serve_list(
    proxy: Proxy, target: Target, opts: ListOptions, send: Send, printing: Printing | None = None
) -> None:
    resource = target.resource
    cache, view = ready_view(proxy, target, opts)
    limit = opts.limit
    start_after = ""
    exact: Vector | None = None
    rv = opts.resource_version
    from_etcd: dict[int, int] = {}  # shards the cache could not prove fresh -> etcd revision
    continue_rv = ""
    if opts.continue_token:
        continue_rv, start_after = _decode_continue(opts.continue_token)
        if continue_rv == CONTINUE_LATEST:
            rv = ""  # the rest of the list, read consistently at the latest state
    if continue_rv and continue_rv != CONTINUE_LATEST:
        exact = parse_rv(proxy, view, continue_rv)
        from_etcd = await fresh_or_etcd(proxy, cache, view, _targets(view, exact), exact=True)
    elif rv == "":
        targets = await current_targets(proxy, view.shards)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=True, known=True)
    elif rv == "0":
        limit = 0  # served from cache: the apiserver ignores limit for RV=0
    else:
        wanted = parse_rv(proxy, view, rv)
        if opts.resource_version_match == EXACT or (limit and not opts.resource_version_match):
            exact = wanted
        targets = _targets(view, wanted)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=exact is not None)
    # Shards the cache could not prove fresh are read from etcd, as the apiserver falls back.
    filt = make_filter(target, opts)
    parts, vector = await list_parts(proxy, cache, view, resource, filt, from_etcd, exact)
    body = build_list_body(proxy, view, resource, filt, parts, vector, limit, start_after, printing)
    await respond(send, 200, body)


def build_list_body(
    proxy: Proxy,
    view: View,
    resource: ResourceType,
    filt: WatchFilter,
    parts: list[list[CachedObject]],
    vector: Vector,
    limit: int,
    start_after: str,
    printing: Printing | None = None,
) -> bytes:
    rv_text = format_rv(proxy, view, vector)
    merged = ResourceCache.merge_sorted(parts)
    if start_after:
        # Key order: a continue page starts with a bisect, not a scan.
        merged = merged[bisect_right(merged, start_after, key=_key_of) :]
    selecting = not (filt.labels.is_empty and filt.fields.is_empty)
    if not selecting:
        # The index already narrowed to the scope: every item matches, so a page is a slice
        # and remainingItemCount a subtraction.
        items = merged[:limit] if limit else merged
        more = len(merged) > len(items)
        remaining = len(merged) - len(items)
    else:
        matches = filt.compile() or _everything
        items, more, remaining = [], False, 0
        for obj in merged:
            if not matches(obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(obj)
    meta: dict[str, Any] = {"resourceVersion": rv_text}
    if more:
        meta["continue"] = _encode_continue(rv_text, items[-1].key)
        if not selecting:
            meta["remainingItemCount"] = remaining
    if printing is not None:
        return render_list(resource, items, meta, printing)
    head = orjson.dumps(
        {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta}
    )
    return head[:-1] + b',"items":[' + b",".join([o.raw for o in items]) + b"]}"


# -- GET -------------------------------------------------------------------------------------------


async def serve_get(
    proxy: Proxy, target: Target, query: bytes, send: Send, printing: Printing | None = None
) -> None:
    opts = parse_list_options(query, target.resource)
    cache = proxy.cache_of(target.resource)
    # A cluster-scoped object may be on any shard (its tenant label decides): read them all.
    view = resolve_view(proxy, target.resource, target.namespace, target.name, None)
    if not cache.ready(view.shards):
        raise not_ready(target.resource)
    rv = opts.resource_version
    from_etcd: dict[int, int] = {}  # shards the cache could not prove fresh -> etcd revision
    if rv == "":
        targets = await current_targets(proxy, view.shards)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=True, known=True)
    elif rv != "0":
        targets = _targets(view, parse_rv(proxy, view, rv))
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=False)
    obj = await get_object(proxy, cache, view, target, from_etcd)
    if obj is None:
        raise not_found(target.resource.plural, target.name, target.resource.group)
    await respond(
        send, 200, obj.raw if printing is None else render_object(target.resource, obj, printing)
    )


# -- WATCH -----------------------------------------------------------------------------------------


def bookmark_factory(resource: ResourceType, printing: Printing | None = None) -> Any:
    """BOOKMARK lines: an object of the watched kind (PartialObjectMetadata on a metadata-only
    watch) with only `metadata.resourceVersion`, and the initial-events-end annotation."""
    kind, api_version = bookmark_type(resource, printing)
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
) -> None:
    """A WATCH. Once the request is valid, every error is an in-band ERROR event after HTTP 200
    (cacher/cacher.go `Watch`, `newErrWatcher`): a start position the history no longer holds
    (or this view cannot read) is 410 `too old resource version: N (M)`, a WatchList whose
    position the cache does not reach in time is the 504 with cause ResourceVersionTooLarge.
    A watch from a future position waits for it (no error), as the cacher does."""
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
            else _targets(view, start_vector or ())
        )
        # No etcd fallback: the stream continues from the cache, so the cache itself must be
        # proven fresh (events or trusted progress), else the in-band 504.
        try:
            await wait_fresh(proxy, cache, view, targets)
        except TooLargeResourceVersion as exc:
            pending_error = exc  # after the stream has started: an in-band ERROR
    bookmarks = bookmark_factory(resource, printing) if opts.allow_bookmarks else None
    filt = make_filter(target, opts)
    now = cache.vector()
    watcher = CacheWatcher(
        filt=filt,
        shards=view.shards,
        merged=view.merged,
        floor=start_vector if (start_vector is not None and not initial) else now,
        encode_token=proxy.codec.encode,
        history=cache.history,
        max_queue=proxy.settings.watcher_queue_size,
        bookmark_line=bookmarks,
    )
    if printing is not None:
        watcher.render = event_renderer(resource, printing)
    if pending_error is None:
        if initial:
            objects = [
                o
                for o in ResourceCache.merge_sorted(
                    cache.select(
                        sorted(view.shards), namespace=filt.namespace, trigger=filt.trigger
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
    await stream_watch(proxy, cache, watcher, opts, receive, send, pending_error)


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
        proxy.bookmarks.track_connection(watcher, lambda: bool(cycle.disconnected))
        return None

    async def wait_for_disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        watcher.close()

    return asyncio.create_task(wait_for_disconnect())


def _everything(_: CachedObject) -> bool:
    return True


def _fell_behind(
    proxy: Proxy, cache: ResourceCache, view: View, watcher: CacheWatcher
) -> Callable[[], bytes]:
    """The in-band 410 for a watcher whose catch-up position left the history: worded as the
    cacher answers the client's re-watch from that position would be."""

    def line() -> bytes:
        return error_line(_too_old(proxy, cache, view, "", watcher.lag_position()))

    return line


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
    expired = _fell_behind(proxy, cache, View(watcher.shards, watcher.merged), watcher)
    try:
        if pending_error is not None:
            await send(
                {"type": "http.response.body", "body": error_line(pending_error), "more_body": True}
            )
        else:
            async with asyncio.timeout_at(deadline):
                while (chunk := await watcher.next_chunk(expired)) is not None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    # Drop the reference before waiting: an idle WatchList watcher would
                    # otherwise keep its whole initial state alive until its next event.
                    chunk = b""
    except TimeoutError:
        pass
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
