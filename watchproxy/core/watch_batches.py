"""The batch bounds of a watch writer and the initial-state batch builder (core/watcher.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from watchproxy.core.objects import ADDED, CachedObject, object_line
from watchproxy.core.watch_filter import TokenEncoder

Vector = tuple[int, ...]
# Objects and events handed to the writer per batch: bounds the time between two awaits.
BATCH = 500
# ... and about this many bytes (or `max_queue_bytes` if smaller): 500 objects of 1 MB would be
# a 500 MB chunk held until the client reads it. A batch ends after the line that reaches it.
BATCH_BYTES: Final = 1024 * 1024


def _unchanged(raw: bytes) -> bytes:
    return raw


def initial_lines(
    objects: list[CachedObject],
    pos: int,
    vector: Vector | None,
    render: Callable[[bytes], bytes] | None,
    encode: TokenEncoder,
    limit: int,
) -> tuple[list[bytes], int]:
    """ADDED lines of `objects[pos:]`: up to BATCH of them, stopping after the line that
    reaches `limit` bytes; and the position after the last one taken. With `vector` (a merged
    watch) each object's resourceVersion is the token of `vector` and its own revision;
    `render` rewrites each object's bytes (server-side printing)."""
    render = render or _unchanged
    lines: list[bytes] = []
    size = 0
    end = min(pos + BATCH, len(objects))
    while pos < end and size < limit:
        obj = objects[pos]
        raw = obj.raw if vector is None else obj.with_rv(encode(vector, obj.revision))
        line = object_line(ADDED, render(raw))
        lines.append(line)
        size += len(line)
        pos += 1
    return lines, pos
