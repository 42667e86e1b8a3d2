"""`python -P bench/tmwrap.py OUT serve --config FILE`: watchproxy under tracemalloc (12 frames);
each SIGUSR1 runs a full collection and writes a snapshot to OUT.0, OUT.1, ... With OUT `-`,
no tracemalloc: SIGUSR1 only collects (so an RSS reading after it has no garbage in it).

Diagnostics only (bench/idle_watch.py). Run by path, not with -m, so the watchproxy it imports
is the one PYTHONPATH names (a baseline checkout with `--tree`), not this checkout's bench.
"""

from __future__ import annotations

import gc
import signal
import sys
import tracemalloc
from types import FrameType


def main() -> int:
    out = sys.argv[1]
    if out != "-":
        tracemalloc.start(12)
    taken = [0]

    def snapshot(_signum: int, _frame: FrameType | None) -> None:
        gc.collect()
        if out != "-":
            tracemalloc.take_snapshot().dump(f"{out}.{taken[0]}")
            taken[0] += 1

    signal.signal(signal.SIGUSR1, snapshot)
    from watchproxy.cli import main as watchproxy_main

    return watchproxy_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
