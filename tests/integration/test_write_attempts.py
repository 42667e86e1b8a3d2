"""Updates and deletes start from the watch cache's copy (registry/attempt.py, kube's
`cachedExistingObject`): one etcd round trip when the copy is current, and etcd's state decides
whenever the copy is stale -- a failed compare, an error, a no-op or nothing to write computed
on the copy never reaches the client. A real etcd; the Store's caches are fed by hand (no
reflector), so a copy can be made as stale as a test needs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from watchproxy.api.status import ApiError
from watchproxy.config import parse_settings
from watchproxy.core.objects import build_object
from watchproxy.etcd.server import EtcdServer
from watchproxy.proxy import Proxy
from watchproxy.registry.deleting import delete
from watchproxy.registry.objects import JsonObject, Located
from watchproxy.registry.options import DeleteOptions, WriteOptions
from watchproxy.registry.store import Store

NS = "attempts"


class Harness:
    """A Store over a real etcd shard (a key prefix of its own), caches listed empty."""

    def __init__(self, endpoint: str) -> None:
        prefix = f"/attempts-{uuid.uuid4().hex[:8]}"
        shard = {"name": "a", "endpoints": [endpoint], "key_prefix": prefix}
        self.proxy = Proxy(parse_settings({"shards": [shard]}))
        for served in self.proxy.served.values():
            served.cache.replace(0, [], 1)
        self.store = Store(self.proxy)
        self.client = self.proxy.shards[0].client
        self.configmaps = self.store.resource("configmaps")
        self.ranges = 0
        real_range = self.client.range

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.ranges += 1
            return await real_range(*args, **kwargs)

        self.client.range = counted  # type: ignore[method-assign]

    def key(self, name: str) -> bytes:
        return self.store.key(0, self.configmaps, NS, name)

    async def put(self, name: str, data: dict[str, str]) -> int:
        """Write a ConfigMap straight into etcd (as another apiserver would); its revision."""
        body = {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
            "data": data,
        }
        return await self.client.put(self.key(name), orjson.dumps(body))

    async def cache(self, name: str) -> None:
        """The cache takes the object as etcd holds it now (the reflector's job)."""
        result = await self.client.range(self.key(name))
        self.ranges -= 1  # the test's own read
        kv = result.kvs[0]
        key = f"{NS}/{name}"
        obj = build_object(self.configmaps, key, kv.value, kv.mod_revision)
        self.proxy.cache_of(self.configmaps).apply(0, key, obj, kv.mod_revision)

    async def stored(self, name: str) -> tuple[JsonObject, int]:
        result = await self.client.range(self.key(name))
        self.ranges -= 1
        return orjson.loads(result.kvs[0].value), result.kvs[0].mod_revision

    async def update(self, name: str, change: Callable[[JsonObject], None]) -> Any:
        def compute(current: Located) -> JsonObject:
            new = orjson.loads(orjson.dumps(current.obj))
            change(new)
            return dict(new)

        return await self.store.update(
            self.configmaps,
            namespace=NS,
            name=name,
            subresource="",
            compute=compute,
            options=WriteOptions(),
        )


@pytest.fixture()
async def harness(etcd_pair: list[EtcdServer]) -> AsyncIterator[Harness]:
    h = Harness(etcd_pair[0].endpoint)
    yield h
    await h.proxy.close()


def _set(key: str, value: str) -> Callable[[JsonObject], None]:
    def change(obj: JsonObject) -> None:
        obj["data"][key] = value

    return change


async def test_a_current_copy_costs_one_round_trip(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    written = await harness.update("cm", _set("a", "2"))
    stored, revision = await harness.stored("cm")
    assert stored["data"] == {"a": "2"} and written.revision == revision
    assert harness.ranges == 0  # the transaction alone


async def test_not_cached_reads_etcd(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.update("cm", _set("a", "2"))
    assert harness.ranges == 1
    assert (await harness.stored("cm"))[0]["data"] == {"a": "2"}


async def test_a_stale_copy_loses_the_compare_and_etcd_state_is_used(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    await harness.put("cm", {"a": "1", "b": "other writer"})  # the cache has not seen it
    await harness.update("cm", _set("a", "2"))
    stored, _ = await harness.stored("cm")
    assert stored["data"] == {"a": "2", "b": "other writer"}  # nothing of the writer lost


async def test_a_no_op_on_a_stale_copy_is_decided_on_etcd(harness: Harness) -> None:
    """On the copy, setting a=1 changes nothing; on etcd's state (a=9) it is a write."""
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    newer = await harness.put("cm", {"a": "9"})
    written = await harness.update("cm", _set("a", "1"))
    stored, revision = await harness.stored("cm")
    assert stored["data"] == {"a": "1"}
    assert revision > newer and written.revision == revision


async def test_an_error_on_a_stale_copy_is_decided_on_etcd(harness: Harness) -> None:
    """The client's precondition names etcd's revision, newer than the copy's: no 409."""
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    newer = await harness.put("cm", {"a": "9"})

    def change(obj: JsonObject) -> None:
        obj["metadata"]["resourceVersion"] = str(newer)
        obj["data"]["a"] = "2"

    await harness.update("cm", change)
    assert (await harness.stored("cm"))[0]["data"] == {"a": "2"}


async def test_a_stale_precondition_is_still_a_conflict(harness: Harness) -> None:
    first = await harness.put("cm", {"a": "1"})
    await harness.put("cm", {"a": "9"})
    await harness.cache("cm")

    def change(obj: JsonObject) -> None:
        obj["metadata"]["resourceVersion"] = str(first)

    with pytest.raises(ApiError) as caught:
        await harness.update("cm", change)
    assert caught.value.code == 409


async def test_delete_from_a_current_copy(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    written = await delete(harness.store, harness.configmaps, NS, "cm", DeleteOptions())
    assert written.deleted and harness.ranges == 0
    assert not (await harness.client.range(harness.key("cm"))).kvs


async def test_delete_with_a_precondition_newer_than_the_copy(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    newer = await harness.put("cm", {"a": "9"})
    options = DeleteOptions(precondition_resource_version=str(newer))
    written = await delete(harness.store, harness.configmaps, NS, "cm", options)
    assert written.deleted and written.obj["data"] == {"a": "9"}  # etcd's object, not the copy's


async def test_a_copy_of_an_object_gone_from_etcd_is_not_found(harness: Harness) -> None:
    await harness.put("cm", {"a": "1"})
    await harness.cache("cm")
    await harness.client.delete(harness.key("cm"))
    with pytest.raises(ApiError) as caught:
        await harness.update("cm", _set("a", "2"))
    assert caught.value.code == 404
