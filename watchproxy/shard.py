"""ShardBackend: one etcd cluster as the proxy uses it -- its client, key prefix, and the
coalesced "current revision" read that consistent reads need.

Concurrency: any task may call `current_revision`. Requests that arrive while a read is in flight
wait for it and then share the next one: a read that started before a request arrived cannot prove
freshness for it (KEP-2340 needs a revision read after the request began).
"""

from __future__ import annotations

import asyncio

from watchproxy.etcd.client import EtcdClient, EtcdError, EtcdUnavailable


class ShardBackend:
    def __init__(self, *, index: int, name: str, client: EtcdClient, key_prefix: str) -> None:
        self.index = index
        self.name = name
        self.client = client
        self.key_prefix = key_prefix
        self._pending: asyncio.Future[int] | None = None
        self._driver: asyncio.Task[None] | None = None
        self.revision_reads = 0

    def resource_prefix(self, storage_prefix: str) -> bytes:
        return f"{self.key_prefix}/{storage_prefix}/".encode()

    async def current_revision(self) -> int:
        """The shard's current etcd revision by a linearizable read, shared across callers."""
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_future()
            if self._driver is None:
                self._driver = asyncio.create_task(self._drive())
        return await asyncio.shield(self._pending)

    async def _drive(self) -> None:
        """Run rounds while callers wait; callers arriving mid-read join the next round."""
        try:
            while self._pending is not None:
                fut, self._pending = self._pending, None
                self.revision_reads += 1
                try:
                    fut.set_result(
                        await self.client.current_revision(self.key_prefix.encode() + b"/")
                    )
                except Exception as exc:
                    fut.set_exception(
                        exc if isinstance(exc, EtcdError) else EtcdUnavailable(str(exc))
                    )
        finally:
            self._driver = None
