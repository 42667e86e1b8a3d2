"""ShardBackend: one etcd cluster as the proxy uses it -- its client, key prefix (the one etcd
watch of the shard covers `{key_prefix}/`), and the coalesced "current revision" read that
consistent reads need.

Concurrency: any task may call `current_revision`. Requests that arrive while a read is in flight
wait for it and then share the next one: a read that started before a request arrived cannot prove
freshness for it (KEP-2340 needs a revision read after the request began).
"""

from __future__ import annotations

import asyncio

from watchproxy.core.objects import CachedObject, ObjectDecodeError, build_object
from watchproxy.etcd.client import (
    EtcdClient,
    EtcdError,
    EtcdUnavailable,
    KeyValue,
    prefix_range_end,
)
from watchproxy.resources import ResourceType


class ShardBackend:
    def __init__(self, *, index: int, name: str, client: EtcdClient, key_prefix: str) -> None:
        self.index = index
        self.name = name
        self.client = client
        self.key_prefix = key_prefix
        self._pending: asyncio.Future[int] | None = None
        self._driver: asyncio.Task[None] | None = None
        self.revision_reads = 0
        # Reads answered from etcd because the cache could not prove freshness in time
        # (watchproxy/api/freshness.py); one per (request, shard).
        self.fallback_reads = 0
        # Whether answers to progress *requests* are ordered after all events (etcd#15220);
        # set from the server version at start-up, untrusted until known.
        self.trust_requested_progress = False
        self.version = "unknown"

    async def detect_features(self) -> None:
        """Read the etcd server version; decide whether requested progress can be trusted."""
        try:
            self.version = (await self.client.status()).version
        except EtcdError:
            return
        self.trust_requested_progress = progress_request_is_ordered(self.version)

    @property
    def watch_prefix(self) -> bytes:
        """Every key of the shard: what its one etcd watch covers, e.g. b"/registry/"."""
        return f"{self.key_prefix}/".encode()

    def resource_prefix(self, storage_prefix: str) -> bytes:
        """The keys of one resource, e.g. b"/registry/services/specs/"."""
        return f"{self.key_prefix}/{storage_prefix}/".encode()

    async def list_objects(
        self, resource: ResourceType, namespace: str, *, revision: int, page_size: int
    ) -> tuple[int, list[CachedObject]]:
        """(the revision read at, `resource`'s objects of this shard in key order, narrowed to
        `namespace` if set), read from etcd at `revision` (0: now), built exactly as the cache
        builds them. Raises EtcdCompacted, EtcdError."""
        prefix = self.resource_prefix(resource.storage_prefix)
        scope = prefix + f"{namespace}/".encode() if namespace and resource.namespaced else prefix
        out: list[CachedObject] = []
        read_at = revision
        async for pinned, kvs in self.client.list_paged(
            scope, revision=revision, page_size=page_size
        ):
            read_at = pinned  # every page is pinned to the first page's revision
            for kv in kvs:
                obj = _build(resource, prefix, kv)
                if obj is not None:
                    out.append(obj)
        return read_at, out

    async def count(self, resource: ResourceType, namespace: str = "") -> int:
        """How many keys of `resource` this shard holds (in `namespace` if set), by one
        linearizable count-only read. Raises EtcdError."""
        prefix = self.resource_prefix(resource.storage_prefix)
        scope = prefix + f"{namespace}/".encode() if namespace and resource.namespaced else prefix
        result = await self.client.range(scope, prefix_range_end(scope), count_only=True)
        return result.count

    async def read_object(
        self, resource: ResourceType, key: str, *, revision: int
    ) -> CachedObject | None:
        """One object (`key` as the cache keys it) read from etcd at `revision`, or None.
        Raises EtcdCompacted, EtcdError."""
        prefix = self.resource_prefix(resource.storage_prefix)
        result = await self.client.range(prefix + key.encode(), revision=revision)
        return _build(resource, prefix, result.kvs[0]) if result.kvs else None

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


def progress_request_is_ordered(version: str) -> bool:
    """etcd fixed the ordering of requested progress notifications in 3.4.31 and 3.5.13
    (the versions kube-apiserver requires for consistent reads from cache)."""
    try:
        parts = tuple(int(p) for p in version.split("-")[0].split(".")[:3])
    except ValueError:
        return False
    if len(parts) != 3:
        return False
    if parts >= (3, 6, 0):
        return True
    if parts[:2] == (3, 5):
        return parts >= (3, 5, 13)
    if parts[:2] == (3, 4):
        return parts >= (3, 4, 31)
    return False


def _build(resource: ResourceType, prefix: bytes, kv: KeyValue) -> CachedObject | None:
    """The object as the cache holds it; None for a value or key the reflector skips too."""
    try:
        return build_object(resource, kv.key[len(prefix) :].decode(), kv.value, kv.mod_revision)
    except (ObjectDecodeError, UnicodeDecodeError):
        return None
