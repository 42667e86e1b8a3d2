"""ClusterIP allocation (kube: pkg/registry/core/service/ipallocator/ipallocator.go, the
IPAddress-object allocator of Kubernetes 1.33+, and the service REST's alloc.go).

An address is held by an `IPAddress` (networking.k8s.io/v1) named after it, stored on ONE etcd
-- the default shard, where the name claims of decision 0010 live -- at
`{key_prefix}/ipaddresses/{ip}`, written with a create-if-absent transaction: whichever replica
or shard's Service writes it first holds the address, so two Services never share one. Its
`spec.parentRef` names the Service; the annotation `watchproxy.io/service-uid` its uid, so a
leaked address (a create that failed after holding it, a crash between the Service's delete and
the release) is recognised and taken back when it is requested again.

The range is `service_cluster_ip_range` without its network and broadcast addresses. As kube
does (KEP-3070), random allocation draws from the upper band first, keeping the lower band
(min(max(16, size/16), 256) addresses: the `kubernetes` service's first address among them)
for addresses clients ask for.
"""

from __future__ import annotations

import ipaddress
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.values import KeyValue

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SERVICE_UID_ANNOTATION = "watchproxy.io/service-uid"
MANAGED_BY = "ipallocator.k8s.io"
RANDOM_TRIES = 64  # random probes of the upper band before scanning the whole range


class IPAllocator:
    """Owner: the Service strategy (one per Store). Concurrency: any request task; every
    allocation and release is one etcd transaction on the default shard."""

    def __init__(self, cidr: str, client: EtcdClient, key_prefix: str) -> None:
        self.network = ipaddress.ip_network(cidr)
        self.client = client
        self.prefix = f"{key_prefix}/ipaddresses/"
        self.family = "IPv4" if self.network.version == 4 else "IPv6"
        size = self.network.num_addresses - 2  # no network, no broadcast address
        self.size = size
        self.lower = min(max(16, size // 16), 256) if size > 16 else 0

    def key(self, ip: str) -> bytes:
        return (self.prefix + ip).encode()

    def address(self, offset: int) -> str:
        """The `offset`-th usable address (0: the one after the network address)."""
        return str(self.network.network_address + 1 + offset)

    def contains(self, ip: str) -> bool:
        """Whether `ip` is an allocatable address of the range."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if addr.version != self.network.version or addr not in self.network:
            return False
        return addr not in (self.network.network_address, self.network.broadcast_address)

    def not_in_range(self, ip: str) -> str:
        """kube's ErrNotInRange message."""
        return (
            f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. "
            f"The range of valid IPs is {self.network}"
        )

    async def holder(self, ip: str) -> KeyValue | None:
        result = await self.client.range(self.key(ip))
        return result.kvs[0] if result.kvs else None

    async def pick(self) -> str | None:
        """A free address (random in the upper band, then any), or None when the range is
        full. Free when read; `allocate` decides."""
        upper = self.size - self.lower
        for _ in range(min(RANDOM_TRIES, max(upper, 0))):
            ip = self.address(self.lower + random.randrange(upper))
            if await self.holder(ip) is None:
                return ip
        taken: set[str] = set()
        async for _, kvs in self.client.list_paged(self.prefix.encode(), revision=0):
            taken.update(kv.key.decode()[len(self.prefix) :] for kv in kvs)
        for offsets in (range(self.lower, self.size), range(self.lower)):
            for offset in offsets:
                ip = self.address(offset)
                if ip not in taken:
                    return ip
        return None

    async def allocate(self, ip: str, service: dict[str, Any]) -> bool:
        """Create the IPAddress of `ip` for `service`; False when someone holds it."""
        meta = service.get("metadata") or {}
        body = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IPAddress",
            "metadata": {
                "name": ip,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "generation": 1,
                "labels": {
                    "ipaddress.kubernetes.io/ip-family": self.family,
                    "ipaddress.kubernetes.io/managed-by": MANAGED_BY,
                },
                "annotations": {SERVICE_UID_ANNOTATION: str(meta.get("uid", ""))},
            },
            "spec": {
                "parentRef": {
                    "group": "",
                    "resource": "services",
                    "namespace": str(meta.get("namespace", "")),
                    "name": str(meta.get("name", "")),
                }
            },
        }
        result = await self.client.create(self.key(ip), orjson.dumps(body))
        return result.succeeded

    async def release(self, ip: str, service_uid: str) -> None:
        """Delete the IPAddress of `ip` if `service_uid`'s Service still holds it."""
        kv = await self.holder(ip)
        if kv is not None and held_by(kv) == service_uid:
            await self.client.delete(kv.key, expected_mod_revision=kv.mod_revision)

    async def take_back(self, kv: KeyValue) -> None:
        """Delete a leaked IPAddress (its Service is gone or holds another address)."""
        await self.client.delete(kv.key, expected_mod_revision=kv.mod_revision)


def held_by(kv: KeyValue) -> str:
    """The uid of the Service an IPAddress key-value names ("" if unknown)."""
    try:
        obj = orjson.loads(kv.value)
        return str(obj["metadata"]["annotations"][SERVICE_UID_ANNOTATION])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return ""


def age_seconds(kv: KeyValue) -> float:
    """Seconds since the IPAddress was created (0 when unreadable: treated as new)."""
    try:
        created = orjson.loads(kv.value)["metadata"]["creationTimestamp"]
        when = datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return 0.0
    return (datetime.now(UTC) - when).total_seconds()


def parent_of(kv: KeyValue) -> tuple[str, str]:
    """(namespace, name) of the Service an IPAddress names."""
    try:
        ref = orjson.loads(kv.value)["spec"]["parentRef"]
        return str(ref.get("namespace", "")), str(ref.get("name", ""))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return "", ""
