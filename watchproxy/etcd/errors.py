"""The etcd client's errors and how a gRPC status becomes one (`_map_rpc_error`): compacted
revisions, unavailability (timeouts, transport failures, "too many requests": retrying may help),
requests over --max-request-bytes (rpctypes.ErrRequestTooLarge), and everything else.
"""

from __future__ import annotations

from typing import Any, Final

import grpc


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
