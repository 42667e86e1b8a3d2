"""The etcd Watch stream: `EtcdWatch`, one gRPC Watch stream carrying a single watcher on a key
prefix, with etcd's progress requests. It does not resume by itself: the reflector owns the
resume position (see EtcdWatch). Created by EtcdClient.watch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc
import grpc.aio

from watchproxy.etcd.channel import (
    _REQUIRE_LEADER_METADATA,
    _ClosesOnExit,
    _EtcdChannels,
    _task_is_cancelling,
)
from watchproxy.etcd.errors import EtcdCompacted, EtcdError, EtcdUnavailable
from watchproxy.etcd.protos import _kv, _prefix_range, kv_pb2, rpc_pb2
from watchproxy.etcd.values import WatchEvent, WatchResponse

# Progress responses to WatchProgressRequest are not tied to a watcher.
_BROADCAST_WATCH_ID: Final = -1


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
