"""Minimal async etcd v3 client on plain ``grpc.aio``.

Only what watchproxy needs: ranges (with paging pinned at a revision),
compare-and-swap style writes through Txn, compaction, status and a
single-watcher Watch stream. It deliberately does NOT resume watches by itself:
the caller (the reflector) owns the resume position, because only it knows
which events it has durably applied.

Failover: one gRPC channel per endpoint, created lazily. Calls go to the
"active" endpoint; when it reports itself unavailable the client moves on to the
next one. Idempotent reads are retried once on each endpoint; writes are never
retried here (a write that timed out may still have been applied, and only the
caller can decide whether re-issuing it is safe).

Parts: etcd/channel.py (endpoints, channels, failover, the unary call), etcd/protos.py (the
generated messages and conversions), etcd/values.py (result types), etcd/errors.py (errors and
their mapping from gRPC), etcd/timings.py (request durations), etcd/watch.py (the Watch stream);
this module is the KV calls and the entry point callers import from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Final

from watchproxy.etcd.channel import (
    DEFAULT_PORT,
    MAX_RECEIVE_MESSAGE_BYTES,
    MAX_SEND_MESSAGE_BYTES,
    _EtcdChannels,
    parse_endpoint,
)
from watchproxy.etcd.errors import (
    EtcdCompacted,
    EtcdError,
    EtcdRequestTooLarge,
    EtcdUnavailable,
)
from watchproxy.etcd.protos import (
    _compare,
    _first_range_kv,
    _kv,
    _prefix_range,
    _range_op,
    prefix_range_end,
    rpc_pb2,
)
from watchproxy.etcd.timings import REQUEST_DURATION_BUCKETS, RequestTimings
from watchproxy.etcd.values import (
    EtcdStatus,
    KeyValue,
    RangeResult,
    TxnResult,
    WatchEvent,
    WatchResponse,
)
from watchproxy.etcd.watch import EtcdWatch, default_transport

__all__ = [
    "DEFAULT_PORT",
    "MAX_RECEIVE_MESSAGE_BYTES",
    "MAX_SEND_MESSAGE_BYTES",
    "REQUEST_DURATION_BUCKETS",
    "EtcdClient",
    "EtcdCompacted",
    "EtcdError",
    "EtcdRequestTooLarge",
    "EtcdStatus",
    "EtcdUnavailable",
    "EtcdWatch",
    "KeyValue",
    "RangeResult",
    "RequestTimings",
    "TxnResult",
    "WatchEvent",
    "WatchResponse",
    "parse_endpoint",
    "prefix_range_end",
]

# Compaction with physical=True waits for the backend to drop old revisions,
# which can take much longer than a normal request on a big database.
_MIN_COMPACT_TIMEOUT: Final = 60.0


class EtcdClient(_EtcdChannels):
    """Async client for one etcd cluster (one or more member endpoints): the KV, maintenance and
    watch calls, on the channels and failover of _EtcdChannels (etcd/channel.py)."""

    # -- lifecycle --------------------------------------------------------- #

    async def close(self) -> None:
        """Close open watches and all channels. Idempotent."""
        self._closed = True
        for watch in list(self._watches):
            await watch.close()
        connections, self._connections = self._connections, [None] * len(self._targets)
        for conn in connections:
            if conn is not None:
                await conn.channel.close()

    # -- reads ------------------------------------------------------------- #

    async def range(
        self,
        key: bytes,
        range_end: bytes | None = None,
        *,
        revision: int = 0,
        limit: int = 0,
        count_only: bool = False,
        serializable: bool = False,
    ) -> RangeResult:
        """Range ``[key, range_end)`` (just ``key`` if ``range_end`` is None).

        ``revision`` 0 reads the latest revision; ``limit`` 0 means no limit.
        Raises EtcdCompacted if ``revision`` has been compacted.
        """
        request = rpc_pb2.RangeRequest(
            key=key,
            range_end=range_end or b"",
            revision=revision,
            limit=limit,
            count_only=count_only,
            serializable=serializable,
        )
        resp = await self._unary("kv", "Range", request, idempotent=True)
        return RangeResult(
            kvs=[_kv(kv) for kv in resp.kvs],
            more=bool(resp.more),
            count=int(resp.count),
            header_revision=int(resp.header.revision),
        )

    async def list_paged(
        self, prefix: bytes, *, revision: int, page_size: int = 10000
    ) -> AsyncIterator[tuple[int, list[KeyValue]]]:
        """Yield ``(pinned_revision, kvs)`` pages of every key under ``prefix``.

        All pages are read at the same revision so together they form one
        consistent snapshot: ``revision`` if > 0, otherwise the header revision
        of the first (linearizable) page. At least one page is yielded, possibly
        empty, so the caller always learns the snapshot revision. Raises
        EtcdCompacted if the pinned revision gets compacted mid-way.
        """
        if page_size <= 0:
            raise ValueError("page_size must be positive")
        key, range_end = _prefix_range(prefix)
        pinned = revision
        while True:
            page = await self.range(key, range_end, revision=pinned, limit=page_size)
            if pinned <= 0:
                # The first page was served at the header revision (etcd sets it
                # to the revision of the read view), so pin the rest to it.
                pinned = page.header_revision
            yield pinned, page.kvs
            if not page.more or not page.kvs:
                return
            # Smallest key strictly greater than the last one returned.
            key = page.kvs[-1].key + b"\x00"

    async def current_revision(self, key: bytes) -> int:
        """Linearizable current store revision (a cheap count-only Range)."""
        result = await self.range(key, limit=1, count_only=True)
        return result.header_revision

    async def status(self) -> EtcdStatus:
        """Maintenance.Status of the active member."""
        resp = await self._unary("maintenance", "Status", rpc_pb2.StatusRequest(), idempotent=True)
        return EtcdStatus(
            version=str(resp.version),
            member_id=int(resp.header.member_id),
            leader=int(resp.leader),
            raft_term=int(resp.raftTerm),
            raft_index=int(resp.raftIndex),
            db_size=int(resp.dbSize),
            db_size_in_use=int(resp.dbSizeInUse),
            header_revision=int(resp.header.revision),
            is_learner=bool(resp.isLearner),
            errors=[str(e) for e in resp.errors],
        )

    # -- writes ------------------------------------------------------------ #

    async def _txn(self, compare: list[Any], success: list[Any], key: bytes) -> Any:
        request = rpc_pb2.TxnRequest(compare=compare, success=success, failure=[_range_op(key)])
        return await self._unary("kv", "Txn", request, idempotent=False)

    async def create(self, key: bytes, value: bytes) -> TxnResult:
        """Put ``key`` only if it does not exist."""
        resp = await self._txn(
            [_compare(key, "CREATE", "EQUAL", 0)],
            [rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value))],
            key,
        )
        revision = int(resp.header.revision)
        if resp.succeeded:
            # A write txn's header revision is the revision it created.
            current = KeyValue(key, value, revision, revision, 1)
            return TxnResult(True, revision, current)
        return TxnResult(False, revision, _first_range_kv(resp))

    async def update(self, key: bytes, value: bytes, *, expected_mod_revision: int) -> TxnResult:
        """Put ``key`` only if it exists with ``mod_revision == expected_mod_revision``."""
        resp = await self._txn(
            [
                # Guard against expected_mod_revision=0 matching an absent key.
                _compare(key, "CREATE", "GREATER", 0),
                _compare(key, "MOD", "EQUAL", expected_mod_revision),
            ],
            [rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value, prev_kv=True))],
            key,
        )
        revision = int(resp.header.revision)
        if resp.succeeded:
            prev = resp.responses[0].response_put.prev_kv
            current = KeyValue(
                key, value, int(prev.create_revision), revision, int(prev.version) + 1
            )
            return TxnResult(True, revision, current)
        return TxnResult(False, revision, _first_range_kv(resp))

    async def delete(self, key: bytes, *, expected_mod_revision: int | None = None) -> TxnResult:
        """Delete ``key`` if it exists (and has ``expected_mod_revision``, if given)."""
        compare = [_compare(key, "CREATE", "GREATER", 0)]
        if expected_mod_revision is not None:
            compare.append(_compare(key, "MOD", "EQUAL", expected_mod_revision))
        resp = await self._txn(
            compare,
            [
                rpc_pb2.RequestOp(
                    request_delete_range=rpc_pb2.DeleteRangeRequest(key=key, prev_kv=True)
                )
            ],
            key,
        )
        revision = int(resp.header.revision)
        if resp.succeeded:
            prev_kvs = resp.responses[0].response_delete_range.prev_kvs
            return TxnResult(True, revision, _kv(prev_kvs[0]) if prev_kvs else None)
        return TxnResult(False, revision, _first_range_kv(resp))

    async def put(self, key: bytes, value: bytes) -> int:
        """Unconditional put; returns the new store revision."""
        resp = await self._unary(
            "kv", "Put", rpc_pb2.PutRequest(key=key, value=value), idempotent=False
        )
        return int(resp.header.revision)

    async def compact(self, revision: int, *, physical: bool = True) -> None:
        """Compact history up to ``revision``.

        Raises EtcdCompacted if ``revision`` is already compacted.
        """
        await self._unary(
            "kv",
            "Compact",
            rpc_pb2.CompactionRequest(revision=revision, physical=physical),
            idempotent=False,
            call_timeout=max(self._timeout, _MIN_COMPACT_TIMEOUT),
        )

    # -- watch ------------------------------------------------------------- #

    def watch(
        self,
        prefix: bytes,
        *,
        start_revision: int,
        prev_kv: bool = True,
        progress_notify: bool = True,
        transport: str | None = None,
    ) -> EtcdWatch:
        """A watch on every key under ``prefix`` from ``start_revision`` (inclusive).

        Nothing is sent until the watch is iterated (or ``request_progress`` is
        called). ``start_revision`` 0 means "from now". ``transport``: "h2" (its own HTTP/2
        connection read on the loop) or "grpc" (grpc.aio on the client's channel); None
        takes $WATCHPROXY_ETCD_WATCH, "h2" if unset (etcd/watch.py, decision 0020).
        """
        watch = EtcdWatch(
            self,
            prefix,
            start_revision=start_revision,
            prev_kv=prev_kv,
            progress_notify=progress_notify,
            transport=transport or default_transport(),
        )
        self._watches.add(watch)
        return watch
