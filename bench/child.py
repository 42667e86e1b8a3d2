"""A bench client in a child process (spawned, so its CPU is not this process's): start it, wait
for the one result it sends on a pipe, and make sure it is gone afterwards."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from typing import Any


async def run_child(target: Callable[..., None], args: tuple[Any, ...], limit_s: float) -> Any:
    """Run `target(*args, conn)` in a spawned process and return what it sent on `conn`; a
    child that sends nothing within `limit_s` seconds is killed and a RuntimeError raised. A
    child reports its own failure by sending a string, raised here as a RuntimeError."""
    ctx = multiprocessing.get_context("spawn")
    parent, child_end = ctx.Pipe(duplex=False)
    child = ctx.Process(target=target, args=(*args, child_end))
    child.start()
    child_end.close()
    try:
        ready = await asyncio.to_thread(parent.poll, limit_s)
        result = parent.recv() if ready else f"did not report within {limit_s:.0f} s"
    finally:
        if child.is_alive():
            child.kill()
        child.join(10)
    if isinstance(result, str):
        raise RuntimeError(f"{getattr(target, '__name__', 'child')}: {result}")
    return result
