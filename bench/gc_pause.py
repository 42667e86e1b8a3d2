"""How long a full garbage collection takes with a big cache (docs/decisions/0006-gc.md).

    .venv/bin/python -m bench.gc_pause [--pods 50000]

Builds one `ResourceCache` with `--pods` pods, applies one update per pod (so the history ring
holds as many events), then times `gc.collect(g)` for each generation, and once more after
`gc.freeze()`. No network, no etcd.
"""

from __future__ import annotations

import argparse
import gc
import time

import orjson

from watchproxy.core.objects import build_object
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.resources import Registry


def pod_value(i: int, phase: str) -> bytes:
    return orjson.dumps(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": f"p{i}", "namespace": "ns", "labels": {"app": "x", "i": str(i)}},
            "spec": {"nodeName": f"n{i % 2000}", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=50_000)
    pods = parser.parse_args().pods
    resource = Registry().lookup("", "v1", "pods")
    assert resource is not None
    cache = ResourceCache(shard_count=2, history_size=pods, expired_line=lambda _m: b"")
    cache.replace(
        0,
        [build_object(resource, f"ns/p{i}", pod_value(i, "Pending"), 10) for i in range(pods)],
        10,
    )
    cache.replace(1, [], 10)
    revision = 10
    for i in range(pods):
        revision += 1
        obj = build_object(resource, f"ns/p{i}", pod_value(i, "Running"), revision)
        cache.apply(0, obj.key, obj, revision)
    print(
        f"{pods} pods cached, {len(cache.history)} events in history, "
        f"{len(gc.get_objects())} GC-tracked objects"
    )
    for generation in (0, 1, 2):
        started = time.perf_counter()
        gc.collect(generation)
        print(f"gc.collect({generation}): {(time.perf_counter() - started) * 1e3:.1f} ms")
    gc.freeze()
    started = time.perf_counter()
    gc.collect()
    print(f"after gc.freeze(), gc.collect(): {(time.perf_counter() - started) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
