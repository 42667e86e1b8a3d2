"""GET and LIST served from the watch cache (WATCH: api/watches.py), and the view and filter
helpers both use.

Consistent reads (no resourceVersion) read each involved shard's current etcd revision --
coalesced across concurrent requests by ShardBackend -- then wait until the cache has caught up
and answer from memory (KEP-2340). LIST bodies are spliced from each object's stored bytes and
streamed in chunks (api/streaming.py, KEP-5116's streaming list encoding), so a LIST in flight
holds its object references and one chunk, and selecting and encoding a big list gives the
event loop back every few milliseconds.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from dataclasses import dataclass
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
from watchproxy.api.params import EXACT, ListOptions, parse_list_options
from watchproxy.api.printing import LIST_TAIL, Printing, list_encoding, render_object
from watchproxy.api.status import (
    ApiError,
    bad_request,
    continue_expired,
    list_expired,
    not_found,
)
from watchproxy.api.streaming import TURNS, accepts_gzip, json_array_chunks, send_chunks
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
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import WatchFilter
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
_key_of = attrgetter("key")


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
            _, start_after = _decode_continue(opts.continue_token)
            raise continue_expired(_encode_continue(CONTINUE_LATEST, start_after)) from exc
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
        continue_rv, start_after = _decode_continue(opts.continue_token)
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
    units = scope_size(cache, view, filt) // SELECT_OBJECTS_PER_UNIT
    if units:
        # Concurrent LISTs wake together from the shared revision read; taking the big
        # selections (a millisecond or more each, no await inside, and the first chunks
        # built before the status line) in turns keeps them out of one loop iteration.
        await TURNS.wait_until_turn(weight=2 + units)
    parts, vector = await list_parts(proxy, cache, view, resource, filt, from_etcd, exact)
    # From here on nothing reads the cache again: `parts` are lists of their own, of immutable
    # objects (core/objects.py), so awaiting while selecting and sending keeps the answer the
    # state at `vector`.
    page = await select_page(parts, filt, limit, start_after)
    meta = list_meta(proxy, view, vector, page)
    if printing is not None:
        head, items = list_encoding(resource, page.items, meta, printing)
        chunk_items = RENDERED_CHUNK_ITEMS
    else:
        head, items = list_head(resource, meta), (o.raw for o in page.items)
        chunk_items = 0
    del page, parts  # the page's items stay referenced by `items` until they are sent
    await send_chunks(
        send,
        json_array_chunks(head, items, LIST_TAIL, chunk_items=chunk_items),
        gzip=accepts_gzip(accept_encoding),
    )


# Objects selected from the cache and merged per unit of LIST work (api/streaming.py
# `STEPS_PER_TURN`: about 0.2 ms): a LIST over more waits for its turn before selecting.
SELECT_OBJECTS_PER_UNIT: Final = 2500
# Objects tested against a selector per step (about 0.2 ms: 0.3-0.7 us each).
FILTER_OBJECTS_PER_STEP: Final = 400
# Items rendered (Table rows, PartialObjectMetadata) per chunk: rendering decodes each object's
# JSON (about 15 us a pod), so this bounds a step's time (under a millisecond) rather than its
# bytes.
RENDERED_CHUNK_ITEMS: Final = 50


@dataclass(frozen=True, slots=True)
class Page:
    """A LIST page: its items in key order; `more` when the list goes on past them (a continue
    token is due); `remaining` the items after them, known only without a selector."""

    items: list[CachedObject]
    more: bool
    remaining: int | None


async def select_page(
    parts: list[list[CachedObject]], filt: WatchFilter, limit: int, start_after: str
) -> Page:
    """The page of a LIST from per-shard key-ordered parts: after the key `start_after` (a
    continue token's), matching the filter's selectors and scope, at most `limit` items (0: no
    limit). `remaining` follows kube (storage/cacher and etcd3 store): set only when nothing but
    the index narrowed the list, so it is a count and not a guess.

    Waits for its turn (api/streaming.py `LoopTurns`) every FILTER_OBJECTS_PER_STEP objects
    tested.
    """
    merged = ResourceCache.merge_sorted(parts)
    if start_after:
        # Key order: a continue page starts with a bisect, not a scan.
        merged = merged[bisect_right(merged, start_after, key=_key_of) :]
    # A tenant scope is a predicate too: the index does not narrow to it.
    selecting = not (filt.labels.is_empty and filt.fields.is_empty) or filt.scope is not None
    if not selecting:
        # The index already narrowed to the scope: every item matches, so a page is a slice
        # and remainingItemCount a subtraction.
        items = merged[:limit] if limit else merged
        return Page(items, len(merged) > len(items), len(merged) - len(items))
    matches = filt.compile() or _everything
    items = []
    more = False
    for start in range(0, len(merged), FILTER_OBJECTS_PER_STEP):
        if start:
            await TURNS.wait_until_turn()
        for obj in merged[start : start + FILTER_OBJECTS_PER_STEP]:
            if not matches(obj):
                continue
            if limit and len(items) >= limit:
                more = True
                break
            items.append(obj)
        if more:
            break
    return Page(items, more, None)


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
        meta["continue"] = _encode_continue(rv_text, page.items[-1].key)
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


def _everything(_: CachedObject) -> bool:
    return True
