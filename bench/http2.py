"""Serving cost per watch delivery: uvicorn HTTP/1.1 (plain), our HTTP/1.1 over TLS, our HTTP/2
over TLS (decision 0011). The scenario of shared/reference/http-servers.md, in small:

    .venv/bin/python -m bench.http2 [--runs 3] [--seconds 10] [--rate 300]

Two etcd shards and one `watchproxy serve` process per run. 100 "controller" watches of every
pod of one namespace and 50 "kubelet" watches of it with `fieldSelector=spec.nodeName=node-K`;
a writer puts `--rate` pod updates per second straight into etcd for `--seconds` (pod j on node
j % 50), so each event goes to 101 watches. Every delivery is counted at the client; the figure
is the proxy process's CPU (utime + stime from /proc/PID/stat, from the first write until the
last delivery) divided by the deliveries. Modes:

- `http1-plain`: no `tls:`, 150 TCP connections (uvicorn + httptools, as before this change);
- `http1-tls`: `tls:`, 150 TLS connections, ALPN http/1.1;
- `h2-tls`: `tls:`, ONE TLS connection, ALPN h2, 150 streams (how client-go multiplexes);
- `h2-tls-150`: `tls:`, 150 TLS connections, ALPN h2, one stream each (h2 without batching);
- `h2-tls-lib`: as h2-tls, with every DATA frame sent through h2's `send_data` instead of the
  hand-framed hot path (WATCHPROXY_H2_LIBRARY_DATA=1).

The clients are hand-framed and cheap (the HTTP/2 one parses frame headers only; its windows are
opened to 2^31-1 up front), and run in this process. `--profile` runs the proxy under cProfile
for one h2-tls run and prints the top functions. `--micro` times the serving layer alone,
in this process (no network): H2Protocol.send_data per delivery, hand-framed vs through h2.

Over 400 lines as one module: its hand-framed HTTP/1.1 and HTTP/2 clients, the proxy it starts
and the measurement are one experiment, also run as `python -m bench`'s "serving" stage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from hpack import Encoder

from bench.cluster import exit_on_termination, raise_fd_limit
from bench.h2frames import each_frame, frame
from watchproxy.etcd.client import EtcdClient
from watchproxy.etcd.server import EtcdServer, free_port

NAMESPACE = "ta-bench"
NODES = 50
PODS = 500
TOKEN = b'{"type":"'
MODES = ("http1-plain", "http1-tls", "h2-tls", "h2-tls-150", "h2-tls-lib")
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MAX_WINDOW = 2**31 - 1


# -- PKI ---------------------------------------------------------------------------------------


def make_pki(root: Path) -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key) for 127.0.0.1, made with the openssl command line."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=bench-ca")  # fmt: skip
    (root / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=bench")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-set_serial", "1", "-out", "server.crt", "-days", "2",
            "-extfile", "server.ext")  # fmt: skip
    return root / "ca.crt", root / "server.crt", root / "server.key"


# -- the proxy process ---------------------------------------------------------------------------



@contextlib.contextmanager
def shards_and_pki(prefix: str) -> Iterator[tuple[Path, list[EtcdServer], tuple[Path, Path, Path]]]:
    """A fresh work dir with the two etcd shards started in it and the serving TLS pair
    (make_pki); the shards stopped and the dir removed on the way out."""
    raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    etcd = [EtcdServer(f"shard-{x}", workdir / f"shard-{x}") for x in "ab"]
    try:
        for server in etcd:
            server.data_dir.mkdir(parents=True, exist_ok=True)
            server.start()
        yield workdir, etcd, make_pki(workdir)
    finally:
        for server in etcd:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

class Proxy:
    def __init__(self, workdir: Path, endpoints: list[str], tls: tuple[Path, Path] | None) -> None:
        self.port = free_port()
        config: dict[str, Any] = {
            "listen": f"127.0.0.1:{self.port}",
            "shutdown_delay_seconds": 0,
            "shards": [
                {"name": f"shard-{x}", "endpoints": [e]}
                for x, e in zip("ab", endpoints, strict=True)
            ],
            "tenants": [
                {"name": "ta", "shard": "shard-a", "namespaces": ["ta-*"]},
                {"name": "tb", "shard": "shard-b", "namespaces": ["tb-*"]},
            ],
            "default_shard": "shard-a",
            "controllers": {"namespace": False, "garbage_collector": False},
        }
        if tls is not None:
            config["tls"] = {"cert_file": str(tls[0]), "key_file": str(tls[1])}
        self.config_path = workdir / f"proxy-{self.port}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / f"proxy-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, profile: Path | None = None, env: dict[str, str] | None = None) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        head = [sys.executable]
        if profile is not None:
            # cProfile writes its file on a normal exit: the proxy is stopped with SIGINT.
            script = self.config_path.with_suffix(".py")
            script.write_text("import sys\nfrom watchproxy.cli import main\nsys.exit(main())\n")
            head += ["-m", "cProfile", "-o", str(profile), str(script)]
        else:
            head += ["-m", "watchproxy"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*head, "serve", "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": root, **(env or {})},
            )

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT if self.profiling else signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    profiling = False


# -- HTTP requests of the bench's own setup (plain asyncio, either scheme) ----------------------


async def http_request(
    port: int, ctx: ssl.SSLContext | None, method: str, path: str, body: bytes = b""
) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname="localhost" if ctx else None
    )
    try:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        writer.write(head.encode() + body)
        data = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in headers.lower():
        payload = dechunk(payload)
    return int(status_line.split()[1]), payload


def dechunk(data: bytes) -> bytes:
    out, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end], 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2 : end + 2 + size]
        pos = end + 4 + size


async def wait_ready(proxy: Proxy, ctx: ssl.SSLContext | None, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proxy.proc is not None
        if proxy.proc.poll() is not None:
            raise RuntimeError(f"proxy exited:\n{proxy.log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError, ValueError, IndexError):
            if (await http_request(proxy.port, ctx, "GET", "/readyz"))[0] == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError("proxy not ready")


# -- watch clients -----------------------------------------------------------------------------


class Counter:
    """Counts watch events in a byte stream (by the `{"type":"` each line starts with)."""

    __slots__ = ("count", "tail")

    def __init__(self) -> None:
        self.count = 0
        self.tail = b""

    def feed(self, data: bytes | memoryview) -> None:
        chunk = self.tail + bytes(data)
        self.count += chunk.count(TOKEN)
        self.tail = chunk[-(len(TOKEN) - 1) :]


class Http1Watch(asyncio.Protocol):
    def __init__(self, path: str, counter: Counter, opened: Callable[[], None]) -> None:
        self.path = path
        self.counter = counter
        self.opened = opened
        self.headers_seen = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = f"GET {self.path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"
        transport.write(request.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.headers_seen:
            self.headers_seen = True
            self.opened()
        self.counter.feed(data)


class H2Watches(asyncio.Protocol):
    """One HTTP/2 connection carrying many watch streams; parses frame headers only."""

    def __init__(self, paths: list[str], counters: list[Counter], opened: Callable[[], None]):
        self.paths = paths
        self.by_stream = {2 * i + 1: c for i, c in enumerate(counters)}
        self.opened = opened
        self.buffer = bytearray()
        self.headers = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        settings = struct.pack(">HI", 0x2, 0) + struct.pack(">HI", 0x4, MAX_WINDOW)
        out = [H2_PREFACE, frame(0x4, 0, 0, settings)]
        out.append(frame(0x8, 0, 0, struct.pack(">I", MAX_WINDOW - 65535)))
        encoder = Encoder()
        for i, path in enumerate(self.paths):
            block = encoder.encode(
                [
                    (b":method", b"GET"),
                    (b":scheme", b"https"),
                    (b":authority", b"localhost"),
                    (b":path", path.encode()),
                    (b"accept", b"application/json"),
                ]
            )
            out.append(frame(0x1, 0x4 | 0x1, 2 * i + 1, block))  # END_HEADERS | END_STREAM
        transport.write(b"".join(out))  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        each_frame(self.buffer, self._on_frame)

    def _on_frame(self, kind: int, flags: int, sid: int, body: memoryview) -> None:
        if kind == 0x0:
            self.by_stream[sid].feed(body)
        elif kind == 0x1:
            self.headers += 1
            self.opened()
        elif kind == 0x4 and not flags & 0x1:
            self.write(frame(0x4, 0x1, 0, b""))
        elif kind == 0x6 and not flags & 0x1:
            self.write(frame(0x6, 0x1, 0, bytes(body)))
        elif kind in (0x3, 0x7):
            raise RuntimeError(f"frame type {kind} (RST_STREAM/GOAWAY) on stream {sid}")

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


# -- one run -------------------------------------------------------------------------------------


def pod_key(j: int) -> bytes:
    return f"/registry/pods/{NAMESPACE}/pod-{j:04d}".encode()


def pod_value(j: int, seq: int) -> bytes:
    return orjson.dumps(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": f"pod-{j:04d}",
                "namespace": NAMESPACE,
                "uid": f"00000000-0000-4000-9000-{j:012d}",
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "bench"},
                "annotations": {"bench/seq": str(seq)},
            },
            "spec": {
                "nodeName": f"node-{j % NODES}",
                "containers": [{"name": "app", "image": "registry.example/app:1.0"}],
            },
            "status": {"phase": "Running", "podIP": f"10.1.{j // 250}.{j % 250}"},
        }
    )


@dataclass
class Result:
    mode: str
    deliveries: int
    expected: int
    cpu_us_per_delivery: float
    seconds: float
    serving: dict[str, int]


async def run_once(
    mode: str,
    etcd: list[EtcdServer],
    workdir: Path,
    pki: tuple[Path, Path, Path],
    args: argparse.Namespace,
    profile: Path | None = None,
) -> Result:
    tls = mode != "http1-plain"
    proxy = Proxy(workdir, [e.endpoint for e in etcd], (pki[1], pki[2]) if tls else None)
    proxy.profiling = profile is not None
    setup_ctx: ssl.SSLContext | None = None
    if tls:
        setup_ctx = ssl.create_default_context(cafile=str(pki[0]))
        setup_ctx.set_alpn_protocols(["http/1.1"])
    proxy.start(profile, {"WATCHPROXY_H2_LIBRARY_DATA": "1"} if mode == "h2-tls-lib" else None)
    client = EtcdClient([etcd[0].endpoint], name="bench")
    transports: list[asyncio.BaseTransport] = []
    try:
        await wait_ready(proxy, setup_ctx)
        ns = orjson.dumps({"metadata": {"name": NAMESPACE}})
        status, _ = await http_request(proxy.port, setup_ctx, "POST", "/api/v1/namespaces", ns)
        assert status in (201, 409), status
        for j in range(PODS):
            await client.put(pod_key(j), pod_value(j, 0))
        status, body = await http_request(
            proxy.port, setup_ctx, "GET", f"/api/v1/namespaces/{NAMESPACE}/pods"
        )
        assert status == 200, body[:300]
        listed = orjson.loads(body)
        assert len(listed["items"]) == PODS, len(listed["items"])
        rv = listed["metadata"]["resourceVersion"]

        base = f"/api/v1/namespaces/{NAMESPACE}/pods?watch=1&resourceVersion={rv}"
        paths = [base] * args.controllers
        paths += [f"{base}&fieldSelector=spec.nodeName%3Dnode-{k}" for k in range(NODES)]
        counters = [Counter() for _ in paths]
        opened = 0
        all_open = asyncio.Event()

        def on_open() -> None:
            nonlocal opened
            opened += 1
            if opened == len(paths):
                all_open.set()

        loop = asyncio.get_running_loop()
        if mode in ("h2-tls", "h2-tls-lib"):
            ctx = ssl.create_default_context(cafile=str(pki[0]))
            ctx.set_alpn_protocols(["h2"])
            transport, _ = await loop.create_connection(
                lambda: H2Watches(paths, counters, on_open),
                "127.0.0.1", proxy.port, ssl=ctx, server_hostname="localhost",
            )  # fmt: skip
            assert transport.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
            transports.append(transport)
        else:
            for path, counter in zip(paths, counters, strict=True):
                ctx = None
                if tls:
                    ctx = ssl.create_default_context(cafile=str(pki[0]))
                    ctx.set_alpn_protocols(["h2" if mode == "h2-tls-150" else "http/1.1"])

                def factory(path: str = path, counter: Counter = counter) -> asyncio.Protocol:
                    if mode == "h2-tls-150":
                        return H2Watches([path], [counter], on_open)
                    return Http1Watch(path, counter, on_open)

                transport, _ = await loop.create_connection(
                    factory, "127.0.0.1", proxy.port, ssl=ctx,
                    server_hostname="localhost" if ctx else None,
                )  # fmt: skip
                transports.append(transport)
        await asyncio.wait_for(all_open.wait(), 30)
        await asyncio.sleep(1.0)  # every watch registered and idle

        events = int(args.rate * args.seconds)
        expected = events * (args.controllers + 1)
        cpu0 = proxy.cpu_seconds()
        t0 = time.monotonic()
        for seq in range(1, events + 1):
            j = seq % PODS
            await client.put(pod_key(j), pod_value(j, seq))
            delay = t0 + seq / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        deadline = time.monotonic() + 30
        while True:
            if sum(c.count for c in counters) >= expected or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - t0
        cpu = proxy.cpu_seconds() - cpu0
        delivered = sum(c.count for c in counters)
        status, body = await http_request(proxy.port, setup_ctx, "GET", "/debug/stats")
        serving: dict[str, int] = orjson.loads(body).get("serving", {})
        return Result(mode, delivered, expected, cpu / max(delivered, 1) * 1e6, elapsed, serving)
    finally:
        for each in transports:
            each.close()
        await client.close()
        proxy.stop()


async def measure(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Every mode of `args.modes`, `args.runs` times each (interleaved), on two fresh etcd
    shards: {"modes": {mode: {cpu_us_per_delivery (median), range, runs, delivered,
    expected, complete}}, "rate", "seconds", "controllers", "kubelets"}. Also what
    `python -m bench` runs as its "serving" stage."""
    results: dict[str, list[Result]] = {m: [] for m in args.modes}
    with shards_and_pki("bench-http2-") as (workdir, etcd, pki):
        for run in range(args.runs):
            for mode in args.modes:
                result = await run_once(mode, etcd, workdir, pki, args)
                results[mode].append(result)
                log(
                    f"run {run + 1} {mode:11s} {result.cpu_us_per_delivery:6.2f} us/delivery"
                    f"  delivered {result.deliveries}/{result.expected}"
                    f"  in {result.seconds:.1f} s  serving={compact(result.serving)}"
                )
    modes: dict[str, Any] = {}
    for mode, runs in results.items():
        figures = [r.cpu_us_per_delivery for r in runs]
        modes[mode] = {
            "cpu_us_per_delivery": statistics.median(figures),
            "range": [min(figures), max(figures)],
            "runs": len(runs),
            "delivered": sum(r.deliveries for r in runs),
            "expected": sum(r.expected for r in runs),
            "complete": all(r.deliveries == r.expected for r in runs),
        }
    return {
        "modes": modes,
        "rate": args.rate,
        "seconds": args.seconds,
        "controllers": args.controllers,
        "kubelets": NODES,
    }


