"""How the etcd Watch stream is carried (etcd/watch.py, docs/decisions/0020-ingest.md): the
transport and coalescing settings read from the environment, and the mapping of a gRPC status
read from HTTP/2 trailers (etcd/h2stream.py) onto the client's errors. Pure.
"""

from __future__ import annotations

import os
from typing import Final

import grpc

from watchproxy.etcd.errors import EtcdError, _map_rpc_error

TRANSPORT_ENV: Final = "WATCHPROXY_ETCD_WATCH"
# Milliseconds the h2 transport leaves the socket unread after each read, so that responses
# arriving meanwhile share one wake-up (h2stream's `coalesce`); 0 reads at once.
COALESCE_ENV: Final = "WATCHPROXY_ETCD_WATCH_COALESCE_MS"
TRANSPORTS: Final = ("h2", "grpc")
_STATUS_CODES: Final = {code.value[0]: code for code in grpc.StatusCode}


def default_transport() -> str:
    """The transport of new watches: $WATCHPROXY_ETCD_WATCH ("h2" or "grpc"), "h2" if unset.
    Raises ValueError for anything else."""
    value = os.environ.get(TRANSPORT_ENV, "") or "h2"
    if value not in TRANSPORTS:
        raise ValueError(f"{TRANSPORT_ENV}={value!r}: expected one of {', '.join(TRANSPORTS)}")
    return value


def coalesce_seconds() -> float:
    """$WATCHPROXY_ETCD_WATCH_COALESCE_MS in seconds (0 if unset). Raises ValueError for a
    value that is no number of milliseconds in [0, 1000]."""
    text = os.environ.get(COALESCE_ENV, "") or "0"
    value = float(text)
    if not 0 <= value <= 1000:
        raise ValueError(f"{COALESCE_ENV}={text!r}: expected 0..1000 milliseconds")
    return value / 1000


class _Status:
    """A gRPC status from trailers, shaped like grpc.aio.AioRpcError for _map_rpc_error."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def status_error(code: int, details: str, what: str, name: str) -> EtcdError:
    """The error grpc.aio would have raised for gRPC status number `code` (not 0) with
    `details`: the same `_map_rpc_error`, so both transports fail alike."""
    status = _Status(_STATUS_CODES.get(code, grpc.StatusCode.UNKNOWN), details)
    return _map_rpc_error(status, what, name)
