"""Per-delivery proxy CPU and latency of the watch fan-out, writer task vs direct write
(decision 0019), over HTTP/1.1 and HTTP/2 + TLS, in one run:

    .venv/bin/python -m bench.fanout_ab [--runs 3] [--seconds 10] [--rate 300]
        [--variants base,w0,w5,w10,w20] [--modes http1-plain,h2-tls]

The scenario and the clients are bench/http2.py's (two etcd shards, one `watchproxy serve`,
100 controller + 50 kubelet watches, `--rate` pod writes/s straight into etcd, 101 deliveries
per event). Variants: `base` = every event through the writer task (WATCHPROXY_WATCH_DIRECT=0,
the code before decision 0019); `wN` = direct writes with a coalescing window of N ms
(`watch_coalesce_window_seconds`). Runs are interleaved (variant inside mode inside run), so
the machine's load shifts every variant alike. Figures: the proxy process's CPU (utime+stime)
per delivery, and the p50/p99 delivery latency measured at the client from a wall-clock stamp
the writer puts in each pod (write to etcd -> line read by the client).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
from typing import Any

import orjson

from bench import http2

STAMP = re.compile(rb'"bench/ts":"([0-9.]+)"')
LATENCIES: list[float] = []


def stamped_pod(j: int, seq: int) -> bytes:
    """bench/http2.py's pod, annotated with the wall-clock time of its write."""
    pod = orjson.loads(ORIGINAL_POD(j, seq))
    pod["metadata"]["annotations"]["bench/ts"] = f"{time.time():.6f}"
    return orjson.dumps(pod)


class TimingCounter(http2.Counter):
    """Counts events as bench/http2.py does, and records each one's latency in LATENCIES."""

    __slots__ = ("rest",)

    def __init__(self) -> None:
        super().__init__()
        self.rest = b""

    def feed(self, data: bytes | memoryview) -> None:
        super().feed(data)
        now = time.time()
        buf = self.rest + bytes(data)
        end = 0
        for match in STAMP.finditer(buf):
            LATENCIES.append(now - float(match.group(1)))
            end = match.end()
        self.rest = buf[end:][-64:]


def windowed_proxy(window: float | None) -> type[http2.Proxy]:
    class WindowedProxy(http2.Proxy):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if window is not None:
                import yaml

                config = yaml.safe_load(self.config_path.read_text())
                config["watch_coalesce_window_seconds"] = window
                self.config_path.write_text(yaml.safe_dump(config))

    return WindowedProxy


ORIGINAL_POD = http2.pod_value
ORIGINAL_PROXY = http2.Proxy
ORIGINAL_COUNTER = http2.Counter


def variant_setup(name: str) -> None:
    """Point bench/http2.py's proxy at variant `name` (base, or wN: direct, N ms window)."""
    if name == "base":
        os.environ["WATCHPROXY_WATCH_DIRECT"] = "0"
        http2.Proxy = windowed_proxy(None)  # type: ignore[misc]
    else:
        os.environ["WATCHPROXY_WATCH_DIRECT"] = "1"
        http2.Proxy = windowed_proxy(float(name[1:]) / 1000)  # type: ignore[misc]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    http2.pod_value = stamped_pod
    http2.Counter = TimingCounter  # type: ignore[misc]
    rows: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        with http2.shards_and_pki("bench-fanout-") as (workdir, etcd, pki):
            for run in range(args.runs):
                for mode in args.modes:
                    for variant in args.variants:
                        variant_setup(variant)
                        LATENCIES.clear()
                        r = await http2.run_once(mode, etcd, workdir, pki, args)
                        lat = sorted(LATENCIES)
                        row = {
                            "us": r.cpu_us_per_delivery,
                            "p50": lat[len(lat) // 2] * 1e3 if lat else float("nan"),
                            "p99": lat[int(len(lat) * 0.99)] * 1e3 if lat else float("nan"),
                            "complete": float(r.deliveries == r.expected),
                        }
                        rows.setdefault((mode, variant), []).append(row)
                        print(
                            f"run {run + 1} {mode:11s} {variant:5s} {row['us']:6.2f} us/delivery"
                            f"  p50 {row['p50']:6.1f} p99 {row['p99']:6.1f} ms"
                            f"  delivered {r.deliveries}/{r.expected}",
                            flush=True,
                        )
    finally:
        http2.pod_value = ORIGINAL_POD
        http2.Proxy = ORIGINAL_PROXY  # type: ignore[misc]
        http2.Counter = ORIGINAL_COUNTER  # type: ignore[misc]
    out: dict[str, Any] = {}
    for (mode, variant), runs in rows.items():
        out[f"{mode} {variant}"] = {
            key: statistics.median(r[key] for r in runs) for key in ("us", "p50", "p99")
        } | {
            "range": [min(r["us"] for r in runs), max(r["us"] for r in runs)],
            "complete": all(r["complete"] for r in runs),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_ab", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--controllers", type=int, default=100)
    parser.add_argument("--variants", default="base,w0,w5,w10,w20")
    parser.add_argument("--modes", default="http1-plain,h2-tls")
    args = parser.parse_args()
    args.variants = args.variants.split(",")
    args.modes = args.modes.split(",")
    result = asyncio.run(measure(args))
    runs = f"{args.runs} run" + ("s" if args.runs != 1 else "")
    print(f"\n{args.rate:g} events/s x {args.seconds:g} s, {runs}: median (range)")
    print("| mode | variant | µs CPU / delivery | p50 ms | p99 ms | all delivered |")
    print("|---|---|---|---|---|---|")
    for key, m in result.items():
        mode, variant = key.split()
        low, high = m["range"]
        print(
            f"| {mode} | {variant} | {m['us']:.2f} ({low:.2f}-{high:.2f}) | {m['p50']:.1f}"
            f" | {m['p99']:.1f} | {'yes' if m['complete'] else 'NO'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
