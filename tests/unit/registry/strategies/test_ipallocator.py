"""registry/ipallocator.py over an in-memory stand-in for etcd's create-if-absent, and the
`service_cluster_ip_range` setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson
import pytest

from watchproxy.config import ConfigError, parse_settings
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.values import KeyValue, RangeResult, TxnResult
from watchproxy.registry.ipallocator import IPAllocator, held_by, parent_of


class FakeEtcd:
    """create (if absent), range of one key, delete, list_paged: what the allocator uses."""

    def __init__(self) -> None:
        self.data: dict[bytes, KeyValue] = {}
        self.revision = 1

    async def create(self, key: bytes, value: bytes) -> TxnResult:
        if key in self.data:
            return TxnResult(False, self.revision, self.data[key])
        self.revision += 1
        self.data[key] = KeyValue(key, value, self.revision, self.revision, 1)
        return TxnResult(True, self.revision, self.data[key])

    async def range(self, key: bytes) -> RangeResult:
        kv = self.data.get(key)
        return RangeResult([kv] if kv else [], False, 1 if kv else 0, self.revision)

    async def delete(self, key: bytes, *, expected_mod_revision: int | None = None) -> TxnResult:
        kv = self.data.get(key)
        if kv is None or (expected_mod_revision and kv.mod_revision != expected_mod_revision):
            return TxnResult(False, self.revision, kv)
        del self.data[key]
        return TxnResult(True, self.revision, kv)

    async def list_paged(self, prefix: bytes, *, revision: int) -> AsyncIterator[tuple[int, Any]]:
        yield self.revision, [kv for k, kv in sorted(self.data.items()) if k.startswith(prefix)]


def allocator(cidr: str) -> tuple[IPAllocator, FakeEtcd]:
    etcd = FakeEtcd()
    return IPAllocator(cidr, cast(EtcdClient, etcd), "/registry"), etcd


def svc(name: str, uid: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "uid": uid}}


def test_range_excludes_network_and_broadcast() -> None:
    alloc, _ = allocator("10.96.0.0/12")
    assert alloc.contains("10.96.0.1") and alloc.contains("10.111.255.254")
    assert not alloc.contains("10.96.0.0") and not alloc.contains("10.111.255.255")
    assert not alloc.contains("10.112.0.1") and not alloc.contains("nope")
    assert not alloc.contains("fd00::1")
    assert alloc.lower == 256  # min(max(16, size/16), 256)
    assert alloc.not_in_range("1.2.3.4") == (
        "failed to allocate IP 1.2.3.4: the provided IP (1.2.3.4) is not in the valid range. "
        "The range of valid IPs is 10.96.0.0/12"
    )


def test_allocate_is_exclusive_and_release_checks_the_holder() -> None:
    async def run() -> None:
        alloc, etcd = allocator("10.0.0.0/24")
        assert await alloc.allocate("10.0.0.10", svc("a", "u1"))
        assert not await alloc.allocate("10.0.0.10", svc("b", "u2"))
        kv = await alloc.holder("10.0.0.10")
        assert kv is not None
        assert (held_by(kv), parent_of(kv)) == ("u1", ("ns", "a"))
        body = orjson.loads(kv.value)
        assert body["kind"] == "IPAddress" and body["metadata"]["name"] == "10.0.0.10"
        assert body["spec"]["parentRef"]["resource"] == "services"
        await alloc.release("10.0.0.10", "u2")  # not its holder: kept
        assert await alloc.holder("10.0.0.10") is not None
        await alloc.release("10.0.0.10", "u1")
        assert await alloc.holder("10.0.0.10") is None
        assert not etcd.data

    asyncio.run(run())


def test_pick_fills_the_upper_band_first_then_the_whole_range() -> None:
    async def run() -> None:
        alloc, _ = allocator("10.0.0.0/27")  # 30 addresses, lower band 16
        picked = []
        for i in range(30):
            ip = await alloc.pick()
            assert ip is not None
            assert await alloc.allocate(ip, svc(f"s{i}", f"u{i}"))
            picked.append(ip)
        assert len(set(picked)) == 30
        upper = {f"10.0.0.{n}" for n in range(17, 31)}
        assert set(picked[:14]) == upper  # dynamic allocation prefers the upper band
        assert await alloc.pick() is None  # full

    asyncio.run(run())


def test_service_cluster_ip_range_setting() -> None:
    shards = [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}]
    assert parse_settings({"shards": shards}).service_cluster_ip_range == "10.96.0.0/12"
    custom = parse_settings({"shards": shards, "service_cluster_ip_range": "fd00::/108"})
    assert custom.service_cluster_ip_range == "fd00::/108"
    with pytest.raises(ConfigError) as err:
        parse_settings({"shards": shards, "service_cluster_ip_range": "10.96.0.1/12"})
    assert str(err.value).startswith("service_cluster_ip_range: '10.96.0.1/12' is not a CIDR")