async def main_async(args: argparse.Namespace) -> int:
    if args.profile:
        with shards_and_pki("bench-http2-") as (workdir, etcd, pki):
            out = workdir / "proxy.prof"
            result = await run_once("h2-tls", etcd, workdir, pki, args, profile=out)
            print_profile(out, result)
        return 0
    measured = await measure(args, lambda line: print(line, flush=True))
    print()
    print(
        f"{args.rate:g} events/s x {args.seconds:g} s, {args.controllers} controller +"
        f" {NODES} kubelet watches ({args.controllers + 1} deliveries per event);"
        f" {args.runs} run{'s' if args.runs != 1 else ''}, median (range)"
    )
    print("| mode | µs CPU / delivery | all delivered |")
    print("|---|---|---|")
    for mode, m in measured["modes"].items():
        low, high = m["range"]
        print(
            f"| {mode} | {m['cpu_us_per_delivery']:.1f} ({low:.1f}-{high:.1f})"
            f" | {'yes' if m['complete'] else 'NO'} |"
        )
    return 0


def compact(serving: dict[str, int]) -> str:
    keys = ("connections_total_h2_tls", "connections_total_http1_tls",
            "connections_total_http1_plain", "h2_flow_control_waits")  # fmt: skip
    return ",".join(f"{k.removeprefix('connections_total_')}:{serving.get(k, 0)}" for k in keys)


