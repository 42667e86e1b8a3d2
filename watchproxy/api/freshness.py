"""Proving a read fresh: from the cache when the shard's stream proves it, else from etcd.

The rule (KEP-2340; api-concepts "Resource Versions"): a LIST/GET with no resourceVersion answers
a state, and an RV, not older than every revision committed in the involved shards before the
request arrived; with `resourceVersion=N` (NotOlderThan, and the RV=N default) not older than N.
The WatchList's `k8s.io/initial-events-end` bookmark obeys the same rule.

How (docs/decisions/0007-one-watch-per-shard.md):
- Targets: no resourceVersion -> each involved shard's current revision, one linearizable read
  shared by concurrent requests (ShardBackend.current_revision); RV=N -> N.
- The cache has reached a target when its shard revision is >= it. Only the shard's ordered
  stream raises that revision -- events of any resource of the shard, and progress notifications
  etcd orders after events -- so "reached" is a proof. The last write's event usually arrives
  within milliseconds on the shard's one stream.
- If not reached while the shard's stream has been silent for FALLBACK_AFTER_SECONDS (a write
  outside the watched prefix, or an idle shard on an etcd whose progress answers cannot be
  trusted), or within `freshness_timeout_seconds` at all, LIST and GET are answered from etcd,
  as kube-apiserver falls back to etcd when its cache cannot serve a consistent read: the
  resource's keys of the lagging shards (narrowed by namespace or name) read at one revision,
  built with the cache's encoding (build_object), filtered by the same selectors, and the RV is
  that revision (plain or composite per the request's view). Shards that did catch up are
  served from the cache as usual.
- A WatchList cannot be served from etcd (its stream continues from the cache): it waits for the
  cache up to `freshness_timeout_seconds`, then gets the in-band 504.

Errors: 504 Timeout (TooLargeResourceVersion, retryAfterSeconds 1) when N is newer than etcd
itself for the whole freshness timeout; 410 Expired when an exact revision was compacted in etcd;
503 ServiceUnavailable when etcd cannot be read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from watchproxy.api.status import etcd_unavailable
from watchproxy.api.target import Target
from watchproxy.api.view import View, format_rv
from watchproxy.core.errors import ResourceExpired, TooLargeResourceVersion
from watchproxy.core.objects import CachedObject
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import WatchFilter
from watchproxy.etcd.client import EtcdCompacted, EtcdError
from watchproxy.proxy import Proxy
from watchproxy.resources import ResourceType

Vector = tuple[int, ...]
# How long a LIST/GET waits for the shard's stream before reading etcd. KEP-2340 reports 99.9%
# of cache waits done within 110 ms; a few times that keeps etcd reads for the real gaps.
FALLBACK_AFTER_SECONDS = 0.25
# How often a waiting read looks again at whether the shard's stream has gone silent.
WAIT_SLICE_SECONDS = 0.05


async def current_targets(proxy: Proxy, shards: Iterable[int]) -> dict[int, int]:
    """Each shard's current etcd revision (linearizable, coalesced); 503 if unreadable."""
    shard_list = sorted(shards)
    try:
        revisions = await asyncio.gather(*(proxy.shards[s].current_revision() for s in shard_list))
    except EtcdError as exc:
        raise etcd_unavailable(exc) from exc
    return dict(zip(shard_list, revisions, strict=True))


def too_large(
    proxy: Proxy, cache: ResourceCache, view: View, targets: dict[int, int]
) -> TooLargeResourceVersion:
    """The apiserver's NewTooLargeResourceVersionError: 504, retryAfterSeconds 1."""
    wanted = tuple(targets.get(i, 0) for i in range(proxy.tenancy.shard_count))
    return TooLargeResourceVersion(
        f"Timeout: Too large resource version: {format_rv(proxy, view, wanted)}, "
        f"current: {format_rv(proxy, view, cache.vector())}",
        retry_after=1,
    )


async def wait_fresh(
    proxy: Proxy,
    cache: ResourceCache,
    view: View,
    targets: dict[int, int],
    seconds: float | None = None,
) -> None:
    """Wait until the cache has reached `targets` (shard -> revision) by its streams' proof.

    `seconds` (the bound) defaults to `freshness_timeout_seconds`; then 504
    TooLargeResourceVersion.
    """
    if not cache.behind(targets):
        return
    try:
        async with asyncio.timeout(
            proxy.settings.freshness_timeout_seconds if seconds is None else seconds
        ):
            await cache.wait_until_fresh(targets)
    except TimeoutError:
        raise too_large(proxy, cache, view, targets) from None


