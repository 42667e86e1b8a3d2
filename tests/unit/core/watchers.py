"""Watchers over a ResourceCache for the core's unit tests: build one, drain what it has ready."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from watchproxy.core.rv import TokenCodec
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watch_cache import ResourceCache
from watchproxy.core.watcher import CacheWatcher, WatchFilter

CODEC = TokenCodec(["a", "b"])


def expired(message: str) -> bytes:
    return b'{"type":"ERROR","object":{"code":410,"message":"' + message.encode() + b'"}}\n'


def watcher(
    cache: ResourceCache,
    *,
    shards: set[int] | None = None,
    merged: bool = False,
    node: str | None = None,
    labels: str = "",
    fields: str = "",
    queue: int = 100,
    queue_bytes: int = 1 << 30,
    floor: tuple[int, ...] | None = None,
) -> CacheWatcher:
    return CacheWatcher(
        filt=WatchFilter("", "", node, LabelSelector.parse(labels), FieldSelector.parse(fields)),
        shards=frozenset(shards if shards is not None else {0}),
        merged=merged,
        floor=floor or cache.vector(),
        encode_token=CODEC.encode,
        history=cache.history,
        max_queue=queue,
        max_queue_bytes=queue_bytes,
        bookmark_line=None,
    )


async def drain(w: CacheWatcher) -> list[dict[str, Any]]:
    """Every event the watcher has ready, decoded."""
    out: list[dict[str, Any]] = []
    while True:
        try:
            async with asyncio.timeout(0.01):
                chunk = await w.next_chunk(lambda: expired("gone"))
        except TimeoutError:
            return out
        if chunk is None:
            return out
        out.extend(orjson.loads(line) for line in chunk.splitlines() if line)


def start_writer(w: CacheWatcher) -> tuple[asyncio.Task[None], list[bytes]]:
    """A writer task doing with `w`'s chunks what api/watches.py does (collecting them in the
    returned list) until the watch ends."""
    got: list[bytes] = []

    async def write() -> None:
        while (chunk := await w.next_chunk(lambda: expired("gone"))) is not None:
            got.append(chunk)

    return asyncio.create_task(write()), got

