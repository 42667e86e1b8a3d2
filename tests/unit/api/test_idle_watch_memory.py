# mypy: disable-error-code="unreachable"
# (the asserts read flags that change between them: narrowing would call the later ones dead)
"""What an idle watch holds (decision 0023): flow control hands the server's own `receive` back
when the request did not wait (so the watch polls the connection's `disconnected` flag rather
than keeping a task on receive()), the bookmark ticker polls that flag on the connection object
itself, the watch's timeout cancels only its own task, a parked writer waits on a future made
for the wait, BOOKMARK line builders are shared, and the HTTP/1.1 connection keeps uvicorn's
instance dict within CPython's shared-key limit with list-backed Events and pipeline."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from tests.unit.core.test_flush import fresh_cache, settle
from tests.unit.core.test_watcher import cm
from tests.unit.core.watchers import start_writer, watcher
from watchproxy.api.flow import FlowFilter
from watchproxy.api.watches import _Expiry, bookmark_factory
from watchproxy.core.bookmarks import BookmarkTicker
from watchproxy.resources import RESOURCES, Registry
from watchproxy.serving.protocol import Http1Protocol, slim_event

# -- flow control: the server's receive back unless the request waited ----------------------


class StubController:
    """FlowController's admit: at once, or after running `gone` a while (a queued request)."""

    def __init__(self, wait: bool) -> None:
        self.wait = wait

    def classify(self, digest: object) -> str:
        return "classified"

    async def admit(self, classification: object, seats: int, gone: Any) -> str:
        if self.wait and gone is not None:
            task = asyncio.ensure_future(gone())
            await settle()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return "admitted"


class Filter(FlowFilter):
    def digest(self, info: Any, auth: Any) -> Any:
        return None

    def seats(self, info: Any, query: bytes) -> int:
        return 1


def messages(*items: dict[str, Any]) -> Any:
    queue = deque(items)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.popleft()
        await asyncio.Event().wait()  # nothing more: like a client that sends nothing
        raise AssertionError

    return receive


async def test_a_request_admitted_at_once_keeps_the_servers_receive() -> None:
    receive = messages()
    flow = Filter(StubController(wait=False), None)  # type: ignore[arg-type]
    admission, got = await flow.admit(None, None, b"", receive)  # type: ignore[arg-type]
    assert admission == "admitted" and got is receive  # type: ignore[comparison-overlap]


async def test_a_request_that_waited_replays_what_its_wait_read() -> None:
    receive = messages({"type": "http.request", "body": b"", "more_body": False})
    flow = Filter(StubController(wait=True), None)  # type: ignore[arg-type]
    _, got = await flow.admit(None, None, b"", receive)  # type: ignore[arg-type]
    assert got is not receive and got is not None
    assert (await got())["type"] == "http.request"


# -- the bookmark ticker polls the connection's flag --------------------------------------


class Conn:
    disconnected = False


async def test_the_ticker_closes_a_watch_once_its_connection_is_gone() -> None:
    async with fresh_cache() as cache:
        w = watcher(cache)
        cache.watch_now(w)
        ticker, conn = BookmarkTicker(60.0), Conn()
        ticker.track_connection(w, conn)
        ticker.reap()
        assert not w.closed and ticker.reaped == 0
        conn.disconnected = True
        ticker.reap()
        assert w.closed and ticker.reaped == 1
        ticker.reap()  # (forgotten once reaped)
        assert ticker.reaped == 1


# -- the timeout ------------------------------------------------------------------------------


async def _stream(
    deadline_in: float, outcome: list[str], made: list[_Expiry] | None = None
) -> None:
    """stream_watch's handling of its deadline around an idle wait."""
    loop = asyncio.get_running_loop()
    expiry = _Expiry()
    if made is not None:
        made.append(expiry)
    timer = loop.call_at(loop.time() + deadline_in, expiry)
    try:
        await asyncio.Event().wait()  # an idle watch
    except asyncio.CancelledError:
        if not expiry.timed_out():
            outcome.append("cancelled")
            raise
        outcome.append("timed out")
    finally:
        timer.cancel()


