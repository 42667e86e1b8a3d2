"""A real listening socket served by `ServingProtocol` (uvicorn's ServerState and Config, no
uvicorn Server), and a raw HTTP/2 client on the `h2` library whose flow control the test
controls stream by stream."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings
import uvicorn
from uvicorn.server import ServerState

from watchproxy.serving.protocol import ServingProtocol

App = Callable[..., Any]


@dataclass
class Served:
    port: int
    state: ServerState
    server: asyncio.Server

    def shutdown_connections(self) -> None:
        """What uvicorn's Server.shutdown does to every connection."""
        for connection in list(self.state.connections):
            connection.shutdown()


@contextlib.asynccontextmanager
async def serve(
    app: App,
    ssl_context: ssl.SSLContext | None,
    *,
    h2_options: Mapping[str, int] | None = None,
    keep_alive: int = 30,
    limits: Mapping[str, float] | None = None,
) -> AsyncIterator[Served]:
    """`limits`: ServingProtocol's connection-hygiene class attributes (max_header_bytes, ...)."""
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        timeout_keep_alive=keep_alive,
    )
    config.load()
    state = ServerState()
    loop = asyncio.get_running_loop()
    protocol_class = type(
        "TestServingProtocol",
        (ServingProtocol,),
        {"h2_options": dict(h2_options or {}), **(limits or {})},
    )

    def factory() -> asyncio.Protocol:
        return protocol_class(config=config, server_state=state, app_state={}, _loop=loop)  # type: ignore[no-any-return]

    server = await loop.create_server(factory, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield Served(port, state, server)
    finally:
        server.close()
        for connection in list(state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.close()
        for task in list(state.tasks):
            task.cancel()
        await asyncio.sleep(0.05)


@dataclass
class StreamState:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    reset_code: int | None = None

    @property
    def status(self) -> int:
        return int(dict(self.headers)[b":status"])


class RawH2Client:
    """HTTP/2 client over TLS (ALPN h2). Received data is acknowledged per stream unless the
    stream is in `stalled`: then only the connection window is given back, so the server sees
    that one stream's window stay at zero while the others flow."""

    def __init__(self, initial_window: int = 65535) -> None:
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.initial_window = initial_window
        self.streams: dict[int, StreamState] = {}
        self.stalled: set[int] = set()
        self.terminated: h2.events.ConnectionTerminated | None = None
        self.remote_settings: dict[int, int] = {}
        self.closed = asyncio.Event()
        self.changed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, port: int, ctx: ssl.SSLContext) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
        )
        ssl_object = self._writer.get_extra_info("ssl_object")
        assert ssl_object.selected_alpn_protocol() == "h2"
        self.conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: self.initial_window},
        )
        self.conn.initiate_connection()
        self.flush()
        self._task = asyncio.create_task(self._read())

    def write_raw(self, data: bytes) -> None:
        self.flush()
        assert self._writer is not None
        self._writer.write(data)

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and self._writer is not None and not self._writer.is_closing():
            self._writer.write(data)

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while data := await self._reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._on(event)
                self.flush()
                self.changed.set()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            self.closed.set()
            self.changed.set()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            self.streams[event.stream_id].headers = list(event.headers or [])
        elif isinstance(event, h2.events.DataReceived):
            sid = event.stream_id
            assert sid is not None
            self.streams[sid].data += event.data or b""
            length = event.flow_controlled_length or 0
            if sid in self.stalled:
                if length:
                    self.conn.increment_flow_control_window(length)
            else:
                self.conn.acknowledge_received_data(length, sid)
        elif isinstance(event, h2.events.StreamEnded):
            self.streams[event.stream_id].ended = True  # type: ignore[index]
        elif isinstance(event, h2.events.StreamReset):
            self.streams[event.stream_id].reset_code = int(event.error_code or 0)  # type: ignore[index]
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.remote_settings[int(code)] = change.new_value
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.terminated = event

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes | None = None,
    ) -> int:
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = StreamState()
        pseudo = [
            (b":method", method.encode()),
            (b":path", path.encode()),
            (b":scheme", b"https"),
            (b":authority", b"localhost"),
        ]
        self.conn.send_headers(sid, pseudo + (headers or []), end_stream=body is None)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=True)
        self.flush()
        return sid

    def release(self, sid: int) -> None:
        """Stop stalling `sid`: open its window by everything received so far."""
        self.stalled.discard(sid)
        received = len(self.streams[sid].data)
        if received:
            self.conn.increment_flow_control_window(received, stream_id=sid)
            self.flush()

    async def wait(self, predicate: Callable[[], bool], bound: float = 10.0) -> None:
        async with asyncio.timeout(bound):
            while not predicate():
                self.changed.clear()
                if predicate():
                    return
                await self.changed.wait()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def eventually(predicate: Callable[[], bool], what: str, bound: float = 5.0) -> None:
    """Poll `predicate` (a hang guard, not a timing assertion)."""
    try:
        async with asyncio.timeout(bound):
            while True:
                if predicate():
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"not reached: {what}") from None
