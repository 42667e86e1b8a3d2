"""The fan-out alone, stepped: proxy CPU per delivery of ResourceCache.apply -> Dispatcher ->
CacheWatcher -> the wire, writer task vs direct write (decision 0019), with k events per step:

    .venv/bin/python -m bench.fanout_micro [--runs 3] [--events 3000] [--ks 1,3,10]
        [--modes http1,h2] [--line 1800]

In this process: a real uvicorn server with watchproxy's ServingProtocol (HTTP/1.1 plain, or
HTTP/2 over TLS), an ASGI app that runs the real `stream_watch` of api/watches.py behind a
tracked_send-like wrapper, one ResourceCache with 100 "controller" watchers (one namespace) and
50 "kubelet" watchers (spec.nodeName), so each event has 101 deliveries. A child process holds
the connections (one per watch for HTTP/1.1, one connection of 150 streams for HTTP/2), reads
and counts. Each step applies k events and lets the loop run until they are on the wire; steps
are paced at 300/s. No etcd, no ingest: what is left is the fan-out's own CPU, and unlike the
end-to-end runs (bench/fanout_ab.py) the number of events per write is set by k, not by how
far behind a loaded machine makes the proxy fall. Figure: this process's getrusage CPU over
the steps / deliveries. `base` = WATCHPROXY_WATCH_DIRECT=0 semantics (no sink attached).
`--window W` gives the direct watchers a coalescing window of W seconds: with k=1 and steps at
300/s that is the moderate scenario's shape, the window deciding how many events share a write.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import uvicorn

from bench import http2
from watchproxy.api.watches import stream_watch
from watchproxy.core.bookmarks import BookmarkTicker
from watchproxy.core.flush import WATCH_SINK
from watchproxy.core.objects import CachedObject, encode_object
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.etcd.server import free_port
from watchproxy.serving.protocol import ServingProtocol

CONTROLLERS, KUBELETS = 100, 50
NS = "bench"

CLIENT = """
import asyncio, ssl, sys
from bench import http2
port, mode, expected, ca = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
paths = ["/c"] * CONTROLLERS + [f"/k/{k}" for k in range(KUBELETS)]
async def main():
    counters = [http2.Counter() for _ in paths]
    loop = asyncio.get_running_loop()
    if mode == "h2":
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["h2"])
        await loop.create_connection(lambda: http2.H2Watches(paths, counters, lambda: None),
                                     "127.0.0.1", port, ssl=ctx, server_hostname="localhost")
    else:
        for p, c in zip(paths, counters):
            await loop.create_connection(lambda p=p, c=c: http2.Http1Watch(p, c, lambda: None),
                                         "127.0.0.1", port)
    deadline = loop.time() + 120
    while sum(c.count for c in counters) < expected and loop.time() < deadline:
        await asyncio.sleep(0.05)
    print(sum(c.count for c in counters), flush=True)
