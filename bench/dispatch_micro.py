"""Dispatch alone, in process: Python CPU per delivery of `Dispatcher.dispatch` ->
`CacheWatcher.offer` (bucket lookup, classify, line, queue) for the moderate scenario's
watchers -- 100 watchers of one namespace and 50 kubelets (`spec.nodeName=N`) -- and 3,000 pod
updates (101 deliveries each). No sink, no socket, no event loop: the queues are only appended
to. Figure: min over `--reps` of time.process_time() / deliveries, in µs.

    .venv/bin/python -m bench.dispatch_micro [--reps 7]

Run it with PYTHONPATH=<a worktree> to measure another commit's code (decision 0019, "Second
round").
"""

from __future__ import annotations

import argparse
import time
from typing import Any, cast

from watchproxy.core.dispatcher import Dispatcher
from watchproxy.core.history import EventHistory
from watchproxy.core.objects import CacheEvent, build_from_dict
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.resources import Registry

EVENTS = 3000
NODES = 50


def _pod(i: int, node: str, gen: int) -> dict[str, Any]:
    meta = {"name": f"p{i}", "namespace": "ns", "uid": f"u{i}", "labels": {"app": "x"}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "podIP": f"10.0.0.{gen % 250}"},
    }


def _no_token(vector: tuple[int, ...], object_revision: int | None = None) -> str:
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    pods = Registry().lookup("", "v1", "pods")
    assert pods is not None
    dispatcher = Dispatcher()
    watchers: list[CacheWatcher] = []
    everything = LabelSelector()
    filters = [WatchFilter("ns", "", None, everything, FieldSelector())] * 100 + [
        WatchFilter("", "", f"node{n}", everything, FieldSelector.parse(f"spec.nodeName=node{n}"))
        for n in range(NODES)
    ]
    for filt in filters:
        w = CacheWatcher(
            filt=filt, shards=frozenset({0}), merged=False, floor=(0,), encode_token=_no_token,
            history=cast(EventHistory, None), max_queue=1 << 30, max_queue_bytes=1 << 40,
            bookmark_line=None,
        )  # fmt: skip
        dispatcher.register(w)
        watchers.append(w)
    events = []
    for i in range(EVENTS):
        key = f"ns/p{i % NODES}"
        obj = build_from_dict(pods, key, _pod(i % NODES, f"node{i % NODES}", i), i + 2)
        rev = i + 2
        events.append(
            CacheEvent(seq=i + 1, shard=0, revision=rev, key=key, obj=obj, prev=obj, vector=(rev,))
        )
    best = float("inf")
    deliveries = 0
    for _ in range(args.reps):
        for w in watchers:
            w.queue.clear()
            w.queue_bytes = 0
        # New events: no lines memoised by the previous rep.
        fresh = [
            CacheEvent(seq=e.seq, shard=0, revision=e.revision, key=e.key, obj=e.obj, prev=e.prev,
                       vector=e.vector)
            for e in events
        ]  # fmt: skip
        started = time.process_time()
        for event in fresh:
            dispatcher.dispatch(event)
        spent = time.process_time() - started
        deliveries = sum(len(w.queue) for w in watchers)
        best = min(best, spent / deliveries * 1e6)
    print(f"dispatch: {best:.3f} µs per delivery (min of {args.reps}), "
          f"{deliveries / EVENTS:.0f} deliveries per event")  # fmt: skip


if __name__ == "__main__":
    main()
