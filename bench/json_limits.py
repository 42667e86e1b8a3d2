"""What kube's decoding limits cost on a request body (core/json_limits.py), as a ratio against
plain `orjson.loads` of the same bytes in the same run.

    .venv/bin/python -m bench.json_limits [--repeat 7]

Bodies: a small pod; a pod with 8 containers x 40 env vars (341 JSON containers, so the depth
check cannot be skipped by size); the same with nanosecond timestamps in annotations (19-digit
runs inside strings); a ~1 MB ConfigMap. Prints the best time of `--repeat` runs per body. No
network, no etcd.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from watchproxy.core.json_limits import loads


def bodies() -> dict[str, bytes]:
    containers = [
        {
            "name": f"c{i}",
            "image": "x",
            "env": [{"name": f"E{j}", "value": "v" * 10} for j in range(40)],
        }
        for i in range(8)
    ]
    big_pod: dict[str, Any] = {"metadata": {"name": "p"}, "spec": {"containers": containers}}
    stamped = {
        **big_pod,
        "metadata": {
            "name": "p",
            "annotations": {f"t{i}": f"1732950000{i:09d}" for i in range(20)},
        },
    }
    return {
        "small pod": orjson.dumps({"metadata": {"name": "p"}, "spec": {"containers": [{}]}}),
        "pod, 8 x 40 env": orjson.dumps(big_pod),
        "same + ns timestamps": orjson.dumps(stamped),
        "1 MB ConfigMap": orjson.dumps(
            {"metadata": {"name": "c"}, "data": {f"k{i}": "x" * 1000 for i in range(1000)}}
        ),
    }


def best_us(fn: Callable[[bytes], object], body: bytes, repeat: int) -> float:
    number = max(1, 20_000 // max(1, len(body) // 100))
    return min(timeit.repeat(lambda: fn(body), number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'body':22s} {'bytes':>9s} {'orjson us':>10s} {'limits us':>10s} {'ratio':>6s}")
    for name, body in bodies().items():
        base = best_us(orjson.loads, body, args.repeat)
        ours = best_us(loads, body, args.repeat)
        print(f"{name:22s} {len(body):9d} {base:10.1f} {ours:10.1f} {ours / base:6.2f}")


if __name__ == "__main__":
    main()
