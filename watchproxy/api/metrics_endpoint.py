"""GET /metrics: the Prometheus text exposition of the app's registry (observe/metrics.py builds
it). Before rendering, one coalesced current-revision read per shard feeds the etcd lag gauges,
each bounded by ETCD_REVISION_TIMEOUT (seconds); a shard that does not answer in time is left out
of the lag gauges only. Any other method is kube's 405 MethodNotAllowed Status.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watchproxy.api.http import Send, respond
from watchproxy.api.status import ApiError
from watchproxy.etcd.client import EtcdError
from watchproxy.observe.metrics import Metrics

# A scrape waits this long at most for etcd's current revisions (the lag gauges); a shard that
# does not answer in time is left out of them, the rest of the scrape is unaffected.
ETCD_REVISION_TIMEOUT: Final = 1.0


async def serve_metrics(metrics: Metrics, method: str, send: Send) -> None:
    """GET /metrics: the text exposition of the app's registry. Authorization happened before
    (a non-resource URL; tenant identities are refused operator endpoints)."""
    if method != "GET":
        raise ApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    proxy = metrics.proxy.proxy
    revisions: dict[str, int] = {}

    async def read(shard_name: str, read_revision: Callable[[], Awaitable[int]]) -> None:
        with contextlib.suppress(TimeoutError, EtcdError):
            async with asyncio.timeout(ETCD_REVISION_TIMEOUT):
                revisions[shard_name] = await read_revision()

    await asyncio.gather(*(read(s.name, s.current_revision) for s in proxy.shards))
    metrics.proxy.etcd_revisions = revisions
    body = generate_latest(metrics.registry)
    await respond(send, 200, body, content_type=CONTENT_TYPE_LATEST.encode())
