"""The etcd Watch stream's HTTP/2 client (watchproxy/etcd/h2stream.py) against frames written by
hand: what it sends, how it reassembles gRPC messages, and every way the stream ends."""

from __future__ import annotations

import asyncio
import struct

import hpack
import pytest

from watchproxy.etcd import h2stream, watch_settings
from watchproxy.etcd.errors import EtcdCompacted, EtcdError, EtcdUnavailable
from watchproxy.etcd.h2stream import GrpcStreamProtocol, StreamFailed


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_reading(self) -> bool:
        return not self.paused


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes((kind, flags))
        + struct.pack(">I", stream)
        + payload
    )


def grpc_message(payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(type, flags, stream, payload) of the frames the client wrote, after the preface."""
    assert data.startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    data = data[24:]
    out = []
    while data:
        length = int.from_bytes(data[:3], "big")
        out.append((data[3], data[4], int.from_bytes(data[5:9], "big"), data[9 : 9 + length]))
        data = data[9 + length :]
    return out


class Server:
    """The server side of one connection: its hpack encoder and the client protocol."""

    def __init__(self, keepalive: float = 30.0) -> None:
        self.messages: list[bytes] = []
        self.proto = GrpcStreamProtocol(
            authority="127.0.0.1:2379",
            scheme="http",
            path="/etcdserverpb.Watch/Watch",
            metadata=[("hasleader", "true")],
            first_message=b"create",
            on_message=self.messages.append,
            keepalive=keepalive,
            keepalive_timeout=keepalive,
        )
        self.transport = FakeTransport()
        self.proto.connection_made(self.transport)
        self.encoder = hpack.Encoder()

    def headers(self, headers: list[tuple[str, str]], flags: int = 0x4) -> bytes:
        return frame(1, flags, 1, self.encoder.encode(headers))

    def sent(self) -> list[tuple[int, int, int, bytes]]:
        return frames(bytes(self.transport.written))


async def test_opens_the_stream_with_settings_headers_and_the_first_message() -> None:
    server = Server()
    sent = server.sent()
    kinds = [(k, s) for k, _, s, _ in sent]
    assert kinds == [(4, 0), (8, 0), (1, 1), (0, 1)]  # SETTINGS, WINDOW_UPDATE, HEADERS, DATA
    headers = {
        bytes(k).decode(): bytes(v).decode()
        for k, v in hpack.Decoder().decode(sent[2][3], raw=True)
    }
    assert headers[":path"] == "/etcdserverpb.Watch/Watch"
    assert headers["content-type"] == "application/grpc"
    assert headers["hasleader"] == "true" and headers["te"] == "trailers"
    assert sent[3][3] == grpc_message(b"create") and sent[3][1] == 0  # no END_STREAM
    settings = sent[0][3]
    assert (2, 0) in [struct.unpack(">HI", settings[i : i + 6]) for i in range(0, 12, 6)]


async def test_messages_split_over_frames_and_reads_arrive_whole_and_in_order() -> None:
    server = Server()
    one, two, three = b"a" * 10, b"b" * 40_000, b"c"
    body = grpc_message(one) + grpc_message(two) + grpc_message(three)
    data = server.headers([(":status", "200"), ("content-type", "application/grpc")])
    # DATA frames cut across message boundaries; the last one padded.
    data += frame(0, 0, 1, body[:7]) + frame(0, 0, 1, body[7:20_000])
    padded = bytes([3]) + body[20_000:] + b"\x00\x00\x00"
    data += frame(0, 0x8, 1, padded)
    for i in range(0, len(data), 999):  # and the TCP reads cut anywhere
        server.proto.data_received(data[i : i + 999])
    assert server.messages == [one, two, three]
    assert not server.proto.done.done()


async def test_settings_and_pings_are_acknowledged() -> None:
    server = Server()
    server.transport.written.clear()
    server.proto.data_received(frame(4, 0, 0, struct.pack(">HI", 3, 100)))
    server.proto.data_received(frame(6, 0, 0, b"12345678"))
    sent = frames(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(server.transport.written))
    assert sent == [(4, 1, 0, b""), (6, 1, 0, b"12345678")]


async def test_sends_wait_for_the_peers_window() -> None:
    server = Server()
    # The server shrinks our stream's send window to 10 bytes: a 20-byte message waits.
    server.proto.data_received(frame(4, 0, 0, struct.pack(">HI", 4, 10)))
    server.transport.written.clear()
    server.proto.send_message(b"x" * 15)  # 20 bytes with the gRPC prefix
    assert not server.transport.written
    server.proto.data_received(frame(8, 0, 1, struct.pack(">I", 100)))
    sent = frames(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(server.transport.written))
    assert sent == [(0, 0, 1, grpc_message(b"x" * 15))]


async def test_receive_window_is_credited_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h2stream, "RECEIVE_WINDOW", 100)
    server = Server()
    server.proto.data_received(server.headers([(":status", "200")]))
    server.transport.written.clear()
    server.proto.data_received(frame(0, 0, 1, grpc_message(b"y" * 60)))
    sent = frames(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(server.transport.written))
    assert sent == [(8, 0, 0, struct.pack(">I", 65)), (8, 0, 1, struct.pack(">I", 65))]


@pytest.mark.parametrize(
    ("trailers", "code", "details"),
    [
        ([("grpc-status", "0")], 0, "stream ended (grpc-status 0)"),
        ([("grpc-status", "14"), ("grpc-message", "etcdserver: no leader")], 14, "no leader"),
    ],
)
async def test_trailers_end_the_stream_with_their_status(
    trailers: list[tuple[str, str]], code: int, details: str
) -> None:
    server = Server()
    server.proto.data_received(
        server.headers([(":status", "200")])
        + frame(0, 0, 1, grpc_message(b"m"))
        + server.headers(trailers, flags=0x5)
    )
    assert server.messages == [b"m"]
    exc = server.proto.done.exception()
    assert isinstance(exc, StreamFailed) and exc.code == code and details in exc.details
    assert server.transport.closed


async def test_trailers_only_response_and_continuation() -> None:
    server = Server()
    block = server.encoder.encode(
        [(":status", "200"), ("grpc-status", "11"), ("grpc-message", "compacted")]
    )
    server.proto.data_received(frame(1, 0x1, 1, block[:4]) + frame(9, 0x4, 1, block[4:]))
    exc = server.proto.done.exception()
    assert isinstance(exc, StreamFailed) and exc.code == 11 and exc.details == "compacted"


@pytest.mark.parametrize(
    "data",
    [
        frame(3, 0, 1, struct.pack(">I", 2)),  # RST_STREAM INTERNAL_ERROR
        frame(7, 0, 0, struct.pack(">II", 0, 0) + b"bye"),  # GOAWAY before our stream
        frame(7, 0, 0, struct.pack(">II", 1, 2)),  # GOAWAY with an error
    ],
)
async def test_reset_and_goaway_fail_the_stream(data: bytes) -> None:
    server = Server()
    server.proto.data_received(server.headers([(":status", "200")]) + data)
    exc = server.proto.done.exception()
    assert isinstance(exc, StreamFailed) and exc.code is None


async def test_graceful_goaway_covering_the_stream_keeps_it() -> None:
    server = Server()
    server.proto.data_received(frame(7, 0, 0, struct.pack(">II", 1, 0)))
    server.proto.data_received(server.headers([(":status", "200")]))
    server.proto.data_received(frame(0, 0, 1, grpc_message(b"after")))
    assert server.messages == [b"after"] and not server.proto.done.done()


async def test_http_error_status_and_lost_connection() -> None:
    server = Server()
    server.proto.data_received(server.headers([(":status", "503")]))
    exc = server.proto.done.exception()
    assert isinstance(exc, StreamFailed) and "503" in exc.details
    other = Server()
    other.proto.connection_lost(ConnectionResetError("reset"))
    exc = other.proto.done.exception()
    assert isinstance(exc, StreamFailed) and exc.code is None and "reset" in exc.details


async def test_a_failing_callback_ends_the_stream_with_its_error() -> None:
    server = Server()

    def boom(_: bytes) -> None:
        raise KeyError("bug")

    server.proto._on_message = boom
    server.proto.data_received(server.headers([(":status", "200")]))
    server.proto.data_received(frame(0, 0, 1, grpc_message(b"m")))
    assert isinstance(server.proto.done.exception(), KeyError)
    assert server.transport.closed


async def test_cancel_resets_the_stream_and_closes_the_connection() -> None:
    server = Server()
    server.transport.written.clear()
    server.proto.cancel()
    assert server.proto.done.result() is None
    sent = frames(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(server.transport.written))
    assert sent == [(3, 0, 1, struct.pack(">I", 8))]
    assert server.transport.closed
    server.proto.cancel()  # idempotent


async def test_unanswered_keepalive_gives_the_connection_up() -> None:
    server = Server(keepalive=0.05)
    with pytest.raises(StreamFailed, match="keepalive"):
        await asyncio.wait_for(server.proto.done, 2)
    pings = [f for f in server.sent() if f[0] == 6]
    assert pings and pings[0][1] == 0


async def test_answered_keepalive_keeps_the_connection() -> None:
    server = Server(keepalive=0.05)
    for _ in range(6):
        await asyncio.sleep(0.04)
        server.proto.data_received(frame(6, 1, 0, b"\x00" * 8))  # every ping answered
    assert not server.proto.done.done()
    server.proto.cancel()


async def test_coalescing_pauses_reading_after_each_read_for_the_window() -> None:
    server = Server()
    server.proto._coalesce = 0.05
    server.proto.data_received(server.headers([(":status", "200")]))
    assert not server.transport.is_reading()  # what arrives meanwhile waits in the socket
    await asyncio.sleep(0.1)
    assert server.transport.is_reading()
    server.proto.pause_reading(True)  # a slow consumer's pause outlasts the window
    server.proto.data_received(frame(0, 0, 1, grpc_message(b"m")))
    await asyncio.sleep(0.1)
    assert not server.transport.is_reading() and server.messages == [b"m"]
    server.proto.pause_reading(False)
    assert server.transport.is_reading()
    server.proto.cancel()


def test_transport_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(watch_settings.TRANSPORT_ENV, raising=False)
    monkeypatch.delenv(watch_settings.COALESCE_ENV, raising=False)
    assert watch_settings.default_transport() == "h2"
    assert watch_settings.coalesce_seconds() == 0
    monkeypatch.setenv(watch_settings.TRANSPORT_ENV, "grpc")
    monkeypatch.setenv(watch_settings.COALESCE_ENV, "20")
    assert watch_settings.default_transport() == "grpc"
    assert watch_settings.coalesce_seconds() == 0.02
    monkeypatch.setenv(watch_settings.TRANSPORT_ENV, "quic")
    with pytest.raises(ValueError, match="expected one of"):
        watch_settings.default_transport()
    monkeypatch.setenv(watch_settings.COALESCE_ENV, "-1")
    with pytest.raises(ValueError, match="milliseconds"):
        watch_settings.coalesce_seconds()


def test_trailer_statuses_map_as_grpc_aio_errors_do() -> None:
    def error(code: int, details: str) -> EtcdError:
        return watch_settings.status_error(code, details, "Watch", "a")

    assert isinstance(error(14, "etcdserver: no leader"), EtcdUnavailable)
    assert isinstance(
        error(11, "etcdserver: mvcc: required revision has been compacted"), EtcdCompacted
    )
    plain = error(7, "permission denied")
    assert type(plain) is EtcdError and "PERMISSION_DENIED" in str(plain)
    assert type(error(99, "?")) is EtcdError  # unknown numbers read as UNKNOWN
