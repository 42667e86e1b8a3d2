"""Live dispatch (Dispatcher.dispatch -> CacheWatcher.offer with the bucket-trusting predicate
`WatchFilter.compile_live`) delivers exactly what the full predicate (`classify`, used for
catch-up from the history) says, in order, for every filter shape the dispatcher buckets."""

from __future__ import annotations

import pytest

from tests.unit.core.watchers import CODEC, drain
from watchproxy.core.objects import CachedObject, build_from_dict
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.resources import Registry

_PODS = Registry().lookup("", "v1", "pods")
assert _PODS is not None
PODS = _PODS


def pod(name: str, ns: str, node: str, app: str, rev: int) -> CachedObject:
    obj = {
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
        "spec": {"nodeName": node},
    }
    return build_from_dict(PODS, f"{ns}/{name}", obj, rev)


def in_tenant(obj: CachedObject) -> bool:
    return obj.namespace.startswith("a")


def shapes() -> dict[str, WatchFilter]:
    sel, none, n1 = LabelSelector.parse, FieldSelector(), FieldSelector.parse("spec.nodeName=n1")
    return {
        "namespace only": WatchFilter("a1", "", None, sel(""), none),
        "namespace + labels": WatchFilter("a1", "", None, sel("app=db"), none),
        "namespace + fields": WatchFilter("a1", "", None, sel(""), n1),
        "namespace + name": WatchFilter("a1", "p0", None, sel(""), none),
        "name only": WatchFilter("", "p1", None, sel(""), none),
        "namespace + scope": WatchFilter("a1", "", None, sel(""), none, in_tenant),
        "cluster + scope + labels": WatchFilter("", "", None, sel("app=web"), none, in_tenant),
        "cluster-wide": WatchFilter("", "", None, sel(""), none),
        "trigger (kubelet)": WatchFilter("", "", "n1", sel(""), n1),
    }  # fmt: skip


def history_view(cache: ResourceCache, w: CacheWatcher) -> list[tuple[str, str, str]]:
    """What the full predicate selects from the whole history: the reference."""
    out = []
    for event in cache.history.after_seq(0, 10_000):
        etype = w.classify(event)
        if etype is not None:
            obj = event.obj if event.obj is not None else event.prev
            assert obj is not None
            out.append((etype.decode(), obj.key, str(event.revision)))
    return out


@pytest.mark.parametrize("shape", list(shapes()))
async def test_live_dispatch_equals_the_full_predicate(shape: str) -> None:
    cache = ResourceCache(shard_count=1, history_size=10_000, expired_line=lambda m: b"")
    cache.replace(0, [], 10)
    w = CacheWatcher(
        filt=shapes()[shape], shards=frozenset({0}), merged=False, floor=cache.vector(),
        encode_token=CODEC.encode, history=cache.history, max_queue=10_000,
        max_queue_bytes=1 << 30, bookmark_line=None,
    )  # fmt: skip
    cache.watch_now(w)
    rev = 10

    def step(key: str, obj: CachedObject | None) -> None:
        nonlocal rev
        rev += 1
        cache.apply(0, key, obj, rev)

    # Objects in and out of the namespace, name, labels, node and tenant; moves in and out of
    # the selection (ADDED / DELETED by relabel or rescheduling), updates, deletes.
    for round_ in range(3):
        for ns in ("a1", "a2", "b1"):
            for i in range(3):
                name = f"p{i}"
                node, app = f"n{(i + round_) % 2}", ("db", "web")[(i + round_) % 2]
                step(f"{ns}/{name}", pod(name, ns, node, app, rev + 1))
        step(f"a1/p{round_}", None)
        step(f"b1/p{round_}", None)
    got = [
        (e["type"], f"{e['object']['metadata']['namespace']}/{e['object']['metadata']['name']}",
         e["object"]["metadata"]["resourceVersion"])
        for e in await drain(w)
    ]  # fmt: skip
    expected = history_view(cache, w)
    assert got == expected
    assert expected  # every shape selects something here: the comparison is not vacuous
