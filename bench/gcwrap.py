"""`python -m bench.gcwrap LOG serve --config FILE`: watchproxy with its GC pauses logged.

Diagnostics only (`python -m bench --gc-log`): a `gc.callbacks` hook appends one line per
collection that took >= 1 ms or was a full (generation 2) one -- `<unix time> <generation>
<milliseconds>` -- so the harness can line latency tails up with collector pauses.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any


def main() -> int:
    log = open(sys.argv[1], "a", buffering=1)  # kept open for the process lifetime
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        if ms >= 1.0 or info["generation"] == 2:
            log.write(f"{time.time():.4f} {info['generation']} {ms:.2f}\n")

    gc.callbacks.append(on_gc)
    from watchproxy.cli import main as watchproxy_main

    return watchproxy_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
