"""Bounded polling for the controllers' unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_for(
    predicate: Callable[[], bool], what: str, bound: float = 10.0, tick: float = 0.02
) -> None:
    """Poll `predicate` every `tick` s (bounded; the bound is a hang guard, not a timing
    assertion). Raises AssertionError naming `what` if it never holds."""
    try:
        async with asyncio.timeout(bound):
            while True:
                if predicate():
                    return
                await asyncio.sleep(tick)
    except TimeoutError:
        raise AssertionError(f"not reached: {what}") from None
