"""Fair queuing: shuffle sharding, seats, fairness between flows, rejections (queueset.py)."""

from __future__ import annotations

from watchproxy.flowcontrol.queueset import (
    CONCURRENCY_LIMIT,
    QUEUE_FULL,
    QueueSet,
    Request,
    deal_hand,
    flow_hash,
)
from watchproxy.flowcontrol.settings import LimitResponse, PriorityLevel


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def level(**overrides: object) -> PriorityLevel:
    values: dict[str, object] = {
        "name": "test", "queues": 16, "hand_size": 4, "queue_length_limit": 50,
    }  # fmt: skip
    values.update(overrides)
    return PriorityLevel(**values)  # type: ignore[arg-type]


def start(qs: QueueSet, flow: str, seats: int = 1) -> Request:
    request, reason = qs.start_nowait(flow_hash("fs", flow), seats)
    assert request is not None, reason
    return request


def ready(request: Request) -> bool:
    """Dispatched (a function, so mypy does not narrow the attribute between asserts)."""
    return request.ready


def dispatched(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.ready]


def test_deal_hand_is_distinct_and_stable() -> None:
    for value in (0, 1, 2**63 - 1, flow_hash("a", "b")):
        hand = deal_hand(value, 128, 6)
        assert len(set(hand)) == 6
        assert all(0 <= i < 128 for i in hand)
        assert hand == deal_hand(value, 128, 6)
    hands = {tuple(deal_hand(flow_hash("fs", f"user{i}"), 128, 6)) for i in range(200)}
    assert len(hands) > 190  # different flows get different hands


async def test_requests_run_at_once_below_the_limit() -> None:
    qs = QueueSet(level(), concurrency_limit=3, clock=Clock())
    requests = [start(qs, flow) for flow in "abc"]
    assert dispatched(requests) == requests
    assert qs.seats_in_use == 3
    waiting = start(qs, "a")
    assert not ready(waiting)
    qs.finish(requests[0])
    assert ready(waiting)
    assert qs.seats_in_use == 3


class Harness:
    """Requests started on a QueueSet, finished oldest-dispatched first."""

    def __init__(self, qs: QueueSet, clock: Clock) -> None:
        self.qs, self.clock = qs, clock
        self.started: list[Request] = []
        self.finished: set[Request] = set()

    def start(self, flow: str, seats: int = 1) -> Request:
        request = start(self.qs, flow, seats)
        self.started.append(request)
        return request

    def finish_one(self, seconds: float = 0.01) -> None:
        self.clock.now += seconds
        running = [r for r in self.started if r.ready and r not in self.finished]
        oldest = min(running, key=lambda r: r.started)
        self.qs.finish(oldest)
        self.finished.add(oldest)


async def test_a_wide_request_is_not_starved_by_a_stream_of_narrow_ones() -> None:
    """Narrow requests of ever new flows keep arriving, each finishing in 0.1 s; a wide request
    still gets its seats: virtual time advances until its virtual finish is the smallest, and
    from then on nothing is dispatched past it."""
    clock = Clock()
    h = Harness(QueueSet(level(queues=64, hand_size=2), concurrency_limit=10, clock=clock), clock)
    for _ in range(10):
        h.start("a")
    wide = h.start("wide", seats=10)
    steps = 0
    while not ready(wide) and steps < 2000:
        h.finish_one(0.1)
        h.start(f"flow{steps}")
        steps += 1
    assert ready(wide), "the wide request starved"
    # Virtual time must advance by (10 - 1) seats x 3 s; it advances ~10/11 per second here.
    assert steps <= 400


async def test_a_request_wider_than_the_limit_runs_alone() -> None:
    qs = QueueSet(level(), concurrency_limit=4, clock=Clock())
    wide = start(qs, "a", seats=10)
    assert ready(wide)
    assert not start(qs, "b").ready


async def test_fair_between_a_flooding_flow_and_a_quiet_one() -> None:
    """Flow `noisy` queues 100 requests first; `quiet`'s request must not wait behind them:
    it is dispatched within the next few dispatches, not after the noisy backlog."""
    clock = Clock()
    qs = QueueSet(level(queues=64, hand_size=6, queue_length_limit=100), 2, clock)
    running = [start(qs, "noisy"), start(qs, "noisy")]
    backlog = [start(qs, "noisy") for _ in range(98)]
    clock.now += 0.1
    quiet = start(qs, "quiet")
    order: list[str] = []
    while not quiet.ready:
        clock.now += 0.1
        done = running.pop(0)
        qs.finish(done)
        running = [r for r in (*running, *backlog, quiet) if r.ready]
        running = [r for r in running if r is not done]
        order.append("quiet" if quiet.ready else "noisy")
        backlog = [r for r in backlog if not r.ready]
        assert len(order) < 10, "the quiet flow waited behind the noisy backlog"
    assert len(backlog) > 80


