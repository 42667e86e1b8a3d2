"""Garbage-collector and allocator settings for a process that holds a large cache.

A full (generation 2) collection traverses every tracked object: with 50,000 cached pods and a
50,000-event history that is ~90-130 ms here (`python -m bench.gc_pause`), and with
CPython's defaults it runs every few seconds under a steady write load -- every watcher sees
that pause. Objects of the cache and history are freed by
reference counting (they form no cycles), so the collector is only needed for the cyclic garbage
of connections and tasks. Hence:
- after the caches are first listed, `gc.freeze()` moves the start-up heap out of every future
  collection (it is long-lived, and acyclic garbage in it is still freed by refcounting);
- larger thresholds make young and full collections ~14x rarer.

The allocator too: glibc's malloc gives each block over M_MMAP_THRESHOLD its own mapping,
returned to the system when freed; smaller blocks come from the heap, where a few long-lived
blocks above freed ones keep those from ever going back. The threshold starts at 128 KiB but
rises to the size of the largest mapped block freed (up to 32 MiB), and then a streamed LIST's
256 KiB chunks, zlib's 64 KiB buffers and the lists of object references (80 KB per 10,000)
all land in the heap: after a storm of 150 streamed LISTs of 20,000 pods the RSS stayed at its
peak, 100 MB over its start (docs/benchmarks.md "Relist storm"). With the threshold fixed at
64 KiB it came back to within 2 MB of the start, and the start itself was 40 MB lower (the
initial list's etcd pages go back too). `tune_for_cache` fixes it, and caps the mapped blocks
at half the kernel's default `vm.max_map_count` (65,530) so that a cache of many large objects
cannot take the mappings that thread stacks and libraries need: past the cap, glibc serves
big blocks from the heap as usual.
"""

from __future__ import annotations

import ctypes
import gc

# gen0 every 10,000 net allocations (default 700); gen1 every 10 gen0; gen2 every 10 gen1 (and
# only when a quarter of the long-lived objects are new, CPython's own rule).
THRESHOLDS = (10_000, 10, 10)


# glibc's mallopt parameters (malloc.h): setting M_MMAP_THRESHOLD also turns off its rise.
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
MMAP_THRESHOLD_BYTES = 64 * 1024
MMAP_MAX_BLOCKS = 32_768


def tune_for_cache() -> None:
    gc.set_threshold(*THRESHOLDS)
    fix_mmap_threshold()


def fix_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at MMAP_THRESHOLD_BYTES (and at most MMAP_MAX_BLOCKS mapped
    blocks); False where there is no glibc `mallopt` (musl, macOS), which changes nothing."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, MMAP_MAX_BLOCKS)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    )


def freeze_startup_heap() -> None:
    gc.collect()
    gc.freeze()
