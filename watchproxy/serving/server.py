"""`run_server`: uvicorn's lifecycle (lifespan, signals, graceful shutdown) with our `http`
protocol class, our SSLContext and the certificate-reload poller (decision 0011)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
import time
from collections.abc import Callable, Generator
from types import FrameType
from typing import Any

import uvicorn

from watchproxy.auth.settings import ServingTls
from watchproxy.config import ConfigError
from watchproxy.serving import protocol
from watchproxy.serving.protocol import ServingProtocol
from watchproxy.serving.tls import RELOAD_INTERVAL_SECONDS, ServingContexts

log = logging.getLogger("watchproxy.serving")


def serving_contexts(tls: ServingTls, client_ca_file: str | None) -> ServingContexts:
    """The contexts for `tls`; a file that cannot be loaded is a one-line ConfigError."""
    try:
        return ServingContexts(tls.cert_file, tls.key_file, client_ca_file)
    except (OSError, ssl.SSLError) as exc:
        files = ", ".join(f for f in (tls.cert_file, tls.key_file, client_ca_file) if f)
        raise ConfigError(f"tls: cannot load {files}: {exc}") from exc


def run_server(
    app: Any,
    *,
    host: str,
    port: int,
    tls: ServingTls | None,
    client_ca_file: str | None,
    keep_alive_seconds: float,
    reuse_port_socket: socket.socket | None,
    end_watches: Callable[[], None],
    begin_shutdown: Callable[[], None] = lambda: None,
    shutdown_delay_seconds: float = 0.0,
    graceful_shutdown_seconds: int = 2,
    reload_interval_seconds: float = RELOAD_INTERVAL_SECONDS,
    max_header_bytes: int = protocol.DEFAULT_MAX_HEADER_BYTES,
    max_header_count: int = protocol.DEFAULT_MAX_HEADER_COUNT,
    header_read_timeout_seconds: float = protocol.DEFAULT_HEADER_READ_TIMEOUT_SECONDS,
    max_connections: int = protocol.DEFAULT_MAX_CONNECTIONS,
) -> None:
    """Serve `app` until SIGINT/SIGTERM/SIGHUP: TLS (h2 and http/1.1 by ALPN) when `tls` is set,
    plain HTTP/1.1 otherwise.

    A stop signal calls `begin_shutdown` at once (/readyz fails), keeps the listener open for
    `shutdown_delay_seconds` (load balancers see the failing probe and send new clients
    elsewhere), then ends every watch (`end_watches`: a last bookmark where asked) and lets
    uvicorn close the listener and wait up to `graceful_shutdown_seconds` for in-flight
    requests. A second signal skips what is left of the delay. Returns normally (exit 0): the
    signal is not re-raised as uvicorn does by default.

    Connection hygiene (`ServingProtocol`): request headers over `max_header_bytes` (also the
    HTTP/2 header list limit) or `max_header_count` fields get 431, HTTP/1.1 headers not
    complete within `header_read_timeout_seconds` get 408, and a connection beyond
    `max_connections` open ones is refused cleanly (503 / GOAWAY)."""
    contexts = serving_contexts(tls, client_ca_file) if tls is not None else None
    protocol_class = type(
        "ConfiguredServingProtocol",
        (ServingProtocol,),
        {
            "max_header_bytes": max_header_bytes,
            "max_header_count": max_header_count,
            "header_read_timeout_seconds": header_read_timeout_seconds,
            "max_connections": max_connections,
        },
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=protocol_class,
        lifespan="on",
        # No logging config of uvicorn's own: its records propagate to the one handler
        # observe/logs.py installs (text or JSON), and its access log stays off (observe/logs.py
        # AccessLog writes one line per request instead).
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown_seconds,
        # Clients and load balancers keep idle connections for a minute or more; closing after
        # uvicorn's default 5 s races their next request (a PATCH cannot be retried safely).
        timeout_keep_alive=int(keep_alive_seconds),
        ssl_context_factory=(lambda _config, _default: contexts.listener) if contexts else None,
    )

    class Server(uvicorn.Server):
        reloader: asyncio.Task[None] | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if contexts is not None and self.started:
                self.reloader = asyncio.create_task(contexts.watch(reload_interval_seconds))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if self.reloader is not None:
                self.reloader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.reloader
            await super().shutdown(sockets=sockets)

        stop_at: float | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            # uvicorn's capture, plus SIGHUP (a closed terminal, a supervisor), whose default
            # action would end the process without any shutdown; and no re-raise afterwards.
            previous = signal.signal(signal.SIGHUP, self.handle_exit)
            try:
                with super().capture_signals():
                    yield
                    self._captured_signals.clear()
            finally:
                signal.signal(signal.SIGHUP, previous)

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Runs on the loop's thread between two bytecodes: only flags here; on_tick acts.
            if self.stop_at is None:
                begin_shutdown()
                self.stop_at = time.monotonic() + shutdown_delay_seconds
                if shutdown_delay_seconds > 0:
                    log.warning(
                        "signal %d: /readyz fails now; closing the listener in %gs",
                        sig,
                        shutdown_delay_seconds,
                    )
            else:
                self.stop_at = 0.0  # a second signal: stop now
                if self.should_exit and sig == signal.SIGINT:
                    self.force_exit = True

        async def on_tick(self, counter: int) -> bool:
            if (
                self.stop_at is not None
                and not self.should_exit
                and (time.monotonic() >= self.stop_at)
            ):
                end_watches()
                self.should_exit = True
            return await super().on_tick(counter)

    Server(config).run(sockets=[reuse_port_socket] if reuse_port_socket is not None else None)
