"""Writers straight into etcd: a bulk seeder and the paced writer whose log is the ground truth.

The paced writer records, per write, the shard, the object id, the mod_revision etcd assigned and
the commit time: `time.time()` right after the put returned (clients run on the same machine, so
one clock). A receiver's latency is its receive time minus that commit time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watchproxy.etcd.client import EtcdClient, EtcdError

# seq -> (shard, key, object id, value)
WriteFn = Callable[[int], tuple[int, bytes, int, bytes]]


async def bulk_put(
    clients: Sequence[EtcdClient], items: Iterable[tuple[int, bytes, bytes]], concurrency: int = 64
) -> int:
    """Put (shard, key, value) items with bounded concurrency; returns how many."""
    sem = asyncio.Semaphore(concurrency)
    count = 0
    failures: list[BaseException] = []

    async def one(shard: int, key: bytes, value: bytes) -> None:
        try:
            await clients[shard].put(key, value)
        except EtcdError as exc:
            failures.append(exc)
        finally:
            sem.release()

    tasks: set[asyncio.Task[None]] = set()
    for shard, key, value in items:
        await sem.acquire()
        if failures:
            sem.release()
            break
        task = asyncio.create_task(one(shard, key, value))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        count += 1
    if tasks:
        await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"seeding failed: {failures[0]}")
    return count


@dataclass
class WriteLog:
    shard: npt.NDArray[np.int8]
    rev: npt.NDArray[np.int64]
    oid: npt.NDArray[np.int32]
    t_commit: npt.NDArray[np.float64]
    t_issue: npt.NDArray[np.float64]
    errors: int
    started: float
    finished: float

    @property
    def count(self) -> int:
        return int(self.rev.size)

    @property
    def achieved_rate(self) -> float:
        span = self.finished - self.started
        return self.count / span if span > 0 else 0.0

    @property
    def put_ms_p50(self) -> float:
        if not self.count:
            return 0.0
        return float(np.median(self.t_commit - self.t_issue) * 1000)


async def paced_writes(
    clients: Sequence[EtcdClient],
    make: WriteFn,
    *,
    rate: float,
    duration: float,
    max_inflight: int = 64,
) -> WriteLog:
    """Issue `rate * duration` writes on a fixed schedule (open loop, bounded in-flight)."""
    total = max(1, int(rate * duration))
    shard = np.zeros(total, np.int8)
    rev = np.zeros(total, np.int64)
    oid = np.zeros(total, np.int32)
    t_commit = np.zeros(total, np.float64)
    t_issue = np.zeros(total, np.float64)
    ok = np.zeros(total, np.bool_)
    errors = 0
    sem = asyncio.Semaphore(max_inflight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(seq: int, s: int, key: bytes, o: int, value: bytes) -> None:
        nonlocal errors
        try:
            t0 = time.time()
            r = await clients[s].put(key, value)
            t1 = time.time()
            shard[seq], rev[seq], oid[seq] = s, r, o
            t_issue[seq], t_commit[seq] = t0, t1
            ok[seq] = True
        except EtcdError:
            errors += 1
        finally:
            sem.release()

    loop = asyncio.get_running_loop()
    start = loop.time()
    wall_start = time.time()
    for seq in range(total):
        delay = start + seq / rate - loop.time()
        if delay > 0.001:
            await asyncio.sleep(delay)
        await sem.acquire()
        s, key, o, value = make(seq)
        task = asyncio.create_task(one(seq, s, key, o, value))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    return WriteLog(
        shard=shard[ok],
        rev=rev[ok],
        oid=oid[ok],
        t_commit=t_commit[ok],
        t_issue=t_issue[ok],
        errors=errors,
        started=wall_start,
        finished=time.time(),
    )
