"""Runs the built-in controllers under the app's lifespan, each behind its own Lease.

Each controller is a `Reconciler`: a `sync()` pass over the watch cache. While this process leads
a controller's Lease, a new instance of it runs (nothing carries over from an earlier term) and
`run_passes` calls `sync()` whenever a resource the controller watches changed in the cache
since the last pass (checked every TICK_SECONDS), when the pass asked to be called back (a pod's
grace period ends, a write failed), and at least every RESYNC_SECONDS. A pass that fails
unexpectedly is logged and retried with backoff (kube's HandleError and rate-limited requeue):
until the backoff is over no change wakes it. A failed pass does not stop the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from watchproxy.config import ControllerSettings
from watchproxy.controllers.cached import CacheMark, wait_for_caches
from watchproxy.controllers.crd_status import CrdController
from watchproxy.controllers.garbage_collector import GarbageCollector
from watchproxy.controllers.leader import LeaderElector, StoreLeases, new_identity
from watchproxy.controllers.namespace import NamespaceController
from watchproxy.proxy import Proxy
from watchproxy.registry.store import Store
from watchproxy.resources import ResourceType

log = logging.getLogger("watchproxy.controllers")
# How often the leader compares cache fingerprints: the latency from a change to a pass.
TICK_SECONDS = 0.5
# A pass at least this often, changed or not (time-based conditions: kubelet heartbeats age).
RESYNC_SECONDS = 30.0
_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 30.0
LEASE_PREFIX = "watchproxy-"


class Reconciler(Protocol):
    name: str

    def watched(self) -> Iterable[ResourceType]:
        """The resources whose cache changes call for a pass (asked before every tick: the
        answer may change from one pass to the next)."""

    async def sync(self) -> float | None:
        """One pass; seconds until the next pass is due without a cache change (None: only on
        a change or at resync)."""


async def run_passes(reconciler: Reconciler, proxy: Proxy) -> None:
    """The leader's loop for one controller; runs until cancelled (the Lease is lost)."""
    loop = asyncio.get_running_loop()
    await wait_for_caches(proxy)  # kube: WaitForCacheSync
    seen: CacheMark | None = None
    due = 0.0
    failures = 0
    while True:
        mark = CacheMark(proxy, reconciler.watched())
        # After a failure only the backoff's end starts the next pass, changes or not.
        if (mark != seen and not failures) or loop.time() >= due:
            seen = mark
            try:
                wait = await reconciler.sync()
                failures = 0
            except Exception:
                failures += 1
                wait = min(_BACKOFF_MAX, _BACKOFF_FIRST * 2 ** (failures - 1))
                log.exception("%s: pass failed; next try in %.1f s", reconciler.name, wait)
            due = loop.time() + min(RESYNC_SECONDS if wait is None else wait, RESYNC_SECONDS)
        await asyncio.sleep(TICK_SECONDS)


class ReconcilerFactory(Protocol):
    def __call__(self, *, proxy: Proxy, store: Store) -> Reconciler: ...


@dataclass(frozen=True, slots=True)
class Controller:
    """A built-in controller: what makes an instance of it, and its switch."""

    factory: ReconcilerFactory
    switch: Callable[[ControllerSettings], bool]  # on or off in `settings.controllers`


# Lease name suffix -> controller. The Lease is `watchproxy-<name>` in kube-system.
CONTROLLERS: dict[str, Controller] = {
    "namespace-controller": Controller(NamespaceController, lambda s: s.namespace),
    "garbage-collector": Controller(GarbageCollector, lambda s: s.garbage_collector),
}


def enabled(proxy: Proxy) -> list[str]:
    """The controllers `settings.controllers` turns on."""
    settings = proxy.settings.controllers
    return [name for name, controller in CONTROLLERS.items() if controller.switch(settings)]


@contextlib.asynccontextmanager
async def running_controllers(proxy: Proxy, store: Store) -> AsyncIterator[None]:
    """Campaign for every enabled controller's Lease for the lifetime of the context; on exit
    stop them and release the Leases this process holds.

    Each term of leadership runs a new controller instance: a new leader trusts no state from an
    earlier term (its graph, its retry list) and looks at everything once.
    """
    names = enabled(proxy)
    identity = new_identity()
    electors = {
        name: LeaderElector(
            leases=StoreLeases(store, LEASE_PREFIX + name),
            identity=identity,
            settings=proxy.settings.controllers,
        )
        for name in names
    }
    if not electors:
        yield
        return

    async def run_all() -> None:
        async with asyncio.TaskGroup() as group:
            for name, elector in electors.items():

                async def lead(factory: ReconcilerFactory = CONTROLLERS[name].factory) -> None:
                    await run_passes(factory(proxy=proxy, store=store), proxy)

                group.create_task(elector.run(lead), name=f"controller {name}")

    log.info("controllers: %s campaigning as %s", ", ".join(names), identity)
    # The lifespan has no task group of its own (api/app.py); this one task owns the group.
    task = asyncio.create_task(run_all(), name="controllers")
    task.add_done_callback(_log_crash)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@contextlib.asynccontextmanager
async def running_crd_controller(proxy: Proxy, store: Store) -> AsyncIterator[None]:
    """The CRD controllers (controllers/crd_status.py) for the lifetime of the context: in every
    process and without a Lease, as kube runs them in every apiserver."""
    task = asyncio.create_task(
        run_passes(CrdController(proxy=proxy, store=store), proxy), name="controller crd-status"
    )
    task.add_done_callback(_log_crash)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _log_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "controllers crashed; no controller runs in this process", exc_info=task.exception()
        )
