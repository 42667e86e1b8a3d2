"""Connections to one etcd cluster: endpoint parsing, the gRPC channel options kube-apiserver's etcd
client uses (message sizes, keepalive, reconnect backoff), TLS credentials, and `_EtcdChannels`:
the lazily created channel per member endpoint, failover and the retried, timed unary call.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlsplit

import grpc
import grpc.aio

from watchproxy.etcd.errors import EtcdError, EtcdUnavailable, _map_rpc_error
from watchproxy.etcd.protos import rpc_pb2_grpc
from watchproxy.etcd.timings import RequestTimings

# The client's logger name, kept from before the split (log configuration refers to it).
log = logging.getLogger("watchproxy.etcd.client")

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


def _task_is_cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@dataclass(slots=True)
class _Connection:
    channel: Any
    kv: Any
    watch: Any
    maintenance: Any


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


def _read_file(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as fh:
        return fh.read()


class _EtcdChannels(_ClosesOnExit):
    """The gRPC channels to the members of one etcd cluster and the failover between them: one
    channel per endpoint, created lazily; calls go to the active endpoint, and one that reports
    itself unavailable makes the next one active. `_unary` retries idempotent calls once per
    endpoint and times every call into `timings`. EtcdClient (the KV calls) and EtcdWatch build
    on it."""

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
        # The same files as an ssl.SSLContext, for the Watch stream's own HTTP/2 connection
        # (etcd/h2stream.py); made on first use.
        self._tls_files = (ca_file, cert_file, key_file) if secure else None
        self._ssl: ssl.SSLContext | None = None
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
        # Open watches (EtcdWatch), closed with the client.
        self._watches: weakref.WeakSet[_ClosesOnExit] = weakref.WeakSet()
        self.timings = RequestTimings()

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

    def _ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of https:// endpoints (None for http://): the CA file's roots (the
        system's without one), the client certificate if given, ALPN "h2" as gRPC requires.
        Raises OSError/ssl.SSLError for unreadable or bad files."""
        if self._tls_files is None:
            return None
        if self._ssl is None:
            ca_file, cert_file, key_file = self._tls_files
            context = ssl.create_default_context(cafile=ca_file)
            if cert_file is not None:
                context.load_cert_chain(cert_file, key_file)
            context.set_alpn_protocols(["h2"])
            self._ssl = context
        return self._ssl

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
