"""EventHistory's bounds: events by count and, when set, the bytes of the objects they carry."""

from __future__ import annotations

import pytest

from watchproxy.core.history import EventHistory
from watchproxy.core.objects import CacheEvent, build_from_dict
from watchproxy.resources import Registry

PODS = Registry().lookup("", "v1", "pods")
assert PODS is not None


def event(seq: int, size: int, *, deleted: bool = False) -> CacheEvent:
    obj = build_from_dict(
        PODS,
        f"ns/p{seq}",
        {"metadata": {"name": f"p{seq}", "namespace": "ns"}, "data": "x" * size},
        seq,
    )
    return CacheEvent(
        seq=seq,
        shard=0,
        revision=seq,
        key=obj.key,
        obj=None if deleted else obj,
        prev=obj if deleted else None,
        vector=(seq,),
    )


@pytest.mark.parametrize(
    ("capacity", "max_bytes", "sizes", "kept"),
    [
        pytest.param(3, 0, [10] * 5, [3, 4, 5], id="count only"),
        pytest.param(100, 3_000, [1_000] * 6, None, id="bytes evict before count"),
        pytest.param(100, 500, [10_000], [1], id="the newest event always stays"),
        pytest.param(2, 10**9, [10] * 4, [3, 4], id="count still bounds with a byte budget"),
    ],
)
def test_history_bounds(
    capacity: int, max_bytes: int, sizes: list[int], kept: list[int] | None
) -> None:
    history = EventHistory(capacity, 1, max_bytes)
    for seq, size in enumerate(sizes, start=1):
        history.append(event(seq, size))
    held = [e.seq for e in history.after_seq(0, 1000)]
    if kept is not None:
        assert held == kept
    if max_bytes:
        assert history.bytes <= max(
            max_bytes, max(len(e.obj.raw) for e in history.after_seq(0, 1000) if e.obj)
        )
    # Evicted events raise the shard's floor: a watcher from before them is told 410.
    assert history.floors[0] == held[0] - 1
    assert history.bytes == sum(len((e.obj or e.prev).raw) for e in history.after_seq(0, 1000))  # type: ignore[union-attr]


def test_deletions_count_the_deleted_objects_bytes() -> None:
    history = EventHistory(10, 1, 0)
    history.append(event(1, 500, deleted=True))
    assert history.bytes > 500
