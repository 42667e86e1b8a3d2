"""Per-request CPU of flow control (decision 0013), in-process, no network:

    .venv/bin/python -m bench.flowcontrol_cost [--n 100000]

Prints microseconds per call of: classifying a request against kube's default schemas without
the per-shape memory (a full pass), with it (a repeated shape), and admitting + releasing an
uncontended request. Medians of 5 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from watchproxy.auth.user import UserInfo
from watchproxy.flowcontrol import FlowController, parse_flow_control
from watchproxy.flowcontrol.matching import RequestDigest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flowcontrol_cost", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="calls per round")
    n = parser.parse_args(argv).n
    fc = FlowController(parse_flow_control({}))
    user = UserInfo("alice", groups=("system:authenticated",))
    digest = RequestDigest(user, "get", True, "/api/v1/namespaces/x/pods/y", resource="pods",
                           namespace="x", tenant="acme")  # fmt: skip
    classification = fc.classify(digest)

    def rounds(step: Callable[[], object]) -> float:
        times = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(n):
                step()
            times.append((time.perf_counter() - began) / n * 1e6)
        return float(statistics.median(times))

    full = rounds(lambda: fc._classify(digest))
    cached = rounds(lambda: fc.classify(digest))

    async def admit_release() -> float:
        times = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(n):
                (await fc.admit(classification, 1)).release()
            times.append((time.perf_counter() - began) / n * 1e6)
        return float(statistics.median(times))

    admit = asyncio.run(admit_release())
    print(f"classify, full pass over the schemas: {full:.2f} us")
    print(f"classify, remembered shape:           {cached:.2f} us")
    print(f"admit + release, uncontended:         {admit:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