asyncio.run(main())
""".replace("CONTROLLERS", str(CONTROLLERS)).replace("KUBELETS", str(KUBELETS))


def make_object(j: int, rev: int, size: int) -> CachedObject:
    node = f"node-{j % KUBELETS}"
    pod: dict[str, Any] = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": f"pod-{j:04d}", "namespace": NS, "annotations": {"seq": str(rev)}},
        "spec": {"nodeName": node},
    }
    pad = size - len(encode_object(pod, str(rev))[0]) - 12
    pod["metadata"]["annotations"]["pad"] = "x" * max(pad, 0)
    raw, start, end = encode_object(pod, str(rev))
    fields = {"metadata.namespace": NS, "metadata.name": f"pod-{j:04d}", "spec.nodeName": node}
    return CachedObject(f"{NS}/pod-{j:04d}", NS, f"pod-{j:04d}", rev, raw, start, end, {},
                        fields, node, f"uid-{j}")  # fmt: skip


async def run_once(
    mode: str, direct: bool, k: int, events: int, line: int, tmp: Path, window: float = 0.0
) -> float:
    cache = ResourceCache(shard_count=1, history_size=events + 10, expired_line=lambda m: b"")
    cache.replace(0, [], 1)
    settings = SimpleNamespace(min_request_timeout_seconds=600.0, bookmark_interval_seconds=60.0)
    proxy: Any = SimpleNamespace(settings=settings, bookmarks=BookmarkTicker(60.0))
    opts: Any = SimpleNamespace(timeout_seconds=600)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        node = path[3:] if path.startswith("/k/") else None
        fields = FieldSelector.parse(f"spec.nodeName=node-{node}" if node else "")
        filt = WatchFilter("" if node else NS, "", f"node-{node}" if node else None,
                           LabelSelector.parse(""), fields)  # fmt: skip
        watcher = CacheWatcher(filt=filt, shards=frozenset({0}), merged=False,
                               floor=cache.vector(), encode_token=lambda v, r=None: "",
                               history=cache.history, max_queue=1000,
                               max_queue_bytes=8 << 20, bookmark_line=None)  # fmt: skip
        sink = scope.get("extensions", {}).get(WATCH_SINK)
        if direct and sink is not None:
            watcher.attach_sink(sink, cache.flusher, window)
        cache.watch_now(watcher)
        sent = 0

        async def tracked_send(message: Any) -> None:  # api/app.py's wrapper, in small
            nonlocal sent
            if message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        await stream_watch(proxy, cache, watcher, opts, receive,
                           tracked_send, None)  # fmt: skip

    ca, cert, key = tmp / "ca.crt", tmp / "server.crt", tmp / "server.key"
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="none", http=ServingProtocol,
                            lifespan="off", log_config=None, log_level="error",
                            access_log=False, ssl_certfile=str(cert) if mode == "h2" else None,
                            ssl_keyfile=str(key) if mode == "h2" else None)  # fmt: skip
    if mode == "h2":
        config.load()
        assert config.ssl is not None
        config.ssl.set_alpn_protocols(["h2", "http/1.1"])
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no event for it)
        await asyncio.sleep(0.05)
    expected = events * (CONTROLLERS + 1)
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, str(port), mode, str(expected), str(ca),
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        while cache.dispatcher.count < CONTROLLERS + KUBELETS:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        objects = [make_object(j, 1, line) for j in range(KUBELETS * 2)]
        before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        rev = 1
        for step in range(events // k):
            for _ in range(k):
                rev += 1
                obj = objects[rev % len(objects)]
                cache.apply(0, obj.key, obj, rev)
            for _ in range(3):  # writer tasks / flush pass / h2 flush
                await asyncio.sleep(0)
            delay = t0 + (step + 1) / 300 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.sleep(0.05 + window)
        after = resource.getrusage(resource.RUSAGE_SELF)
        out, _ = await asyncio.wait_for(client.communicate(), 150)
        got = int(out.strip() or 0)
        if got != expected:
            raise RuntimeError(f"client read {got} of {expected} events")
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if direct:
            writes = cache.flusher.writes
            print(f"  direct writes {writes}: {expected / max(writes, 1):.2f} events per write,"
                  f" {cache.flusher.passes} passes", flush=True)  # fmt: skip
        return cpu / expected * 1e6
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
        server.should_exit = True
        for watcher in list(cache.dispatcher.all()):
            cache.stop(watcher)
        await asyncio.wait_for(serving, 10)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_micro", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--ks", default="1,3,10")
    parser.add_argument("--modes", default="http1,h2")
    parser.add_argument("--line", type=int, default=380, help="object bytes per event line")
    parser.add_argument("--variants", default="base,direct")
    parser.add_argument(
        "--window", type=float, default=0.0, help="direct: watch_coalesce_window_seconds"
    )
    args = parser.parse_args()
    import uvloop

    figures: dict[tuple[str, int, str], list[float]] = {}

    async def all_runs() -> None:
        with tempfile.TemporaryDirectory(prefix="fanout-micro-") as tmp:
            http2.make_pki(Path(tmp))
            for run in range(args.runs):
                for mode in args.modes.split(","):
                    for k in (int(x) for x in args.ks.split(",")):
                        for variant in args.variants.split(","):
                            us = await run_once(mode, variant == "direct", k, args.events,
                                                args.line, Path(tmp), args.window)  # fmt: skip
                            figures.setdefault((mode, k, variant), []).append(us)
                            print(f"run {run + 1} {mode:5s} k={k:<3d} {variant:6s} {us:6.2f} us",
                                  flush=True)  # fmt: skip

    uvloop.run(all_runs())
    print(f"\n{args.events} events x 101 deliveries, {args.line} B objects; median (range)")
    print("| server | events per step k | writer task µs | direct µs |")
    print("|---|---|---|---|")
    for mode in args.modes.split(","):
        for k in (int(x) for x in args.ks.split(",")):
            cells = []
            for variant in ("base", "direct"):
                f = figures.get((mode, k, variant), [])
                median = statistics.median(f) if f else 0.0
                cells.append(f"{median:.2f} ({min(f):.2f}-{max(f):.2f})" if f else "-")
            print(f"| {mode} | {k} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
