"""GET and LIST served from the watch cache (WATCH: api/watches.py), and the view and filter
helpers both use.

Consistent reads (no resourceVersion) read each involved shard's current etcd revision --
coalesced across concurrent requests by ShardBackend -- then wait until the cache has caught up
and answer from memory (KEP-2340). LIST bodies are spliced from each object's stored bytes and
streamed in chunks (api/streaming.py, KEP-5116's streaming list encoding), so a LIST in flight
holds its object references and one chunk, and selecting and encoding a big list gives the
event loop back every few milliseconds.

A LIST's merged selection is kept per revision vector and reused by LISTs at the same revision
-- every continue page of a paginated LIST, a relist storm -- and so is the gzip-compressed body
of a whole list (core/list_segments.py, decision 0021); pages are cut in api/list_pages.py.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Final

import orjson

from watchproxy.api.freshness import (
    current_targets,
    fresh_or_etcd,
    get_object,
    list_parts,
)
from watchproxy.api.http import Send
from watchproxy.api.list_pages import (
    CONTINUE_LATEST,
    Page,
    bytes_array_chunks,
    decode_continue,
    encode_continue,
    select_page,
)
from watchproxy.api.params import EXACT, ListOptions, parse_list_options
from watchproxy.api.printing import LIST_TAIL, Printing, list_encoding, render_object
from watchproxy.api.status import (
    ApiError,
    continue_expired,
    list_expired,
    not_found,
)
from watchproxy.api.streaming import (
    TURNS,
    accepts_gzip,
    json_array_chunks,
    send_chunks,
    send_kept_gzip,
)
from watchproxy.api.target import Target
from watchproxy.api.view import (
    View,
    format_rv,
    parse_rv,
    resolve_view,
    tenant_predicate,
    tenant_view,
)
from watchproxy.core.errors import ResourceExpired
from watchproxy.core.list_segments import LIST_REUSE, SnapshotKey, snapshot_key
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import WatchFilter
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
_key_of = attrgetter("key")
_raw_of = attrgetter("raw")


def not_ready(resource: ResourceType) -> ApiError:
    return ApiError(
        429, "TooManyRequests", f"storage is (re)initializing: {resource.plural}", retry_after=1
    )


# Freshness (current_targets, wait_fresh, the etcd fallback) lives in api/freshness.py.


def targets_of(view: View, vector: Vector) -> dict[int, int]:
    return {s: vector[s] for s in view.shards}


def make_view(proxy: Proxy, target: Target, opts: ListOptions) -> View:
    """The request's view: its path or its exact selectors may pin one shard (api/view.py)."""
    if target.tenant is not None:
        return tenant_view(proxy, target.tenant)
    node = None
    if target.resource.trigger_field == "spec.nodeName":
        node = opts.fields.exact_value("spec.nodeName")
    namespace = target.namespace or (opts.fields.exact_value("metadata.namespace") or "")
    name = target.name or (opts.fields.exact_value("metadata.name") or "")
    return resolve_view(proxy, target.resource, namespace, name, node)


def make_filter(proxy: Proxy, target: Target, opts: ListOptions) -> WatchFilter:
    resource = target.resource
    return WatchFilter(
        namespace=target.namespace or (opts.fields.exact_value("metadata.namespace") or ""),
        name=target.name or (opts.fields.exact_value("metadata.name") or ""),
        trigger=opts.fields.exact_value(resource.trigger_field) if resource.trigger_field else None,
        labels=opts.labels,
        fields=opts.fields,
        # A namespace in the path was checked against the tenant already (auth/tenants.py).
        scope=None
        if target.tenant is None or target.namespace
        else tenant_predicate(proxy, resource, target.tenant, target.namespaces),
    )


# -- LIST ------------------------------------------------------------------------------------------


def ready_view(proxy: Proxy, target: Target, opts: ListOptions) -> tuple[ResourceCache, View]:
    """The resource's cache and the request's view; 429 until those shards have listed."""
    cache = proxy.cache_of(target.resource)
    view = make_view(proxy, target, opts)
    if not cache.ready(view.shards):
        raise not_ready(target.resource)
    return cache, view