async def test_the_deadline_ends_the_stream_without_cancelling_the_task() -> None:
    outcome: list[str] = []
    task = asyncio.create_task(_stream(0.01, outcome))
    await asyncio.wait_for(task, 2)
    assert outcome == ["timed out"] and not task.cancelled() and task.cancelling() == 0


async def test_a_cancellation_from_outside_is_not_taken_for_the_timeout() -> None:
    outcome: list[str] = []
    task = asyncio.create_task(_stream(60.0, outcome))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled"]


async def test_an_outside_cancellation_racing_the_deadline_still_propagates() -> None:
    outcome: list[str] = []
    made: list[_Expiry] = []
    task = asyncio.create_task(_stream(60.0, outcome, made))
    await settle()
    made[0]()  # the deadline's cancel and a server's, in one loop iteration
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled"]


# -- the watcher's wake-up and shared bookmark lines ------------------------------------------


async def test_a_parked_writer_waits_on_a_future_made_for_the_wait() -> None:
    async with fresh_cache() as cache:
        w = watcher(cache)
        cache.watch_now(w)
        assert w._waiter is None  # nothing allocated while nobody waits
        task, got = start_writer(w)
        await settle()
        assert w._waiter is not None and not w._waiter.done()
        cache.apply(0, "ns/a", cm("a", "ns", 11), 11)
        await settle()
        assert len(got) == 1 and w._waiter is not None  # parked again, on a new future
        cache.stop(w)
        await asyncio.wait_for(task, 1)
        assert w._waiter is None


def test_bookmark_lines_are_built_by_one_function_per_kind() -> None:
    pods = Registry(RESOURCES).lookup("", "v1", "pods")
    assert pods is not None
    line = bookmark_factory(pods)
    assert line is bookmark_factory(pods)
    assert line("7", False) == (
        b'{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",'
        b'"metadata":{"resourceVersion":"7"}}}\n'
    )


# -- the HTTP/1.1 connection ----------------------------------------------------------------


def waiters(event: asyncio.Event) -> Any:
    return vars(event)["_waiters"]


def test_slim_event_keeps_event_semantics_with_a_list() -> None:
    async def run() -> None:
        event = slim_event(asyncio.Event())
        assert type(waiters(event)) is list
        tasks = [asyncio.create_task(event.wait()) for _ in range(3)]
        await settle()
        event.set()
        assert await asyncio.gather(*tasks) == [True, True, True]
        event.clear()
        late = asyncio.create_task(event.wait())
        await settle()
        late.cancel()  # a cancelled waiter leaves the list (Event.wait's `remove`)
        with contextlib.suppress(asyncio.CancelledError):
            await late
        assert waiters(event) == []

    asyncio.run(run())


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 1) if name in ("sockname", "peername") else default

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: object) -> None:
        pass


async def test_an_http1_connection_stays_within_the_shared_key_limit() -> None:
    parked = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        parked.set()
        await asyncio.Event().wait()

    config = uvicorn.Config(app, lifespan="off", log_config=None, proxy_headers=False)
    proto = Http1Protocol(config, ServerState(), {}, asyncio.get_running_loop())
    proto.connection_made(FakeTransport())  # type: ignore[arg-type]
    proto.data_received(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.wait_for(parked.wait(), 2)
    try:
        # CPython 3.11-3.13 share one key table between a class's instance dicts only up
        # to 30 keys (SHARED_KEYS_MAX_SIZE); past it every connection has a dict of its own.
        assert len(vars(proto)) <= 30, sorted(vars(proto))
        assert type(waiters(proto.flow._is_writable_event)) is list
        assert type(waiters(proto.cycle.message_event)) is list
        pipeline: Any = proto.pipeline
        pipeline.appendleft(1)
        pipeline.appendleft(2)
        assert pipeline.pop() == 1 and pipeline == [2]
    finally:
        proto.connection_lost(None)
        for task in list(proto.tasks):
            task.cancel()
        await settle()
