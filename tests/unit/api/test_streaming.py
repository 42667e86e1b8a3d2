"""Chunked response bodies and gzip (api/streaming.py), without a server: a recording `send`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.unit.api.recorder import Recorder
from watchproxy.api.partial import partial_list
from watchproxy.api.printing import LIST_TAIL, Printing, list_encoding
from watchproxy.api.streaming import (
    CHUNK_BYTES,
    GZIP_THRESHOLD_BYTES,
    LoopTurns,
    accepts_gzip,
    json_array_chunks,
    send_chunks,
)
from watchproxy.api.table import table_document, table_row
from watchproxy.core.objects import build_from_dict
from watchproxy.resources import Registry, ResourceType


def _pods() -> ResourceType:
    pods = Registry().lookup("", "v1", "pods")
    assert pods is not None
    return pods


PODS = _pods()


def items(count: int, size: int) -> list[bytes]:
    return [orjson.dumps({"i": i, "pad": "x" * size}) for i in range(count)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("gzip", True, id="gzip"),
        pytest.param("gzip, deflate", True, id="Go and curl's list"),
        pytest.param("deflate,gzip", True, id="not first"),
        pytest.param("  gzip  ", True, id="spaces trimmed"),
        pytest.param("", False, id="absent"),
        pytest.param("deflate, br", False, id="other encodings"),
        pytest.param("x-gzip", False, id="x-gzip is not named"),
        pytest.param("gzip;q=0", False, id="parameters: not the exact token, as kube"),
        pytest.param("GZIP", False, id="case-sensitive, as kube"),
    ],
)
def test_accepts_gzip_as_kubes_content_encoding_supported(value: str, expected: bool) -> None:
    assert accepts_gzip(value) is expected


@pytest.mark.parametrize("count", [0, 1, 2, 7, 300])
def test_chunks_join_to_the_whole_document(count: int) -> None:
    parts = items(count, 100)
    chunks = list(json_array_chunks(b'{"items":[', iter(parts), b"]}", chunk_bytes=1000))
    whole = b'{"items":[' + b",".join(parts) + b"]}"
    assert b"".join(chunks) == whole
    assert orjson.loads(whole)["items"] == [orjson.loads(p) for p in parts]


def test_each_chunk_reaches_the_bound_and_exceeds_it_by_less_than_one_item() -> None:
    parts = items(500, 300)
    item = len(parts[0])
    chunks = list(json_array_chunks(b"[", iter(parts), b"]", chunk_bytes=4096))
    assert len(chunks) > 10
    for chunk in chunks[:-1]:
        assert 4096 <= len(chunk) <= 4096 + item + 1
    assert len(chunks[-1]) <= 4096 + item + 1


def test_chunk_items_cuts_rendered_items_by_count() -> None:
    chunks = list(json_array_chunks(b"[", iter(items(25, 10)), b"]", chunk_items=10))
    assert [c.count(b'"i":') for c in chunks] == [10, 10, 5]


def test_items_are_pulled_only_as_chunks_are_taken() -> None:
    pulled = 0

    def source() -> Iterator[bytes]:
        nonlocal pulled
        for part in items(1000, 100):
            pulled += 1
            yield part

    chunks = json_array_chunks(b"[", source(), b"]", chunk_bytes=1000)
    next(chunks)
    assert pulled < 20  # not the 1000 of a whole body


async def test_a_small_body_is_one_message_with_its_length() -> None:
    send = Recorder()
    await send_chunks(send, json_array_chunks(b"[", iter(items(3, 10)), b"]"), gzip=True)
    assert send.start["status"] == 200
    assert send.headers[b"content-length"] == str(len(send.bodies[0])).encode()
    assert b"content-encoding" not in send.headers  # under the gzip threshold
    assert len(send.messages) == 2 and not send.messages[1].get("more_body", False)


async def test_a_long_body_is_streamed_chunk_by_chunk_without_a_length() -> None:
    parts = items(2000, 1000)
    send = Recorder()
    await send_chunks(send, json_array_chunks(b"[", iter(parts), b"]"), gzip=False)
    assert b"content-length" not in send.headers
    assert send.headers[b"content-type"] == b"application/json"
    assert [m.get("more_body", False) for m in send.messages[1:]] == [True] * (
        len(send.messages) - 2
    ) + [False]
    data = [b for b in send.bodies if b]  # the end of the body may be an empty message
    assert len(data) > 5
    for body in data[:-1]:
        assert CHUNK_BYTES <= len(body) <= CHUNK_BYTES + len(parts[0]) + 1
    assert len(data[-1]) <= CHUNK_BYTES + len(parts[0]) + 1
    assert send.body() == b"[" + b",".join(parts) + b"]"


@pytest.mark.parametrize(
    ("size", "compressed"),
    [
        pytest.param(GZIP_THRESHOLD_BYTES, False, id="at the threshold: plain"),
        pytest.param(GZIP_THRESHOLD_BYTES + 1, True, id="over it: gzip"),
        pytest.param(3 * CHUNK_BYTES, True, id="streamed: gzip"),
    ],
)
async def test_gzip_over_128_kib_when_accepted(size: int, compressed: bool) -> None:
    body = b"[" + b"7" * (size - 2) + b"]"
    for accepted in (True, False):
        send = Recorder()
        await send_chunks(send, iter([body[: size // 2], body[size // 2 :]]), gzip=accepted)
        headers = send.headers
        if compressed and accepted:
            assert headers[b"content-encoding"] == b"gzip"
            assert headers[b"vary"] == b"Accept-Encoding"
            assert len(b"".join(send.bodies)) < size // 10
        else:
            assert b"content-encoding" not in headers and b"vary" not in headers
            assert b"".join(send.bodies) == body
        assert send.body() == body
        if b"content-length" in headers:
            assert int(headers[b"content-length"]) == len(b"".join(send.bodies))


async def test_gzip_streams_chunk_by_chunk() -> None:
    parts = items(3000, 1000)
    send = Recorder()
    await send_chunks(send, json_array_chunks(b"[", iter(parts), b"]"), gzip=True)
    assert send.headers[b"content-encoding"] == b"gzip"
    assert b"content-length" not in send.headers
    assert len(send.messages) > 3  # not one compressed blob at the end
    assert send.body() == b"[" + b",".join(parts) + b"]"


async def test_an_error_building_the_first_chunk_sends_nothing() -> None:
    def failing() -> Iterator[bytes]:
        yield b"x" * 100
        raise ValueError("cannot render")

    send = Recorder()
    with pytest.raises(ValueError, match="cannot render"):
        await send_chunks(send, json_array_chunks(b"[", failing(), b"]"), gzip=False)
    assert send.messages == []


async def test_the_event_loop_runs_other_work_between_chunks() -> None:
    send = Recorder()
    seen_at: list[int] = []

    async def other_request() -> None:
        while not send.messages or send.messages[-1].get("more_body", False):
            seen_at.append(len(send.messages))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_request())
    await asyncio.sleep(0)
    # The recording send never yields, as uvicorn's send to a client that keeps up.
    await send_chunks(send, json_array_chunks(b"[", iter(items(2000, 1000)), b"]"), gzip=False)
    await other
    between = [n for n in seen_at if 1 < n < len(send.messages)]
    assert len(between) >= len(send.messages) - 3


def _pod(i: int) -> Any:
    obj = {
        "metadata": {"name": f"p{i:04d}", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
        "status": {"phase": "Running"},
    }
    return build_from_dict(PODS, f"ns/p{i:04d}", obj, 10 + i)


@pytest.mark.parametrize("api_version", ["meta.k8s.io/v1", "meta.k8s.io/v1beta1"])
def test_a_streamed_table_is_table_documents_bytes(api_version: str) -> None:
    objects = [_pod(i) for i in range(450)]
    meta = {"resourceVersion": "999", "continue": "abc", "remainingItemCount": 3}
    head, rows = list_encoding(PODS, objects, meta, Printing(api_version))
    streamed = b"".join(json_array_chunks(head, rows, LIST_TAIL, chunk_items=100))
    whole = table_document(
        PODS,
        [table_row(PODS, orjson.loads(o.raw), now=0.0, api_version=api_version) for o in objects],
        meta,
        api_version,
    )
    assert streamed == whole


def test_a_streamed_partial_list_is_partial_lists_bytes() -> None:
    objects = [_pod(i) for i in range(30)]
    meta = {"resourceVersion": "7"}
    p = Printing("meta.k8s.io/v1", kind="PartialObjectMetadataList")
    head, parts = list_encoding(PODS, objects, meta, p)
    streamed = b"".join(json_array_chunks(head, parts, LIST_TAIL, chunk_bytes=2000))
    assert streamed == partial_list(objects, meta, "meta.k8s.io/v1")


async def test_loop_turns_let_a_few_steps_go_per_iteration_in_arrival_order() -> None:
    turns = LoopTurns(per_turn=3)
    iteration = 0
    done = False
    passed: list[tuple[int, int]] = []  # (iteration, worker) per step let go

    async def ticker() -> None:
        # Runs once per iteration of the loop: its count numbers the iterations.
        nonlocal iteration
        while not done:
            iteration += 1
            await asyncio.sleep(0)

    async def worker(n: int) -> None:
        for _ in range(4):
            await turns.wait_until_turn()
            passed.append((iteration, n))

    tick = asyncio.create_task(ticker())
    await asyncio.gather(*(worker(n) for n in range(10)))
    done = True
    await tick
    per_iteration: dict[int, int] = {}
    for it, _ in passed:
        per_iteration[it] = per_iteration.get(it, 0) + 1
    assert len(passed) == 40
    assert max(per_iteration.values()) == 3  # never more, however many wait
    assert [n for _, n in passed[:10]] == list(range(10))  # first come, first served


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    turns = LoopTurns(per_turn=1)
    order: list[str] = []

    async def step(name: str) -> None:
        await turns.wait_until_turn()
        order.append(name)

    first = asyncio.create_task(step("first"))
    second = asyncio.create_task(step("second"))
    await asyncio.sleep(0)  # both wait
    first.cancel()
    await second
    assert order == ["second"]
    assert first.cancelled()


async def test_a_heavy_step_takes_an_iteration_of_its_own() -> None:
    turns = LoopTurns(per_turn=4)
    iteration = 0
    done = False
    passed: list[tuple[int, str]] = []

    async def ticker() -> None:
        nonlocal iteration
        while not done:
            iteration += 1
            await asyncio.sleep(0)

    async def step(name: str, weight: int) -> None:
        await turns.wait_until_turn(weight)
        passed.append((iteration, name))

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    steps = [("a", 1), ("b", 2), ("c", 10), ("d", 1), ("e", 3), ("f", 1)]
    await asyncio.gather(*(step(name, weight) for name, weight in steps))
    done = True
    await tick
    groups: dict[int, list[str]] = {}
    for it, name in passed:
        groups.setdefault(it, []).append(name)
    # In arrival order: a+b fit (3 units), c (10) goes alone, d+e fit (4), then f.
    assert list(groups.values()) == [["a", "b"], ["c"], ["d", "e"], ["f"]]


async def test_a_client_that_stops_reading_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A streamed body not taken within SEND_TIMEOUT_SECONDS (kube's request timeout) raises
    SendTimeout, so the request ends and gives back its seats."""
    from watchproxy.api import streaming

    monkeypatch.setattr(streaming, "SEND_TIMEOUT_SECONDS", 0.2)
    sent: list[dict[str, object]] = []

    async def stalled(message: object) -> None:
        sent.append(dict(message))  # type: ignore[call-overload]
        if len(sent) > 2:
            await asyncio.Event().wait()  # the client's socket is full and stays full

    chunks = streaming.json_array_chunks(b'{"items":[', items(2000, 500), b"]}")
    with pytest.raises(streaming.SendTimeout):
        await streaming.send_chunks(stalled, chunks, gzip=False)
    assert sent[0]["type"] == "http.response.start"