async def serve_list(
    proxy: Proxy,
    target: Target,
    opts: ListOptions,
    send: Send,
    printing: Printing | None = None,
    *,
    accept_encoding: str = "",
) -> None:
    """A LIST. A position that can no longer be read (older than the history or compacted in
    etcd, a token of another shard layout, a plain revision given to a merged view) is kube's
    410 for lists (storage/etcd3/errors.go): `The resourceVersion for the provided list is too
    old.`, or for a continue token the inconsistent-continue message with a `metadata.continue`
    that lists the rest at the latest state (rv -1).

    The body is streamed in chunks (api/streaming.py), gzip-compressed when `accept_encoding`
    (the request's Accept-Encoding) allows it and it is over 128 KiB; every error is raised
    before its first byte.
    """
    try:
        await _serve_list(proxy, target, opts, send, printing, accept_encoding)
    except ResourceExpired as exc:
        if opts.continue_token:
            _, start_after = decode_continue(opts.continue_token)
            raise continue_expired(encode_continue(CONTINUE_LATEST, start_after)) from exc
        raise list_expired() from exc


async def _serve_list(
    proxy: Proxy,
    target: Target,
    opts: ListOptions,
    send: Send,
    printing: Printing | None,
    accept_encoding: str,
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
        continue_rv, start_after = decode_continue(opts.continue_token)
        if continue_rv == CONTINUE_LATEST:
            rv = ""  # the rest of the list, read consistently at the latest state
    if continue_rv and continue_rv != CONTINUE_LATEST:
        exact = parse_rv(proxy, view, continue_rv)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets_of(view, exact), exact=True)
    elif rv == "":
        targets = await current_targets(proxy, view.shards)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=True, known=True)
    elif rv == "0":
        limit = 0  # served from cache: the apiserver ignores limit for RV=0
    else:
        wanted = parse_rv(proxy, view, rv)
        if opts.resource_version_match == EXACT or (limit and not opts.resource_version_match):
            exact = wanted
        targets = targets_of(view, wanted)
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=exact is not None)
    # Shards the cache could not prove fresh are read from etcd, as the apiserver falls back.
    filt = make_filter(proxy, target, opts)
    merged, vector, key = await _selection(proxy, cache, view, resource, filt, from_etcd, exact)
    # From here on nothing reads the cache again: `merged` is a list of its own, of immutable
    # objects (core/objects.py), never mutated (it may be a kept snapshot), so awaiting while
    # selecting and sending keeps the answer the state at `vector`.
    page = await select_page([merged], filt, limit, start_after)
    del merged
    meta = list_meta(proxy, view, vector, page)
    gzip = accepts_gzip(accept_encoding)
    if printing is not None:
        head, items = list_encoding(resource, page.items, meta, printing)
        await send_chunks(
            send,
            json_array_chunks(head, items, LIST_TAIL, chunk_items=RENDERED_CHUNK_ITEMS),
            gzip=gzip,
        )
        return
    head = list_head(resource, meta)
    # The length is known before the first byte: a plain body goes out with Content-Length,
    # written as it is (no chunk framing, so no copy of each chunk to frame it).
    length, chunks = bytes_array_chunks(head, page.items, LIST_TAIL, _raw_of)
    if not (gzip and key is not None and not page.more and filt.scope is None):
        del page  # the items stay referenced by `chunks` until they are sent
        await send_chunks(send, chunks, gzip=gzip, length=length)
        return
    # A whole answer over a kept snapshot: its gzip body is compressed once per revision, by
    # the first LIST that asks (the others compress their own meanwhile, holding nothing).
    body_key = (head, str(filt.labels), str(filt.fields), start_after)
    kept = LIST_REUSE.body(cache, key, body_key)
    if kept is not None:
        await send_kept_gzip(send, kept)
        return
    if not LIST_REUSE.claim_body(cache, key, body_key):
        await send_chunks(send, chunks, gzip=True, length=length)
        return

    def keep(compressed: list[bytes], key: SnapshotKey = key) -> None:
        LIST_REUSE.keep_body(cache, key, body_key, compressed)

    try:
        await send_chunks(
            send, chunks, gzip=True, length=length, keep=keep, keep_limit=LIST_REUSE.max_body_bytes
        )
    finally:
        LIST_REUSE.release_body(key, body_key)


