"""Stopping the processes integration tests start (watchproxy, haproxy, dev mode)."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop_process(
    proc: subprocess.Popen[Any] | None,
    sig: signal.Signals = signal.SIGTERM,
    *,
    grace_s: float = 10.0,
) -> None:
    """Send `sig` to a running `proc`, wait `grace_s` seconds, then SIGKILL (and wait 5 s more)."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
