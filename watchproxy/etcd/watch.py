"""The etcd Watch stream: `EtcdWatch`, one gRPC Watch stream carrying a single watcher on a key
prefix, with etcd's progress requests. It does not resume by itself: the reflector owns the
resume position (see EtcdWatch). Created by EtcdClient.watch.

Two transports (docs/decisions/0020-ingest.md): "h2", the default, its own HTTP/2 connection
read on the event loop (etcd/h2stream.py), about 3x less CPU per event than grpc's C-core
hand-offs; and "grpc", the grpc.aio call on the client's channel, kept as the reference and
selected with WATCHPROXY_ETCD_WATCH=grpc. Both raise the same errors for the same causes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import grpc
import grpc.aio

from watchproxy.etcd.channel import (
    _REQUIRE_LEADER_METADATA,
    _ClosesOnExit,
    _EtcdChannels,
    _task_is_cancelling,
    parse_endpoint,
)
from watchproxy.etcd.errors import EtcdCompacted, EtcdError, EtcdUnavailable
from watchproxy.etcd.h2stream import GrpcStreamProtocol, StreamFailed
from watchproxy.etcd.protos import _kv, _prefix_range, kv_pb2, rpc_pb2
from watchproxy.etcd.values import KeyValue, WatchEvent, WatchResponse
from watchproxy.etcd.watch_settings import (
    COALESCE_ENV,
    TRANSPORT_ENV,
    TRANSPORTS,
    coalesce_seconds,
    default_transport,
    status_error,
)

__all__ = [
    "COALESCE_ENV",
    "TRANSPORTS",
    "TRANSPORT_ENV",
    "EtcdWatch",
    "default_transport",
]

# Progress responses to WatchProgressRequest are not tied to a watcher.
_BROADCAST_WATCH_ID: Final = -1
_DELETE: Final = kv_pb2.Event.DELETE
_WATCH_PATH: Final = "/etcdserverpb.Watch/Watch"
# Iteration (not run()) queues responses; past this many the socket is paused until drained.
_MAX_QUEUED: Final = 256
_PROGRESS_REQUEST: Final = rpc_pb2.WatchRequest(
    progress_request=rpc_pb2.WatchProgressRequest()
).SerializeToString()


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
        client: _EtcdChannels,
        prefix: bytes,
        *,
        start_revision: int,
        prev_kv: bool,
        progress_notify: bool,
        transport: str = "h2",
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown watch transport {transport!r}")
        self.transport = transport
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
        # The h2 transport: its connection, who takes responses as they are parsed (run()'s
        # callback), and those parsed before anyone took them (iteration, or before run()).
        self._stream: GrpcStreamProtocol | None = None
        self._consumer: Callable[[WatchResponse], None] | None = None
        self._queued: deque[WatchResponse] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    def _what(self) -> str:
        return f"Watch({self.prefix!r}, start_revision={self.start_revision})"

    def _create_request(self) -> Any:
        """The WatchRequest that opens this watch (rpc.proto WatchCreateRequest): the prefix's
        range from `start_revision`, with progress notifications and previous values as asked."""
        key, range_end = _prefix_range(self.prefix)
        create = rpc_pb2.WatchCreateRequest(
            key=key,
            range_end=range_end,
            start_revision=self.start_revision,
            progress_notify=self._progress_notify,
            prev_kv=self._prev_kv,
        )
        return rpc_pb2.WatchRequest(create_request=create)

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
                await self._write(self._call, self._create_request())
            return self._call

    async def request_progress(self) -> None:
        """Ask etcd for a progress notification (an empty-events response) now.

        The answer has ``requested_progress=True``. Caveat for etcd < 3.5.13:
        etcd answers with its current store revision without synchronising with
        the event stream (while the watcher catches up on history, or racing a
        just-committed event), so the answer can overtake events that are not
        delivered yet; do not advance a resume position from it there.
        """
        if self.transport == "h2":
            (await self._open_h2()).send_message(_PROGRESS_REQUEST)
            return
        call = await self._ensure_open()
        async with self._write_lock:
            request = rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest())
            await self._write(call, request)

    async def close(self) -> None:
        """Cancel the stream. Idempotent; a running iteration or run() ends quietly."""
        self._closed = True
        if self._call is not None:
            self._call.cancel()
        if self._stream is not None:
            self._stream.cancel()

    async def run(self, on_response: Callable[[WatchResponse], None]) -> None:
        """Call ``on_response`` with every response, in order, until the stream ends: returns
        after close(), raises as iteration does. Instead of iterating (once per watch). With
        the h2 transport the callback runs as the bytes are parsed, without a task switch, so
        it must not block; an exception from it ends the stream and is raised here."""
        if self.transport == "grpc":
            async for response in self:
                on_response(response)
            return
        self._start_iterating()
        try:
            stream = await self._open_h2()
            while self._queued:  # parsed before we took over (a progress request opened it)
                on_response(self._queued.popleft())
            self._consumer = on_response
            with contextlib.suppress(Exception):  # _raise_end says what ended it
                await stream.done
            self._raise_end(stream)
        finally:
            self._consumer = None
            if self._stream is not None:
                self._stream.cancel()

    def _start_iterating(self) -> None:
        if self._iterated:
            raise RuntimeError("an EtcdWatch can only be iterated once")
        self._iterated = True

    async def __aiter__(self) -> AsyncIterator[WatchResponse]:
        self._start_iterating()
        if self.transport == "h2":
            async for parsed in self._iterate_h2():
                yield parsed
            return
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
        # The hot path of ingest: positional arguments, no prev_kv lookup unless asked for
        # (the reflector does not ask), the fields upb already hands out as bytes and int.
        with_prev = self._prev_kv
        events = []
        for ev in msg.events:
            kv = ev.kv
            events.append(
                WatchEvent(
                    ev.type == _DELETE,
                    KeyValue(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version),
                    _kv(ev.prev_kv) if with_prev and ev.HasField("prev_kv") else None,
                )
            )
        return WatchResponse(msg.header.revision, events, msg.watch_id == _BROADCAST_WATCH_ID)

    # -- the h2 transport ----------------------------------------------------------------------

    async def _open_h2(self) -> GrpcStreamProtocol:
        """Connect to the active endpoint and send the create request, once. Raises
        EtcdUnavailable (connection refused, timed out, TLS handshake failed) or EtcdError
        (closed)."""
        async with self._write_lock:
            if self._closed:
                raise EtcdError(f"etcd {self._client.name!r}: watch is closed")
            if self._stream is not None:
                return self._stream
            index = self._endpoint_index = self._client._active
            if self._client._closed:
                raise EtcdError(f"etcd client {self._client.name!r} is closed")
            scheme, host, port = parse_endpoint(self._client.endpoints[index])
            stream = GrpcStreamProtocol(
                authority=self._client._targets[index],
                scheme=scheme,
                path=_WATCH_PATH,
                metadata=_REQUIRE_LEADER_METADATA,
                first_message=self._create_request().SerializeToString(),
                on_message=self._on_message,
                coalesce=coalesce_seconds(),
            )
            loop = asyncio.get_running_loop()
            try:
                context = self._client._ssl_context()
                async with asyncio.timeout(self._client._timeout):
                    await loop.create_connection(
                        lambda: stream,
                        host,
                        port,
                        ssl=context,
                        server_hostname=host if context is not None else None,
                    )
            except (OSError, TimeoutError, ssl.SSLError) as err:
                self._client._failover(index)
                raise EtcdUnavailable(
                    f"etcd {self._client.name!r}: {self._what()}: cannot connect to "
                    f"{self._client._targets[index]}: {err or type(err).__name__}"
                ) from err
            self._stream = stream
            if self._is_closed():  # close() ran while connecting
                stream.cancel()
            return stream

    def _is_closed(self) -> bool:
        return self._closed

    def _on_message(self, payload: bytes) -> None:
        """One response message, parsed on the loop thread as it arrives (h2stream)."""
        response = self._handle(rpc_pb2.WatchResponse.FromString(payload))
        if response is None:
            return
        consumer = self._consumer
        if consumer is not None:
            consumer(response)
            return
        self._queued.append(response)
        if len(self._queued) > _MAX_QUEUED and self._stream is not None and not self._paused:
            self._paused = True
            self._stream.pause_reading(True)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _iterate_h2(self) -> AsyncIterator[WatchResponse]:
        stream = await self._open_h2()
        stream.done.add_done_callback(lambda _: self._wake())
        loop = asyncio.get_running_loop()
        try:
            while True:
                while self._queued:
                    if self._paused and len(self._queued) <= _MAX_QUEUED // 2:
                        self._paused = False
                        stream.pause_reading(False)
                    yield self._queued.popleft()
                if stream.done.done():
                    self._raise_end(stream)
                    return
                self._waiter = loop.create_future()
                await self._waiter
        finally:
            self._waiter = None
            stream.cancel()

    def _raise_end(self, stream: GrpcStreamProtocol) -> None:
        """Return if the stream was cancelled (close()); else raise what ended it, as the grpc
        transport would: EtcdCompacted/EtcdError from the responses, a gRPC status mapped by
        _map_rpc_error, EtcdUnavailable for a broken connection or a stream ended by etcd."""
        if stream.done.cancelled():
            raise asyncio.CancelledError
        exc = stream.done.exception()
        if exc is None or (self._closed and isinstance(exc, StreamFailed)):
            return
        if not isinstance(exc, StreamFailed):
            raise exc
        name = self._client.name
        if exc.code is None or exc.code == 0:
            self._client._failover(self._endpoint_index)
            why = "stream ended by server" if exc.code == 0 else exc.details
            raise EtcdUnavailable(f"etcd {name!r}: {self._what()}: {why}") from exc
        mapped = status_error(exc.code, exc.details, self._what(), name)
        if isinstance(mapped, EtcdUnavailable):
            self._client._failover(self._endpoint_index)
        raise mapped from exc