async def fresh_or_etcd(
    proxy: Proxy,
    cache: ResourceCache,
    view: View,
    targets: dict[int, int],
    *,
    exact: bool,
    known: bool = False,
) -> dict[int, int]:
    """{} when the cache has reached `targets`; else the revision to read each lagging shard at
    from etcd (shard -> revision).

    The cache is waited for while it can still get there by itself: until every lagging shard's
    stream has been silent for FALLBACK_AFTER_SECONDS (nothing in flight will raise it -- a write
    outside the watched prefix, an idle shard on untrusted etcd), or at the latest until
    `freshness_timeout_seconds` (a stream busy but far behind), as the apiserver falls back to
    etcd after its 3 s wait.

    `known`: the targets were read from etcd just now (a consistent read), so they exist; read
    the lagging shards at them. Otherwise each lagging shard's current revision is read first:
    below the target (a future resourceVersion) only waiting can help -- until the freshness
    timeout, then 504 -- and at or above it, `exact` reads at the target (Exact, continue pages)
    and NotOlderThan reads at the current revision.
    """
    if not cache.behind(targets):
        return {}
    started = time.monotonic()
    deadline = started + proxy.settings.freshness_timeout_seconds
    while True:
        behind = cache.behind(targets)
        if not behind:
            return {}
        now = time.monotonic()
        if now >= deadline:
            break
        if now - started >= FALLBACK_AFTER_SECONDS and all(
            now - proxy.reflectors[s].last_heard >= FALLBACK_AFTER_SECONDS for s in behind
        ):
            break
        try:
            async with asyncio.timeout(min(WAIT_SLICE_SECONDS, deadline - now)):
                await cache.wait_until_fresh(behind)
        except TimeoutError:
            pass
    if known:
        return behind
    current = await current_targets(proxy, behind)
    if any(current[s] < target for s, target in behind.items()):
        # etcd itself has not reached the revision yet: wait for the cache, as the apiserver does.
        await wait_fresh(proxy, cache, view, targets, max(0.0, deadline - time.monotonic()))
        return {}
    still = cache.behind(behind)
    return {s: (target if exact else current[s]) for s, target in still.items()}


# -- reads from etcd -----------------------------------------------------------------------------


async def read_list(
    proxy: Proxy, resource: ResourceType, shard: int, namespace: str, revision: int
) -> list[CachedObject]:
    """`resource`'s objects of `shard` (in `namespace` if set) at exactly `revision`, key order."""
    backend = proxy.shards[shard]
    backend.fallback_reads += 1
    try:
        _, objects = await backend.list_objects(
            resource, namespace, revision=revision, page_size=proxy.settings.etcd_page_size
        )
    except EtcdCompacted as exc:
        raise ResourceExpired(f"too old resource version: {revision}") from exc
    except EtcdError as exc:
        raise etcd_unavailable(exc) from exc
    return objects


async def list_parts(
    proxy: Proxy,
    cache: ResourceCache,
    view: View,
    resource: ResourceType,
    filt: WatchFilter,
    from_etcd: dict[int, int],
    exact: Vector | None,
) -> tuple[list[list[CachedObject]], Vector]:
    """Per shard of the view (sorted), the objects in key order narrowed to the filter's scope
    (namespace, trigger) -- from etcd for the shards in `from_etcd`, at those revisions, from the
    cache for the others (at `exact` if set) -- and the vector they are at. Every LIST comes
    through here; with nothing to read from etcd it never awaits."""
    shards = sorted(view.shards)
    cached = [s for s in shards if s not in from_etcd]
    vector = list(exact if exact is not None else cache.vector())
    # The cached parts and their vector entries are taken together, before any await.
    parts = dict(
        zip(
            cached,
            cache.select(
                cached,
                namespace=filt.namespace,
                trigger=filt.trigger,
                at={s: vector[s] for s in cached} if exact is not None else None,
            ),
            strict=True,
        )
    )
    if not from_etcd:
        return [parts[s] for s in shards], tuple(vector)  # all from the cache, no await
    read = await asyncio.gather(
        *(read_list(proxy, resource, s, filt.namespace, rev) for s, rev in from_etcd.items())
    )
    for (shard, revision), objects in zip(from_etcd.items(), read, strict=True):
        trigger = filt.trigger
        parts[shard] = objects if trigger is None else [o for o in objects if o.trigger == trigger]
        vector[shard] = revision
    return [parts[s] for s in shards], tuple(vector)


async def get_object(
    proxy: Proxy, cache: ResourceCache, view: View, target: Target, from_etcd: dict[int, int]
) -> CachedObject | None:
    """The named object from the first shard of the view (sorted) that has it: from etcd at the
    given revision for the shards in `from_etcd`, from the cache for the others."""
    resource = target.resource
    key = f"{target.namespace}/{target.name}" if resource.namespaced else target.name
    for shard in sorted(view.shards):
        if shard not in from_etcd:
            obj = cache.shards[shard].objects.get(key)
        else:
            backend = proxy.shards[shard]
            backend.fallback_reads += 1
            try:
                obj = await backend.read_object(resource, key, revision=from_etcd[shard])
            except EtcdCompacted as exc:
                raise ResourceExpired(f"too old resource version: {from_etcd[shard]}") from exc
            except EtcdError as exc:
                raise etcd_unavailable(exc) from exc
        if obj is not None:
            return obj
    return None


async def namespace_fresh(proxy: Proxy, resource: ResourceType, namespace: str) -> None:
    """Wait until `resource`'s cache holds every write committed to `namespace`'s shard before
    now, so a read of it is consistent as kube's GET without a resourceVersion is (KEP-2340):
    the TokenRequest reads its ServiceAccount this way, or a token asked for right after the
    account's create would be a 404. 503 if etcd is unreadable, 504 past the bound."""
    shard = proxy.tenancy.shard_of_namespace(namespace)
    targets = await current_targets(proxy, [shard])
    await wait_fresh(proxy, proxy.cache_of(resource), View(frozenset({shard}), False), targets)
