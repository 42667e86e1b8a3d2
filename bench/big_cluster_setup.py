"""Set-up pieces of bench/big_cluster.py: the proxy with TLS, and seeding etcd in transactions."""

from __future__ import annotations

import asyncio
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc

from bench.cluster import ProxyProcess
from watchproxy.etcd._generated import rpc_pb2, rpc_pb2_grpc

TXN_OPS = 128  # etcd's default --max-txn-ops


class TlsProxy(ProxyProcess):
    """ProxyProcess with `tls:` set, polled for readiness over HTTPS with the bench CA."""

    def __init__(self, workdir: Path, endpoints: list[str], ca: Path, cert: Path, key: Path,
                 root: Path, **settings: Any) -> None:
        super().__init__(workdir, endpoints, tree=root,
                         tls={"cert_file": str(cert), "key_file": str(key)}, **settings)
        self.ctx = ssl.create_default_context(cafile=str(ca))

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout, context=self.ctx) as r:
                return int(r.status), bytes(r.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def readyz(self) -> int:
        return self.get("/readyz", 2)[0]


async def seed(endpoints: list[str], items: Iterable[tuple[int, bytes, bytes]],
               concurrency: int = 8) -> int:
    """Put (shard, key, value) items in transactions of TXN_OPS puts; returns how many.

    bench/writer.bulk_put issues one Put per key; 330,000 of them take minutes here, these take
    seconds (the proxy starts after seeding and lists, so revisions per object do not matter)."""
    channels = [grpc.aio.insecure_channel(ep.removeprefix("http://")) for ep in endpoints]
    stubs = [rpc_pb2_grpc.KVStub(ch) for ch in channels]
    sem = asyncio.Semaphore(concurrency)
    batches: list[list[Any]] = [[] for _ in endpoints]
    tasks: list[asyncio.Task[Any]] = []
    count = 0

    async def send(shard: int, ops: list[Any]) -> None:
        try:
            await stubs[shard].Txn(rpc_pb2.TxnRequest(success=ops), timeout=60)
        finally:
            sem.release()

    async def flush(shard: int) -> None:
        await sem.acquire()
        tasks.append(asyncio.create_task(send(shard, batches[shard])))
        batches[shard] = []

    try:
        for shard, key, value in items:
            batches[shard].append(
                rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value)))
            count += 1
            if len(batches[shard]) >= TXN_OPS:
                await flush(shard)
        for shard in range(len(endpoints)):
            if batches[shard]:
                await flush(shard)
        await asyncio.gather(*tasks)
    finally:
        for ch in channels:
            await ch.close()
    return count
