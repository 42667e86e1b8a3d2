"""Seat widths (estimate.py) and how the API edge counts the objects a LIST walks (api/flow.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from watchproxy.api.flow import FlowFilter
from watchproxy.api.requestinfo import request_info
from watchproxy.core.watch_cache import ShardState
from watchproxy.flowcontrol import FlowController, parse_flow_control
from watchproxy.flowcontrol.estimate import list_seats, watch_sends_initial_state
from watchproxy.resources import Registry


@pytest.mark.parametrize(
    ("objects", "limit", "single", "seats"),
    [
        (0, 0, False, 1), (50, 0, False, 1), (100, 0, False, 1), (101, 0, False, 2),
        (20000, 0, False, 10), (20000, 500, False, 5), (20000, 50000, False, 10),
        (20000, 0, True, 1),
    ],
)  # fmt: skip
def test_list_seats(objects: int, limit: int, single: bool, seats: int) -> None:
    assert list_seats(objects, limit=limit, single=single) == seats


def test_which_watches_start_with_the_state() -> None:
    assert watch_sends_initial_state("", "")
    assert watch_sends_initial_state("0", "")
    assert watch_sends_initial_state("123", "true")
    assert not watch_sends_initial_state("123", "")


def _shard(pods: dict[str, tuple[str, str]]) -> ShardState:
    """A shard whose pods are name -> (namespace, node), indexed as the cache indexes them."""
    state = ShardState()
    for name, (namespace, node) in pods.items():
        obj = SimpleNamespace(key=f"{namespace}/{name}", namespace=namespace, trigger=node)
        state.put(obj)  # type: ignore[arg-type]
    return state


def flow_filter() -> FlowFilter:
    registry = Registry()
    pods = {f"p{i}": ("busy" if i < 900 else "quiet", f"n{i % 3}") for i in range(1000)}
    shards = [_shard(pods), _shard({f"q{i}": ("other", "n9") for i in range(500)})]
    proxy: Any = SimpleNamespace(
        registry=registry, cache_of=lambda _resource: SimpleNamespace(shards=shards)
    )
    return FlowFilter(FlowController(parse_flow_control({})), proxy)


@pytest.mark.parametrize(
    ("path", "query", "seats"),
    [
        ("/api/v1/pods", b"", 10),  # 1,500 pods in all -> capped at 10
        ("/api/v1/namespaces/busy/pods", b"", 9),  # the namespace's 900
        ("/api/v1/namespaces/quiet/pods", b"", 1),  # 100
        ("/api/v1/pods", b"fieldSelector=spec.nodeName%3Dn0", 4),  # the node's 334
        ("/api/v1/pods", b"fieldSelector=metadata.namespace%3Dother", 5),
        ("/api/v1/pods", b"limit=250", 3),
        ("/api/v1/pods", b"limit=250&resourceVersion=0", 10),  # RV=0 ignores limit
        ("/api/v1/pods", b"fieldSelector=metadata.name%3Dp1", 1),
        ("/api/v1/pods", b"watch=true&resourceVersion=5", 1),  # a resume: no initial state
        ("/api/v1/pods", b"watch=true", 10),
        ("/api/v1/namespaces/busy/pods/p1", b"", 1),  # GET
    ],
)
def test_seats_of_requests(path: str, query: bytes, seats: int) -> None:
    info = request_info("GET", path, query)
    assert flow_filter().seats(info, query) == seats