async def _selection(
    proxy: Proxy,
    cache: ResourceCache,
    view: View,
    resource: ResourceType,
    filt: WatchFilter,
    from_etcd: dict[int, int],
    exact: Vector | None,
) -> tuple[list[CachedObject], Vector, SnapshotKey | None]:
    """The LIST's selection narrowed by the index, merged in key order; the vector it is at;
    the key of its kept snapshot (core/list_segments.py), None when read from etcd in part.

    A snapshot kept at the same revisions (an earlier page of the same paginated LIST, a LIST
    at the same revision) is reused: no selection, no merge.
    """
    shards = tuple(sorted(view.shards))
    if not from_etcd and (kept := _kept(cache, shards, filt, exact)) is not None:
        return kept
    units = scope_size(cache, view, filt) // SELECT_OBJECTS_PER_UNIT
    if units:
        # Concurrent LISTs wake together from the shared revision read; taking the big
        # selections (a millisecond or more each, no await inside, and the first chunks
        # built before the status line) in turns keeps them out of one loop iteration.
        await TURNS.wait_until_turn(weight=2 + units)
        # LISTs that woke together (a relist storm) find the first one's selection.
        if not from_etcd and (kept := _kept(cache, shards, filt, exact)) is not None:
            return kept
    parts, vector = await list_parts(proxy, cache, view, resource, filt, from_etcd, exact)
    merged = ResourceCache.merge_sorted(parts)
    if from_etcd:
        return merged, vector, None
    key = snapshot_key(cache, shards, filt.namespace, filt.trigger, vector)
    # Safe to share: `ResourceCache.select` builds each part as a list of its own, and neither
    # it nor any reader mutates one afterwards.
    LIST_REUSE.keep(cache, key, merged)
    return merged, vector, key


def _kept(
    cache: ResourceCache, shards: tuple[int, ...], filt: WatchFilter, exact: Vector | None
) -> tuple[list[CachedObject], Vector, SnapshotKey] | None:
    """The kept snapshot at `exact` (or at the cache's current vector), with its vector and
    key; None if none is kept. Raises ResourceExpired when the history no longer reaches it."""
    at = exact if exact is not None else cache.vector()
    key = snapshot_key(cache, shards, filt.namespace, filt.trigger, at)
    items = LIST_REUSE.snapshot(cache, key)
    return None if items is None else (items, at, key)


# Objects selected from the cache and merged per unit of LIST work (api/streaming.py
# `STEPS_PER_TURN`: about 0.2 ms): a LIST over more waits for its turn before selecting.
SELECT_OBJECTS_PER_UNIT: Final = 2500
# Items rendered (Table rows, PartialObjectMetadata) per chunk: rendering decodes each object's
# JSON (about 15 us a pod), so this bounds a step's time (under a millisecond) rather than its
# bytes.
RENDERED_CHUNK_ITEMS: Final = 50


def scope_size(cache: ResourceCache, view: View, filt: WatchFilter) -> int:
    """How many cached objects the LIST's selection reads: the objects of the index
    `ResourceCache.select` narrows by (trigger field, namespace, or all) on the view's shards."""
    size = 0
    for shard in view.shards:
        state = cache.shards[shard]
        if filt.trigger is not None:
            size += len(state.by_trigger.get(filt.trigger, ()))
        elif filt.namespace:
            size += len(state.by_namespace.get(filt.namespace, ()))
        else:
            size += len(state.objects)
    return size


def list_meta(proxy: Proxy, view: View, vector: Vector, page: Page) -> dict[str, Any]:
    """The page's ListMeta: resourceVersion, and continue (+ remainingItemCount) if more."""
    rv_text = format_rv(proxy, view, vector)
    meta: dict[str, Any] = {"resourceVersion": rv_text}
    if page.more:
        meta["continue"] = encode_continue(rv_text, page.items[-1].key)
        if page.remaining is not None:
            meta["remainingItemCount"] = page.remaining
    return meta


def list_head(resource: ResourceType, meta: dict[str, Any]) -> bytes:
    """A list document up to its items: `{"kind":..,"apiVersion":..,"metadata":{..},"items":[`;
    the items are each object's stored bytes, spliced, then LIST_TAIL."""
    head = orjson.dumps(
        {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": meta}
    )
    return head[:-1] + b',"items":['


# -- GET -------------------------------------------------------------------------------------------


async def serve_get(
    proxy: Proxy,
    target: Target,
    query: bytes,
    send: Send,
    printing: Printing | None = None,
    *,
    accept_encoding: str = "",
) -> None:
    """A GET of one object; gzip-compressed over 128 KiB when `accept_encoding` allows it."""
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
        targets = targets_of(view, parse_rv(proxy, view, rv))
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=False)
    obj = await get_object(proxy, cache, view, target, from_etcd)
    if obj is None:
        raise not_found(target.resource.plural, target.name, target.resource.group)
    body = obj.raw if printing is None else render_object(target.resource, obj, printing)
    await send_chunks(send, (body,), gzip=accepts_gzip(accept_encoding))
