"""Garbage-collector settings for a process that holds a large cache.

A full (generation 2) collection traverses every tracked object: with 50,000 cached pods and a
50,000-event history that is ~90-130 ms here (`python -m bench.gc_pause`), and with
CPython's defaults it runs every few seconds under a steady write load -- every watcher sees
that pause. Objects of the cache and history are freed by
reference counting (they form no cycles), so the collector is only needed for the cyclic garbage
of connections and tasks. Hence:
- after the caches are first listed, `gc.freeze()` moves the start-up heap out of every future
  collection (it is long-lived, and acyclic garbage in it is still freed by refcounting);
- larger thresholds make young and full collections ~14x rarer.
"""

from __future__ import annotations

import gc

# gen0 every 10,000 net allocations (default 700); gen1 every 10 gen0; gen2 every 10 gen1 (and
# only when a quarter of the long-lived objects are new, CPython's own rule).
THRESHOLDS = (10_000, 10, 10)


def tune_for_cache() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_startup_heap() -> None:
    gc.collect()
    gc.freeze()