async def test_queue_full_and_reject_levels() -> None:
    qs = QueueSet(level(queues=1, hand_size=1, queue_length_limit=2), 1, Clock())
    start(qs, "a")
    start(qs, "a")
    start(qs, "a")
    assert qs.start_nowait(flow_hash("fs", "a"), 1) == (None, QUEUE_FULL)
    reject = QueueSet(level(limit_response=LimitResponse.REJECT), 1, Clock())
    first = start(reject, "a")
    assert ready(first)
    assert reject.start_nowait(flow_hash("fs", "b"), 1) == (None, CONCURRENCY_LIMIT)
    reject.finish(first)
    assert start(reject, "b").ready


async def test_cancel_takes_a_waiting_request_out() -> None:
    qs = QueueSet(level(), 1, Clock())
    running = start(qs, "a")
    waiting = start(qs, "b")
    assert qs.cancel(waiting) is True
    assert qs.statistics().waiting_requests == 0
    qs.finish(running)
    assert qs.seats_in_use == 0
    assert qs.cancel(running) is False  # already dispatched: the caller must finish it


async def test_counters_return_to_zero() -> None:
    clock = Clock()
    qs = QueueSet(level(), 3, clock)
    h = Harness(qs, clock)
    for i in range(40):
        h.start(f"f{i % 5}", seats=1 + i % 3)
    while len(h.finished) < 40:
        h.finish_one()
    stats = qs.statistics()
    assert (stats.executing_seats, stats.waiting_requests, stats.waiting_seats) == (0, 0, 0)
    assert qs.active_queues == 0 and qs.demanded == 0


async def test_a_quiet_flows_get_is_not_held_behind_a_busy_flows_wide_list() -> None:
    """4 wide LISTs of flow `ta` hold 40 of 49 seats and more are queued (each needs 10: they
    wait); a GET of flow `tb` needs 1 of the 9 free seats and runs at once -- the queue chosen is
    the one whose head finishes first in virtual time, not a wide head that cannot fit."""
    clock = Clock()
    h = Harness(QueueSet(level(queues=128, hand_size=6), concurrency_limit=49, clock=clock), clock)
    for i in range(4):  # four flows: one flow may hold at most 3/4 of the seats
        assert ready(h.start(f"ta{i}", seats=10))
    backlog = [h.start("ta", seats=10) for _ in range(20)]
    assert not any(ready(r) for r in backlog)
    clock.now += 1.0
    assert ready(h.start("tb"))


async def test_a_get_may_use_seats_a_blocked_wide_head_cannot() -> None:
    """The wide head of a long-waiting flow has the smallest virtual finish but does not fit
    (40 of 49 seats held by LISTs whose clients read slowly). kube would hold the GET behind
    it; here it takes one of the 9 idle seats, and the head still starts as soon as one LIST
    ends."""
    clock = Clock()
    qs = QueueSet(level(queues=128, hand_size=6), concurrency_limit=49, clock=clock)
    h = Harness(qs, clock)
    lists = [h.start(f"storm{i}", seats=10) for i in range(4)]
    head = h.start("storm", seats=10)
    clock.now += 60.0  # the storm's queue is owed service: its head finishes first
    get = h.start("probe")
    assert ready(get) and not ready(head)
    qs.finish(lists[0])
    assert ready(head)


async def test_backfill_never_starves_the_wide_head() -> None:
    """49 narrow requests of as many flows run, and new ones keep arriving from new flows, each
    taking 0.5 s; the waiting 10-seat head still starts: narrow heads go first only while their
    virtual finish is smaller (virtual time must pass 9 seats x 3 s), never by backfill past
    the bound."""
    clock = Clock()
    qs = QueueSet(level(queues=128, hand_size=6), concurrency_limit=49, clock=clock)
    h = Harness(qs, clock)
    for i in range(49):
        h.start(f"n{i}")
    wide = h.start("wide", seats=10)
    steps = 0
    while not ready(wide) and steps < 400:
        h.finish_one(0.5)
        h.start(f"new{steps}")
        steps += 1
    assert ready(wide), "the wide head starved"
    assert steps <= 120


async def test_one_flow_holds_at_most_three_quarters_of_the_seats() -> None:
    """A flow whose LISTs never finish (clients that do not read) takes 30 of 49 seats (3 x 10;
    a fourth would pass 36); other flows' requests still run. A flow with nothing executing
    may always start one request, however wide."""
    clock = Clock()
    qs = QueueSet(level(queues=128, hand_size=6), concurrency_limit=49, clock=clock)
    held = [start(qs, "greedy", seats=10) for _ in range(6)]
    assert [ready(r) for r in held] == [True, True, True, False, False, False]
    others = [start(qs, f"other{i}") for i in range(19)]
    assert all(ready(r) for r in others)
    small = QueueSet(level(), concurrency_limit=4, clock=clock)
    assert ready(start(small, "wide", seats=4))  # alone: more than its share, still runs


async def test_a_cancelled_head_lets_the_next_request_start() -> None:
    """A 10-seat head waits (5 of 10 seats held); a GET waits behind it in the same queue. When
    the head leaves (time-out, client gone), the GET starts at once."""
    clock = Clock()
    qs = QueueSet(level(queues=1, hand_size=1), concurrency_limit=10, clock=clock)
    running = start(qs, "a", seats=5)
    head = start(qs, "b", seats=10)
    get = start(qs, "c")
    assert ready(running) and not ready(head) and not ready(get)
    assert qs.cancel(head)
    assert ready(get)
