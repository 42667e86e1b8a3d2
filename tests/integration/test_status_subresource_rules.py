"""An update through pods/NAME/status is validated by the status strategy's rules (kube's
podStatusStrategy.ValidateUpdate -> ValidatePodStatusUpdate), not the whole pod's: a pod whose
stored spec the main resource's rules would refuse (written by another writer) still takes its
kubelet's status, and a bad status is refused. A real etcd; the Store as the handlers use it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest

from watchproxy.api.status import ApiError
from watchproxy.config import parse_settings
from watchproxy.etcd.server import EtcdServer
from watchproxy.proxy import Proxy
from watchproxy.registry.objects import JsonObject, Located
from watchproxy.registry.options import WriteOptions
from watchproxy.registry.store import Store

NS = "status-rules"


class Pods:
    """A Store over a real etcd shard (a key prefix of its own), caches listed empty."""

    def __init__(self, endpoint: str) -> None:
        prefix = f"/status-{uuid.uuid4().hex[:8]}"
        shard = {"name": "a", "endpoints": [endpoint], "key_prefix": prefix}
        self.proxy = Proxy(parse_settings({"shards": [shard]}))
        for served in self.proxy.served.values():
            served.cache.replace(0, [], 1)
        self.store = Store(self.proxy)
        self.pods = self.store.resource("pods")

    async def put(self, name: str, container: str) -> None:
        """A pod written straight into etcd, with a container name kube's rules refuse."""
        body = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": container, "image": "i"}], "nodeName": "n1"},
            "status": {"phase": "Pending"},
        }
        key = self.store.key(0, self.pods, NS, name)
        await self.proxy.shards[0].client.put(key, orjson.dumps(body))

    async def update(
        self, name: str, subresource: str, change: Callable[[JsonObject], None]
    ) -> Any:
        def compute(current: Located) -> JsonObject:
            new: JsonObject = orjson.loads(orjson.dumps(current.obj))
            change(new)
            return new

        return await self.store.update(
            self.pods,
            namespace=NS,
            name=name,
            subresource=subresource,
            compute=compute,
            options=WriteOptions(),
        )


@pytest.fixture()
async def pods(etcd_pair: list[EtcdServer]) -> AsyncIterator[Pods]:
    h = Pods(etcd_pair[0].endpoint)
    yield h
    await h.proxy.close()


def _status(**status: Any) -> Callable[[JsonObject], None]:
    def change(obj: JsonObject) -> None:
        obj["status"] = dict(status)

    return change


async def test_status_write_of_a_pod_with_a_spec_kube_would_refuse(pods: Pods) -> None:
    await pods.put("p", "Bad_Name")
    written = await pods.update("p", "status", _status(phase="Running", podIP="10.0.0.7"))
    assert written.obj["status"] == {"phase": "Running", "podIP": "10.0.0.7"}
    with pytest.raises(ApiError) as caught:  # the main resource validates the whole pod
        await pods.update("p", "", lambda obj: obj["metadata"].update(labels={"a": "b"}))
    assert caught.value.code == 422 and "spec.containers[0].name" in str(caught.value)


async def test_a_bad_status_is_refused(pods: Pods) -> None:
    await pods.put("q", "c")
    with pytest.raises(ApiError) as caught:
        await pods.update("q", "status", _status(phase="Running", podIP="10.0.0.300"))
    assert caught.value.code == 422
    assert 'status.podIPs[0]: Invalid value: "10.0.0.300"' in str(caught.value)


async def test_a_pod_stored_without_defaults_takes_a_label_patch(pods: Pods) -> None:
    """kube defaults what it decodes from etcd, so the old pod has restartPolicy, dnsPolicy,
    terminationMessagePath... as the new one does, and only the label differs."""
    await pods.put("r", "c")
    written = await pods.update("r", "", lambda obj: obj["metadata"].update(labels={"q": "1"}))
    assert written.obj["metadata"]["labels"] == {"q": "1"}
    assert written.obj["spec"]["restartPolicy"] == "Always"

