"""In-process ingest cost (issue 10, decision 0020 second round): CPU per etcd event of the
Python ingest path alone, with no etcd, no socket and no watcher, so two checkouts can be
compared on a shared machine more tightly than bench.ingest_cost allows:

    PYTHONPATH=<checkout> .venv/bin/python -P bench/ingest_micro.py [--reps 12] [--events 4000]

(a script path rather than -m, so that the base checkout, which lacks this file, can be
measured: `bench` and `watchproxy` come from PYTHONPATH).

Each rep serializes `--events` etcd WatchResponses of one event each (alternating a Lease
renewal and a pod status change, the values of bench.ingest_cost), then times (process CPU,
`time.process_time`) `EtcdWatch._on_message` parsing each one and `ShardReflector.apply`
applying it to the caches of every served resource, yielding to the loop every 8 events and
sleeping 110 ms at the end so that timers the code sets (the first round's deferred raise) run
inside the window. Prints µs per event of every rep, their median and min (min is the robust
figure under noise). Uses the default asyncio loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.ingest_cost import LEASE_NS, POP, lease_value
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.protos import kv_pb2, rpc_pb2
from watchproxy.reflector import ShardReflector
from watchproxy.resources import Registry
from watchproxy.shard import ShardBackend


def messages(count: int, base: int) -> list[bytes]:
    """`count` serialized WatchResponses at revisions base, base + 1, ..."""
    out = []
    for seq in range(count):
        revision = base + seq
        if seq % 2 == 0:
            key = f"/registry/leases/{LEASE_NS}/node-{seq // 2 % 100:05d}".encode()
            value = lease_value(seq // 2 % 100, revision)
        else:
            i = seq // 2 % POP.pods
            key, value = POP.pod_key(i), POP.pod_value(i, revision)
        kv = kv_pb2.KeyValue(
            key=key, value=value, create_revision=5, mod_revision=revision, version=2
        )
        response = rpc_pb2.WatchResponse(
            header=rpc_pb2.ResponseHeader(revision=revision),
            watch_id=0,
            events=[kv_pb2.Event(type=kv_pb2.Event.PUT, kv=kv)],
        )
        out.append(response.SerializeToString())
    return out


async def measure(reps: int, events: int) -> list[float]:
    """µs of process CPU per event, one figure per rep."""
    registry = Registry()
    client = EtcdClient(["http://127.0.0.1:1"])  # never connects: nothing here calls etcd
    shard = ShardBackend(index=0, name="a", client=client, key_prefix="/registry")
    served = [
        (r, ResourceCache(shard_count=1, history_size=1000, expired_line=lambda m: b""))
        for r in registry.resources
    ]
    reflector = ShardReflector(shard=shard, served=served, page_size=10)
    for _, cache in served:
        cache.replace(0, [], 10)
    watch = client.watch(b"/registry/", start_revision=11, prev_kv=False, progress_notify=True)
    watch._watch_id = 0  # as if etcd had acknowledged the create request
    watch._consumer = reflector.apply
    figures, base = [], 11
    for _ in range(reps):
        batch = messages(events, base)
        base += events
        started = time.process_time()
        for i, message in enumerate(batch):
            watch._on_message(message)
            if i % 8 == 7:
                await asyncio.sleep(0)
        await asyncio.sleep(0.11)
        figures.append((time.process_time() - started) / events * 1e6)
    await client.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--events", type=int, default=4000)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.reps, args.events))
    print(
        "us/event",
        [round(f, 2) for f in figures],
        "median",
        round(statistics.median(figures[1:] or figures), 2),
        "min",
        round(min(figures), 2),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
