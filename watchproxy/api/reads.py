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
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import orjson

from watchproxy.api.http import Receive, Send, respond
from watchproxy.api.params import EXACT, ListOptions, parse_list_options
from watchproxy.api.printing import Printing, event_renderer, list_table, object_table
from watchproxy.api.status import ApiError, bad_request, error_line, expired_line, not_found
from watchproxy.api.target import Target
from watchproxy.api.view import View, format_rv, parse_rv, resolve_view
from watchproxy.core.errors import ProxyError, TooLargeResourceVersion
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.etcd.client import EtcdError
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
_key_of = attrgetter("key")


def not_ready(resource: ResourceType) -> ApiError:
    return ApiError(
        429, "TooManyRequests", f"storage is (re)initializing: {resource.plural}", retry_after=1
    )


async def current_targets(proxy: Proxy, shards: Iterable[int]) -> dict[int, int]:
    """Each shard's current etcd revision (linearizable, coalesced)."""
    shard_list = sorted(shards)
    try:
        revisions = await asyncio.gather(*(proxy.shards[s].current_revision() for s in shard_list))
    except EtcdError as exc:
        raise ApiError(503, "ServiceUnavailable", f"etcd shard unavailable: {exc}") from exc
    return dict(zip(shard_list, revisions, strict=True))


async def wait_fresh(
    proxy: Proxy, cache: ResourceCache, view: View, targets: dict[int, int]
) -> None:
    try:
        async with asyncio.timeout(proxy.settings.freshness_timeout_seconds):
            await cache.wait_until_fresh(targets)
    except TimeoutError:
        current = format_rv(proxy, view, cache.vector())
        wanted = format_rv(proxy, view, _vector_of(proxy, targets))
        raise TooLargeResourceVersion(
            f"Timeout: Too large resource version: {wanted}, current: {current}", retry_after=1
        ) from None


def _vector_of(proxy: Proxy, targets: dict[int, int]) -> Vector:
    return tuple(targets.get(i, 0) for i in range(proxy.tenancy.shard_count))


def _targets(view: View, vector: Vector) -> dict[int, int]:
    return {s: vector[s] for s in view.shards}


def make_view(proxy: Proxy, target: Target, opts: ListOptions) -> View:
    node = None
    if target.resource.trigger_field == "spec.nodeName":
        node = opts.fields.exact_value("spec.nodeName")
    namespace = target.namespace or (opts.fields.exact_value("metadata.namespace") or "")
    return resolve_view(proxy, target.resource, namespace, target.name, node)


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


def _encode_continue(rv: str, key: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv, start = data["rv"], data["start"]
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
    resource = target.resource
    cache, view = ready_view(proxy, target, opts)
    limit = opts.limit
    start_after = ""
    exact: Vector | None = None
    rv = opts.resource_version
    if opts.continue_token:
        rv_text, start_after = _decode_continue(opts.continue_token)
        exact = parse_rv(proxy, view, rv_text)
        await wait_fresh(proxy, cache, view, _targets(view, exact))
    elif rv == "":
        await wait_fresh(proxy, cache, view, await current_targets(proxy, view.shards))
    elif rv == "0":
        limit = 0  # served from cache: the apiserver ignores limit for RV=0
    else:
        wanted = parse_rv(proxy, view, rv)
        await wait_fresh(proxy, cache, view, _targets(view, wanted))
        if opts.resource_version_match == EXACT or (limit and not opts.resource_version_match):
            exact = wanted
    vector = exact if exact is not None else cache.vector()
    filt = make_filter(target, opts)
    parts = cache.select(
        sorted(view.shards),
        namespace=filt.namespace,
        trigger=filt.trigger,
        at=_targets(view, vector) if exact is not None else None,
    )
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
        return list_table(resource, items, meta, printing)
    head = orjson.dumps(
        {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta}
    )
    return head[:-1] + b',"items":[' + b",".join([o.raw for o in items]) + b"]}"


# -- GET -------------------------------------------------------------------------------------------


def find_cached(proxy: Proxy, target: Target, shards: Iterable[int]) -> CachedObject | None:
    cache = proxy.cache_of(target.resource)
    key = f"{target.namespace}/{target.name}" if target.resource.namespaced else target.name
    for shard in sorted(shards):
        obj = cache.shards[shard].objects.get(key)
        if obj is not None:
            return obj
    return None


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
    if rv == "":
        await wait_fresh(proxy, cache, view, await current_targets(proxy, view.shards))
    elif rv != "0":
        await wait_fresh(proxy, cache, view, _targets(view, parse_rv(proxy, view, rv)))
    obj = find_cached(proxy, target, view.shards)
    if obj is None:
        raise not_found(target.resource.plural, target.name, target.resource.group)
    await respond(
        send, 200, obj.raw if printing is None else object_table(target.resource, obj, printing)
    )


# -- WATCH -----------------------------------------------------------------------------------------


def bookmark_factory(resource: ResourceType) -> Any:
    head = (
        b'{"type":"BOOKMARK","object":{"kind":"'
        + resource.kind.encode()
        + b'","apiVersion":"'
        + resource.api_version.encode()
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
    resource = target.resource
    cache, view = ready_view(proxy, target, opts)
    rv = opts.resource_version
    initial = opts.send_initial_events
    if initial is None:
        # The WatchList defaulting of kube-apiserver >= 1.34: RV "" or "0" sends the state first.
        initial = rv in ("", "0")
    start_vector: Vector | None = None
    if rv not in ("", "0"):
        start_vector = parse_rv(proxy, view, rv)
    pending_error: ProxyError | None = None
    if initial and rv != "0":
        targets = (
            await current_targets(proxy, view.shards)
            if rv == ""
            else _targets(view, start_vector or ())
        )
        try:
            await wait_fresh(proxy, cache, view, targets)
        except TooLargeResourceVersion as exc:
            pending_error = exc  # after the stream has started: an in-band ERROR
    bookmarks = bookmark_factory(resource) if opts.allow_bookmarks else None
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
            snapshot_rv = watcher.rv_at(now)
            end = bookmarks(snapshot_rv, True) if bookmarks is not None else None
            watcher.start_with_initial(objects, snapshot_rv, end)
            cache.watch_now(watcher)
        elif start_vector is not None:
            cache.watch_from(watcher, start_vector)  # may raise 410 before the stream starts
        else:
            cache.watch_now(watcher)
    await stream_watch(proxy, cache, watcher, opts, receive, send, pending_error)


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


def _fell_behind() -> bytes:
    return expired_line("too old resource version: the watcher fell behind the event history")


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
    if timeout is None:
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
    try:
        if pending_error is not None:
            await send(
                {"type": "http.response.body", "body": error_line(pending_error), "more_body": True}
            )
        else:
            async with asyncio.timeout_at(deadline):
                while (chunk := await watcher.next_chunk(_fell_behind)) is not None:
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
