"""Admission: waiting for seats, time-outs, 429 reasons, Retry-After, exempt (controller.py)."""

from __future__ import annotations

import asyncio

import pytest

from watchproxy.auth.user import UserInfo
from watchproxy.flowcontrol.controller import FlowController, Rejected, _RetryAfter
from watchproxy.flowcontrol.matching import RequestDigest
from watchproxy.flowcontrol.queueset import QUEUE_FULL, TIME_OUT
from watchproxy.flowcontrol.settings import parse_flow_control

AUTH = "system:authenticated"


def controller(**section: object) -> FlowController:
    # global-default gets ceil(limit x 20 / 245) seats of the default shares.
    return FlowController(parse_flow_control({"server_concurrency_limit": 12, **section}))


def digest(
    name: str, groups: tuple[str, ...] = (AUTH,), tenant: str | None = None
) -> RequestDigest:
    return RequestDigest(
        UserInfo(name, groups=groups), "list", True, "/api/v1/pods", resource="pods", tenant=tenant
    )


async def test_limits_are_shares_of_the_server_limit() -> None:
    fc = controller()
    assert fc.queuesets["global-default"].concurrency_limit == 1  # ceil(12 x 20 / 245)
    assert fc.queuesets["workload-low"].concurrency_limit == 5  # ceil(12 x 100 / 245)
    assert "exempt" not in fc.queuesets


async def test_a_waiting_request_runs_when_seats_free_up() -> None:
    fc = controller()
    first = await fc.admit(fc.classify(digest("a")), 1)
    waiter = asyncio.create_task(fc.admit(fc.classify(digest("b")), 1))
    await asyncio.sleep(0)
    assert not waiter.done()
    assert fc.statistics()["priority_levels"]["global-default"]["waiting_requests"] == 1
    first.release()
    second = await waiter
    second.release()
    second.release()  # idempotent
    assert fc.queuesets["global-default"].seats_in_use == 0
    counters = fc.counters()["global-default", "global-default"]
    assert (counters.dispatched, counters.executing, counters.waiting) == (2, 0, 0)


async def test_a_wait_past_the_limit_is_rejected_as_time_out() -> None:
    fc = controller(queue_wait_limit_seconds=0.05)
    held = await fc.admit(fc.classify(digest("a")), 1)
    with pytest.raises(Rejected) as caught:
        await fc.admit(fc.classify(digest("b")), 1)
    assert caught.value.reason == TIME_OUT
    assert caught.value.retry_after >= 1
    assert fc.statistics()["priority_levels"]["global-default"]["waiting_requests"] == 0
    held.release()
    assert fc.counters()["global-default", "global-default"].rejected == {TIME_OUT: 1}


async def test_a_full_queue_rejects_at_once() -> None:
    level = {"name": "global-default", "queues": 1, "hand_size": 1, "queue_length_limit": 1}
    fc = controller(priority_levels=[{**level, "nominal_concurrency_shares": 20}])
    held = await fc.admit(fc.classify(digest("a")), 1)
    waiter = asyncio.create_task(fc.admit(fc.classify(digest("b")), 1))
    await asyncio.sleep(0)
    with pytest.raises(Rejected) as caught:
        await fc.admit(fc.classify(digest("c")), 1)
    assert caught.value.reason == QUEUE_FULL
    held.release()
    (await waiter).release()


async def test_a_cancelled_waiter_leaves_its_queue() -> None:
    fc = controller()
    held = await fc.admit(fc.classify(digest("a")), 1)
    waiter = asyncio.create_task(fc.admit(fc.classify(digest("b")), 1))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    held.release()
    assert fc.queuesets["global-default"].seats_in_use == 0
    assert fc.statistics()["priority_levels"]["global-default"]["waiting_requests"] == 0
    assert fc.counters()["global-default", "global-default"].rejected == {"cancelled": 1}


async def test_exempt_never_waits() -> None:
    fc = controller()
    admin = digest("admin", groups=("system:masters", AUTH))
    held = [await fc.admit(fc.classify(admin), 10) for _ in range(100)]
    assert all(a.classification.level.name == "exempt" for a in held)
    for admission in held:
        admission.release()


def test_retry_after_grows_under_many_rejections_and_comes_back() -> None:
    now = [100.0]
    tracker = _RetryAfter(lambda: now[0])
    values = []
    for _ in range(40):
        now[0] += 0.05
        values.append(tracker.dropped())
    assert values[0] == 1 and max(values) >= 2
    peak = tracker.value
    now[0] += 60
    for _ in range(5):
        now[0] += 5
        tracker.dropped()
    assert tracker.value < peak
    assert max(values) <= 32


async def test_a_waiter_whose_client_leaves_leaves_its_queue() -> None:
    from watchproxy.flowcontrol.controller import ClientGone

    fc = controller()
    held = await fc.admit(fc.classify(digest("a")), 1)
    left = asyncio.Event()
    waiter = asyncio.create_task(fc.admit(fc.classify(digest("b")), 1, left.wait))
    await asyncio.sleep(0)
    assert fc.statistics()["priority_levels"]["global-default"]["waiting_requests"] == 1
    left.set()
    with pytest.raises(ClientGone):
        await waiter
    assert fc.statistics()["priority_levels"]["global-default"]["waiting_requests"] == 0
    assert fc.counters()["global-default", "global-default"].rejected == {"cancelled": 1}
    held.release()
    assert fc.queuesets["global-default"].seats_in_use == 0
    # Admitted at once: the disconnect watch is never started.
    started = []

    async def never() -> None:
        started.append(True)

    (await fc.admit(fc.classify(digest("c")), 1, never)).release()
    assert not started
