"""The floor under a big LIST on this machine: a bare uvloop server -- no proxy, no encoding,
nothing but pre-built 256 KiB chunks written to the socket with a Content-Length -- sending a
body of the size of a 50,000-pod LIST to the client the LIST timings use
(bench/list_timing.py http_fetch). Decision 0021 compares the LIST target with it:

    .venv/bin/python -m bench.list_floor [--mb 90] [--repeats 7]

The server runs in its own process, as the proxy does; wall time per fetch, median and range.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.connection as mpc
import socket
import statistics
import sys

import uvloop

from bench.list_timing import http_fetch

CHUNK = 256 << 10


class _Body(asyncio.Protocol):
    """Answers the first request head with the whole body, then closes."""

    def __init__(self, head: bytes, chunks: list[bytes]) -> None:
        self.head, self.chunks, self.seen = head, chunks, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.seen += data
        if b"\r\n\r\n" in self.seen and self.transport is not None:
            self.seen = b""
            self.transport.write(self.head)
            self.transport.writelines(self.chunks)
            self.transport.close()


def _serve(size: int, conn: mpc.Connection) -> None:
    chunks = [b"x" * CHUNK] * (size // CHUNK) + [b"x" * (size % CHUNK)]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size

    async def main() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = await asyncio.get_running_loop().create_server(
            lambda: _Body(head, chunks), sock=sock
        )
        conn.send(sock.getsockname()[1])
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
        server.close()

    uvloop.run(main())


async def fetch_times(port: int, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        status, body, seconds = await http_fetch(port, "/")
        if status != 200:
            raise RuntimeError(f"bare server answered {status}")
        times.append(seconds)
        del body
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.list_floor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--mb", type=float, default=90.0, help="body size in MB (10^6 bytes)")
    parser.add_argument("--repeats", type=int, default=7, help="fetches (at least 1)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or not 0 < args.mb <= 4000:
        parser.error("--repeats must be at least 1 and --mb between 0 and 4000")
    size = int(args.mb * 1e6)
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(size, theirs), daemon=True)
    server.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the bare server did not start")
        port = ours.recv()
        times = uvloop.run(fetch_times(port, args.repeats))
    finally:
        ours.send("stop")
        server.join(10)
        if server.is_alive():
            server.kill()
    ms = sorted(t * 1000 for t in times)
    print(
        f"bare uvloop server, {args.mb:g} MB body, {args.repeats} fetches: median "
        f"{statistics.median(ms):.0f} ms (range {ms[0]:.0f}-{ms[-1]:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
