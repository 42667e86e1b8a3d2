"""glibc's mmap threshold, fixed (watchproxy/gc_tuning.py): freed big blocks go back to the
system even after a larger block has been freed. Each case runs in a fresh interpreter, so the
test process's own allocator is left alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """
import sys
from watchproxy.gc_tuning import fix_mmap_threshold

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))

if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
big = bytearray(8 << 20)
del big  # unfixed, glibc's threshold now rises to 8 MiB: smaller blocks come from the heap
base = rss()
blocks = [bytes(200_000) for _ in range(500)]  # 100 MB in 200 KB blocks, like LIST chunks
pins = [bytes(1000) for _ in range(100)]  # long-lived heap blocks above them
del blocks
print(rss() - base)
"""


def grown_after_free(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.parametrize(
    ("mode", "returned"),
    [
        pytest.param("fixed", True, id="fixed threshold: the 100 MB go back"),
        pytest.param("default", False, id="glibc's rising threshold: they stay (control)"),
    ],
)
def test_freed_chunks_go_back_to_the_system(mode: str, returned: bool) -> None:
    grown = grown_after_free(mode)
    assert (grown < 20_000_000) is returned, f"{grown / 1e6:.0f} MB still resident"