def print_profile(path: Path, result: Result) -> None:
    import pstats

    print(f"h2-tls under cProfile: {result.cpu_us_per_delivery:.1f} us/delivery "
          f"({result.deliveries}/{result.expected} delivered)")  # fmt: skip
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(30)


def micro(streams: int = 150, events: int = 2000, line: int = 400) -> None:
    """H2Protocol.send_data per delivery with a null transport: `events` rounds of one
    `line`-byte chunk to each of `streams` streams of one connection, one flush per round."""
    import h2.config
    import h2.connection
    import h2.settings
    import uvicorn
    from uvicorn.server import ServerState

    from watchproxy.serving import h2 as serving_h2

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.Event().wait()

    class NullTransport(asyncio.Transport):
        def write(self, data: Any) -> None:
            pass

        def is_closing(self) -> bool:
            return False

        def close(self) -> None:
            pass

        def get_extra_info(self, name: str, default: Any = None) -> Any:
            return default

    async def run(hand_framed: bool) -> float:
        serving_h2.hand_framed_data = hand_framed
        config = uvicorn.Config(app, lifespan="off", proxy_headers=False, access_log=False)
        config.load()
        state = ServerState()
        protocol = serving_h2.H2Protocol(config, state, {}, asyncio.get_running_loop())
        protocol.connection_made(NullTransport())
        client = h2.connection.H2Connection(h2.config.H2Configuration(header_encoding=None))
        client.initiate_connection()
        client.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: MAX_WINDOW})
        client.increment_flow_control_window(MAX_WINDOW - 65535)
        for _ in range(streams):
            client.send_headers(
                client.get_next_available_stream_id(),
                [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"),
                 (b":authority", b"x")],
                end_stream=True,
            )  # fmt: skip
        protocol.data_received(client.data_to_send())
        await asyncio.sleep(0.01)
        protocol.data_received(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00")  # SETTINGS ACK
        await asyncio.sleep(0.01)
        chunk = b"x" * line
        targets = list(protocol.streams.values())
        started = time.perf_counter()
        for _ in range(events):
            for stream in targets:
                coroutine = protocol.send_data(stream, chunk, False)
                try:
                    coroutine.send(None)
                except StopIteration:
                    pass
                else:
                    raise RuntimeError("send_data waited")
            protocol._flush()
        elapsed = time.perf_counter() - started
        for task in list(state.tasks):
            task.cancel()
        await asyncio.sleep(0)
        return elapsed / (events * streams) * 1e6

    async def both() -> None:
        for hand_framed in (True, False, True, False):
            figure = await run(hand_framed)
            name = "hand-framed" if hand_framed else "h2 send_data"
            print(f"{name:12s} {figure:5.2f} us per delivery (serving layer, null transport)")
        serving_h2.hand_framed_data = True

    asyncio.run(both())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http2", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument("--controllers", type=int, default=100)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--profile", action="store_true", help="one h2-tls run under cProfile")
    parser.add_argument("--micro", action="store_true", help="the serving layer alone, in-process")
    args = parser.parse_args()
    if args.micro:
        micro()
        return 0
    exit_on_termination()
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
