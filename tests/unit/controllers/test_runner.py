"""The controller runner (controllers/runner.py): a controller wakes for changes of the
resources it watches, not for every cache change, and a failed pass is retried when its backoff
is over, however much changes meanwhile. Real ResourceCaches, fed as the reflector feeds them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import orjson
import pytest

from tests.unit.controllers.polling import wait_for
from watchproxy.config import parse_settings
from watchproxy.controllers import runner
from watchproxy.controllers.namespace import NamespaceController
from watchproxy.core.objects import build_object
from watchproxy.proxy import Proxy
from watchproxy.registry.store import Store
from watchproxy.resources import ResourceType

SHARDS = {"shards": [{"name": "a", "endpoints": ["http://127.0.0.1:2379"]}]}
TICK = 0.01


class Cluster:
    """A Proxy whose caches have their first list (no etcd is ever contacted) and a Store."""

    def __init__(self) -> None:
        self.proxy = Proxy(parse_settings(SHARDS))
        for served in self.proxy.served.values():
            served.cache.replace(0, [], 1)
        self.revision = 1
        self.store = Store(self.proxy)

    def resource(self, plural: str, group: str = "") -> ResourceType:
        return self.store.resource(plural, group)

    def put(self, resource: ResourceType, namespace: str, name: str, **meta: Any) -> None:
        self.revision += 1
        body: dict[str, Any] = {"metadata": {"name": name, "uid": f"uid-{name}", **meta}}
        if resource.namespaced:
            body["metadata"]["namespace"] = namespace
        key = f"{namespace}/{name}" if resource.namespaced else name
        obj = build_object(resource, key, orjson.dumps(body), self.revision)
        self.proxy.cache_of(resource).apply(0, key, obj, self.revision)


@pytest.fixture()
async def cluster(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Cluster]:
    monkeypatch.setattr(runner, "TICK_SECONDS", TICK)
    c = Cluster()
    yield c
    await c.proxy.close()


async def running(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.create_task(coro)
    await asyncio.sleep(0)
    return task


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class CountingNamespaceController(NamespaceController):
    """Counts passes; its looks at Terminating namespaces do nothing (they would read etcd)."""

    passes = 0

    async def sync(self) -> float | None:
        self.passes += 1
        return await super().sync()

    async def sync_namespace(self, name: str) -> float | None:
        return None


async def test_namespace_controller_wakes_for_namespaces_not_for_leases(cluster: Cluster) -> None:
    leases = cluster.resource("leases", "coordination.k8s.io")
    namespaces, configmaps = cluster.resource("namespaces"), cluster.resource("configmaps")
    controller = CountingNamespaceController(proxy=cluster.proxy, store=cluster.store)
    task = await running(runner.run_passes(controller, cluster.proxy))
    try:
        await wait_for(lambda: controller.passes == 1, "the first pass")
        # A kubelet's node-lease renewal and a controller's own Lease renewal: not watched.
        for _ in range(5):
            cluster.put(leases, "kube-node-lease", "node-1", labels={"r": str(cluster.revision)})
            cluster.put(leases, "kube-system", "watchproxy-garbage-collector")
            await asyncio.sleep(4 * TICK)
        assert controller.passes == 1

        cluster.put(namespaces, "", "acme-a")
        await wait_for(lambda: controller.passes == 2, "a pass after a namespace change")
        await asyncio.sleep(20 * TICK)
        assert controller.passes == 2

        # Once a namespace is Terminating, what may be in it is watched too.
        cluster.put(namespaces, "", "acme-a", deletionTimestamp="2026-01-01T00:00:00Z")
        await wait_for(lambda: controller.passes >= 3, "a pass after the namespace's deletion")
        await asyncio.sleep(20 * TICK)  # the watched set grew: at most one more pass for that
        settled = controller.passes
        cluster.put(configmaps, "acme-a", "content")
        await wait_for(lambda: controller.passes > settled, "a pass after a content change")
    finally:
        await stop(task)


class Failing:
    """A reconciler whose first `failures` passes raise; records when each pass started."""

    name = "failing"

    def __init__(self, resource: ResourceType, failures: int) -> None:
        self.resource = resource
        self.failures = failures
        self.started: list[float] = []

    def watched(self) -> list[ResourceType]:
        return [self.resource]

    async def sync(self) -> float | None:
        self.started.append(asyncio.get_running_loop().time())
        if len(self.started) <= self.failures:
            raise RuntimeError("boom")
        return None


async def test_a_failed_pass_is_retried_on_its_backoff_not_on_every_change(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "_BACKOFF_FIRST", 0.1)
    configmaps = cluster.resource("configmaps")
    reconciler = Failing(configmaps, failures=3)

    async def churn() -> None:  # a watched resource changes every half tick
        while True:
            cluster.put(configmaps, "ns", "busy", labels={"r": str(cluster.revision)})
            await asyncio.sleep(TICK / 2)

    tasks = [await running(churn()), await running(runner.run_passes(reconciler, cluster.proxy))]
    try:
        # Three failures, then a pass that works, then passes on changes again: with the
        # resync 30 s away, only the churn can start the passes after the fourth.
        await wait_for(lambda: len(reconciler.started) >= 6, "passes after the failures")
    finally:
        await stop(*tasks)
    started = reconciler.started
    for attempt, backoff in enumerate((0.1, 0.2, 0.4), 1):
        assert started[attempt] - started[attempt - 1] >= backoff, (attempt, started)
