"""GET and LIST served from the watch cache (WATCH: api/watches.py), and the view and filter
helpers both use.

Consistent reads (no resourceVersion) read each involved shard's current etcd revision --
coalesced across concurrent requests by ShardBackend -- then wait until the cache has caught up
and answer from memory (KEP-2340). LIST bodies are spliced from each object's stored bytes.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from operator import attrgetter
from typing import Any

import orjson

from watchproxy.api.freshness import (
    current_targets,
    fresh_or_etcd,
    get_object,
    list_parts,
)
from watchproxy.api.http import Send, respond
from watchproxy.api.params import EXACT, ListOptions, parse_list_options
from watchproxy.api.printing import (
    Printing,
    render_list,
    render_object,
)
from watchproxy.api.status import (
    ApiError,
    bad_request,
    continue_expired,
    list_expired,
    not_found,
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
    # A tenant scope is a predicate too: the index does not narrow to it.
    selecting = not (filt.labels.is_empty and filt.fields.is_empty) or filt.scope is not None
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
        targets = targets_of(view, parse_rv(proxy, view, rv))
        from_etcd = await fresh_or_etcd(proxy, cache, view, targets, exact=False)
    obj = await get_object(proxy, cache, view, target, from_etcd)
    if obj is None:
        raise not_found(target.resource.plural, target.name, target.resource.group)
    await respond(
        send, 200, obj.raw if printing is None else render_object(target.resource, obj, printing)
    )


def _everything(_: CachedObject) -> bool:
    return True
