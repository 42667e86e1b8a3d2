"""NodePort allocation (kube: pkg/registry/core/service/portallocator, used by the service REST
for `type: NodePort` and `LoadBalancer`).

kube keeps one bitmap of the range in etcd; watchproxy, whose Services live on several shards,
keeps one key per port on the default shard -- `{key_prefix}/watchproxy.io/nodeports/{port}` --
written with a create-if-absent transaction (as ipallocator.py does for ClusterIPs), naming the
Service (namespace, name, uid) that holds it, so a port left held by a failed create is
recognised and taken back. The range is kube's default, 30000-32767.
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson

from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.values import KeyValue

NODE_PORT_RANGE = (30000, 32767)  # kube's --service-node-port-range default
RANDOM_TRIES = 32


class NodePortAllocator:
    """Owner: the Service strategy (one per Store). Concurrency: any request task; every
    allocation and release is one etcd transaction on the default shard."""

    def __init__(self, client: EtcdClient, key_prefix: str) -> None:
        self.client = client
        self.prefix = f"{key_prefix}/watchproxy.io/nodeports/"
        self.low, self.high = NODE_PORT_RANGE

    def key(self, port: int) -> bytes:
        return f"{self.prefix}{port}".encode()

    def contains(self, port: int) -> bool:
        return self.low <= port <= self.high

    def not_in_range(self) -> str:
        return (
            "provided port is not in the valid range. The range of valid ports is "
            f"{self.low}-{self.high}"
        )

    async def holder(self, port: int) -> KeyValue | None:
        result = await self.client.range(self.key(port))
        return result.kvs[0] if result.kvs else None

    async def pick(self, avoid: set[int]) -> int | None:
        """A port free when read (random, then the first free one), or None when full."""
        for _ in range(RANDOM_TRIES):
            port = random.randint(self.low, self.high)
            if port not in avoid and await self.holder(port) is None:
                return port
        taken = set(avoid)
        async for _, kvs in self.client.list_paged(self.prefix.encode(), revision=0):
            taken.update(int(kv.key.decode()[len(self.prefix) :]) for kv in kvs)
        return next((p for p in range(self.low, self.high + 1) if p not in taken), None)

    async def allocate(self, port: int, service: dict[str, Any]) -> bool:
        """Hold `port` for `service`; False when someone holds it."""
        meta = service.get("metadata") or {}
        body = {
            "namespace": str(meta.get("namespace", "")),
            "name": str(meta.get("name", "")),
            "uid": str(meta.get("uid", "")),
            "since": time.time(),
        }
        result = await self.client.create(self.key(port), orjson.dumps(body))
        return result.succeeded

    async def release(self, port: int, service_uid: str) -> None:
        """Free `port` if `service_uid`'s Service holds it."""
        kv = await self.holder(port)
        if kv is not None and record(kv).get("uid") == service_uid:
            await self.client.delete(kv.key, expected_mod_revision=kv.mod_revision)

    async def take_back(self, kv: KeyValue) -> None:
        await self.client.delete(kv.key, expected_mod_revision=kv.mod_revision)


def record(kv: KeyValue) -> dict[str, Any]:
    """The holder record of a port key ({} when unreadable)."""
    try:
        data = orjson.loads(kv.value)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
