"""`run_server`: uvicorn's lifecycle (lifespan, signals, graceful shutdown) with our `http`
protocol class, our SSLContext and the certificate-reload poller (decision 0011)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from watchproxy.auth.settings import ServingTls
from watchproxy.config import ConfigError
from watchproxy.serving.protocol import ServingProtocol
from watchproxy.serving.tls import RELOAD_INTERVAL_SECONDS, ServingContexts


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
    graceful_shutdown_seconds: int = 2,
    reload_interval_seconds: float = RELOAD_INTERVAL_SECONDS,
) -> None:
    """Serve `app` until SIGINT/SIGTERM: TLS (h2 and http/1.1 by ALPN) when `tls` is set,
    plain HTTP/1.1 otherwise."""
    contexts = serving_contexts(tls, client_ca_file) if tls is not None else None
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=ServingProtocol,
        lifespan="on",
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

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            end_watches()  # signal handlers run on the loop's thread
            super().handle_exit(sig, frame)

    Server(config).run(sockets=[reuse_port_socket] if reuse_port_socket is not None else None)
