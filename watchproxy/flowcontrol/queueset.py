"""Fair queuing for one priority level: shuffle-sharded queues, seats, virtual time.

The model is kube-apiserver's queueset
(staging/src/k8s.io/apiserver/pkg/util/flowcontrol/fairqueuing/queueset/queueset.go, KEP-1040):

- A flow (schema + distinguisher) hashes to a *hand* of `hand_size` of the level's queues
  (shuffle sharding); a request joins the hand's queue with the fewest seats waiting and
  executing. A full queue (`queue_length_limit` requests) rejects it: `queue-full`.
- A request occupies `seats` of the level's concurrency limit while it executes (a LIST of many
  objects is wider than a GET: flowcontrol/estimate.py). A head that does not fit waits.
  kube lets nothing overtake it; here narrower requests may use the seats it cannot, within a
  bound that guarantees it a turn once the requests as wide as it finish (`_backfills`), so a
  GET does not wait seconds behind a LIST whose client reads slowly while seats stand idle.
- Dispatch picks the queue whose next request would *finish* first in virtual time: the queue's
  `next_dispatch_r` plus that request's work (seats x ESTIMATED_SERVICE_SECONDS, in
  seat-seconds), so a narrow GET of a quiet flow goes before a wide LIST of a busy one even when
  the busy queue is owed service. Virtual time `current_r` advances at min(seats demanded,
  limit) / active queues per second, so each active queue progresses at the same rate, and a
  queue's `next_dispatch_r` is never below its head's arrival (kube's anti-windup bound).
- Each dispatched request charges its queue `seats x ESTIMATED_SERVICE_SECONDS` up front, and the
  estimate is corrected with the real duration when it finishes (kube's the same).
- `limit_response: Reject` levels have no queues: a request that does not fit at once is
  rejected with `concurrency-limit`.

Owner: the event loop; every method is synchronous (no await inside), so each is atomic with
respect to other requests. Concurrency: callers await `Request.waiter` outside.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from watchproxy.flowcontrol.settings import LimitResponse, PriorityLevel

# kube's queueset estimatedServiceDuration: the work charged to a queue at dispatch, per seat,
# corrected by the real duration at finish.
ESTIMATED_SERVICE_SECONDS: Final = 3.0

# Hands remembered per level; past it the cache starts over (a flood of distinct flows costs a
# deal per request, as without the cache).
_HAND_CACHE: Final = 4096

QUEUE_FULL: Final = "queue-full"
CONCURRENCY_LIMIT: Final = "concurrency-limit"
TIME_OUT: Final = "time-out"
CANCELLED: Final = "cancelled"


class Request:
    """One request at one level: waiting in a queue, then executing, then finished."""

    __slots__ = (
        "arrival_r", "arrived", "flow", "queue", "ready", "seats", "started", "waiter", "work",
    )  # fmt: skip

    def __init__(self, seats: int, arrived: float, flow: int = 0) -> None:
        self.seats = seats
        self.flow = flow
        self.arrived = arrived
        self.started = 0.0
        self.work = 0.0
        self.arrival_r = 0.0  # virtual time when it joined its queue
        self.queue: _Queue | None = None
        self.ready = False  # dispatched: it holds its seats until `finish`
        # Only for a request that has to wait (most do not): resolved when it is dispatched,
        # cancelled when it leaves its queue without.
        self.waiter: asyncio.Future[bool] | None = None


class _Queue:
    __slots__ = ("executing_seats", "index", "next_dispatch_r", "waiting", "waiting_seats")

    def __init__(self, index: int) -> None:
        self.index = index
        self.waiting: deque[Request] = deque()
        self.waiting_seats = 0
        self.executing_seats = 0
        self.next_dispatch_r = 0.0

    @property
    def active(self) -> bool:
        # By seats (every request has at least one), so it is read right around deque changes.
        return self.waiting_seats > 0 or self.executing_seats > 0


@dataclass(frozen=True, slots=True)
class QueueSetStatistics:
    """A snapshot for /debug/stats and the apiserver_flowcontrol_* gauges."""

    concurrency_limit: int
    executing_requests: int
    executing_seats: int
    waiting_requests: int
    waiting_seats: int
    queue_lengths: tuple[int, ...]
    virtual_time: float


def flow_hash(schema: str, distinguisher: str) -> int:
    """A stable 64-bit hash of a flow (kube hashes the schema name and distinguisher too)."""
    digest = hashlib.blake2b(f"{schema}\0{distinguisher}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def deal_hand(hash_value: int, deck_size: int, hand_size: int) -> list[int]:
    """`hand_size` distinct queue indexes out of `deck_size`, from the hash's mixed-radix digits
    (kube's shufflesharding.Dealer: digit i has radix deck_size - i, and picks the digit-th card
    still in the deck)."""
    deck = list(range(deck_size))
    hand: list[int] = []
    for i in range(hand_size):
        radix = deck_size - i
        hash_value, digit = divmod(hash_value, radix)
        hand.append(deck.pop(digit))
    return hand


class QueueSet:
    """The queues and seats of one Limited priority level (see the module docstring)."""

    def __init__(
        self,
        level: PriorityLevel,
        concurrency_limit: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.level = level
        self.concurrency_limit = concurrency_limit
        self._clock = clock
        queues = level.queues if level.limit_response is LimitResponse.QUEUE else 0
        self.queues = [_Queue(i) for i in range(queues)]
        self.seats_in_use = 0
        self.executing = 0
        self.waiting = 0
        # Kept as counters, not summed over the queues per call: virtual time is synced on every
        # arrival and finish. `demanded`: seats waiting or executing in queues.
        self.active_queues = 0
        self.demanded = 0
        self.current_r = 0.0
        self._last_real = clock()
        # Seats one flow may hold: three quarters of the level (at least 1), so a quarter always
        # stays for the others (see `_flow_may_add`).
        self.flow_seat_limit = max(1, concurrency_limit * 3 // 4)
        self._flow_seats: dict[int, int] = {}
        # seats -> how many executing requests have that width (for the backfill bound).
        self._executing_widths: dict[int, int] = {}
        # flow hash -> its hand: dealing costs a list of every queue; flows repeat.
        self._hands: dict[int, tuple[_Queue, ...]] = {}
        self._robin = 0

    # -- virtual time ----------------------------------------------------------------------------

    def _sync_time(self) -> float:
        now = self._clock()
        elapsed = now - self._last_real
        self._last_real = now
        if self.active_queues:
            rate = min(self.demanded, self.concurrency_limit) / self.active_queues
            self.current_r += elapsed * rate
        return now

    def _change(self, queue: _Queue, waiting: int, executing: int) -> None:
        """Move seats in or out of a queue's waiting and executing sums, keeping the counters."""
        was = queue.active
        queue.waiting_seats += waiting
        queue.executing_seats += executing
        self.demanded += waiting + executing
        self.active_queues += queue.active - was

    # -- the request's life ----------------------------------------------------------------------

    def start_nowait(self, hash_value: int, seats: int) -> tuple[Request | None, str]:
        """Queue (or at once dispatch) a request of `seats`; (None, reason) when rejected.

        The returned request is `ready` when it could start at once; else its `waiter` future
        resolves when it is dispatched. Must be called from the event loop's thread.
        """
        now = self._sync_time()
        request = Request(seats, now, hash_value)
        if not self.queues:
            if not self._fits(seats) or not self._flow_may_add(hash_value, seats):
                return None, CONCURRENCY_LIMIT
            self._dispatch(request, now)
            return request, ""
        queue = self._choose_queue(hash_value)
        if len(queue.waiting) >= self.level.queue_length_limit:
            return None, QUEUE_FULL
        if not queue.active:
            # An idle queue starts at the present: it earns no credit for having been idle.
            queue.next_dispatch_r = max(queue.next_dispatch_r, self.current_r)
        request.queue = queue
        if not self.waiting and self._fits(seats) and self._flow_may_add(hash_value, seats):
            # Nothing waits anywhere: start now, charged to the queue as if dispatched from it.
            self._change(queue, 0, seats)
            self._dispatch(request, now)
            return request, ""
        request.waiter = asyncio.get_running_loop().create_future()
        request.arrival_r = self.current_r
        queue.waiting.append(request)
        self.waiting += 1
        self._change(queue, seats, 0)
        self._dispatch_as_possible(now)
        return request, ""

    def cancel(self, request: Request) -> bool:
        """Take a still-waiting request out of its queue (time-out, client gone). False when it
        was dispatched meanwhile: the caller must execute it and `finish` it."""
        if request.ready:
            return False
        queue = request.queue
        if queue is not None and request in queue.waiting:
            self._sync_time()
            queue.waiting.remove(request)
            self.waiting -= 1
            self._change(queue, -request.seats, 0)
            # Its leaving may unblock others: it may have been the head too wide to fit.
            self._dispatch_as_possible(self._last_real)
        if request.waiter is not None:
            request.waiter.cancel()
        return True

    def finish(self, request: Request) -> None:
        """The request's execution is over: free its seats, correct its queue's charge by the
        real duration, and dispatch what now fits."""
        now = self._sync_time()
        self.seats_in_use -= request.seats
        self.executing -= 1
        widths = self._executing_widths
        widths[request.seats] -= 1
        if not widths[request.seats]:
            del widths[request.seats]
        flows = self._flow_seats
        flows[request.flow] -= request.seats
        if not flows[request.flow]:
            del flows[request.flow]
        queue = request.queue
        if queue is not None:
            self._change(queue, 0, -request.seats)
            actual = request.seats * (now - request.started)
            queue.next_dispatch_r -= request.work - actual
            _bound(queue)
        self._dispatch_as_possible(now)

    # -- internals -------------------------------------------------------------------------------

    def _backfills(self, seats: int, blocked: int) -> bool:
        """May a request of `seats` start while a head of `blocked` seats waits for room?

        kube never lets anything pass a head that does not fit (queueset.go), so a 1-seat GET
        can wait seconds behind a 10-seat LIST whose client reads slowly, with 9 seats idle.
        Here it may, if it is narrower, fits now, and all executing requests narrower than the
        head (itself included) keep within `limit - blocked` seats: then, once the requests at
        least as wide as the head finish, `blocked` seats are free whatever the narrow ones do,
        so the head waits no longer than it would have without the backfill.
        """
        if seats >= blocked or self.seats_in_use + seats > self.concurrency_limit:
            return False
        narrow = sum(w * n for w, n in self._executing_widths.items() if w < blocked)
        return narrow + seats <= self.concurrency_limit - blocked

    def _flow_may_add(self, flow: int, seats: int) -> bool:
        """watchproxy's per-flow cap (kube has none): a flow holds at most `flow_seat_limit` of
        the level's seats, so one flow whose clients stop reading their LISTs cannot take every
        seat and leave other flows nothing but 429s. A flow with nothing executing may always
        start one request, however wide."""
        held = self._flow_seats.get(flow, 0)
        return held == 0 or held + seats <= self.flow_seat_limit

    def _fits(self, seats: int) -> bool:
        # A request wider than the whole limit may still run alone (kube caps seats at the limit).
        return self.seats_in_use + seats <= self.concurrency_limit or self.seats_in_use == 0

    def _choose_queue(self, hash_value: int) -> _Queue:
        hand = self._hands.get(hash_value)
        if hand is None:
            if len(self._hands) >= _HAND_CACHE:
                self._hands.clear()
            indexes = deal_hand(hash_value, len(self.queues), self.level.hand_size)
            hand = self._hands[hash_value] = tuple(self.queues[i] for i in indexes)
        best: _Queue | None = None
        best_load = 0
        for queue in hand:
            load = queue.waiting_seats + queue.executing_seats
            if best is None or load < best_load:
                best, best_load = queue, load
        assert best is not None
        return best

    def _dispatch(self, request: Request, now: float) -> None:
        request.started = now
        self.seats_in_use += request.seats
        self.executing += 1
        widths = self._executing_widths
        widths[request.seats] = widths.get(request.seats, 0) + 1
        flows = self._flow_seats
        flows[request.flow] = flows.get(request.flow, 0) + request.seats
        queue = request.queue
        if queue is not None:
            request.work = request.seats * ESTIMATED_SERVICE_SECONDS
            queue.next_dispatch_r += request.work
        request.ready = True
        if request.waiter is not None and not request.waiter.done():
            request.waiter.set_result(True)

    def _dispatch_as_possible(self, now: float) -> None:
        while True:
            queue = self._next_queue()
            if queue is None:
                return
            head = queue.waiting[0]
            if not self._fits(head.seats):
                # The chosen head is too wide for the seats free now. A narrower head may use
                # those stranded seats only within the backfill bound, which keeps the wide head
                # from being starved (see `_backfills`).
                queue = self._next_queue(narrower_than=head.seats)
                if queue is None:
                    return
                head = queue.waiting[0]
            queue.waiting.popleft()
            self.waiting -= 1
            self._change(queue, -head.seats, head.seats)
            self._dispatch(head, now)
            _bound(queue)

    def _next_queue(self, narrower_than: int = 0) -> _Queue | None:
        """The non-empty queue whose head has the smallest virtual finish; ties round-robin.
        With `narrower_than`: only heads of fewer seats that may backfill (see `_backfills`)."""
        if not self.waiting:
            return None
        best: _Queue | None = None
        best_finish = 0.0
        count = len(self.queues)
        start = self._robin
        for offset in range(count):
            queue = self.queues[(start + offset) % count]
            if not queue.waiting:
                continue
            head = queue.waiting[0]
            if not self._flow_may_add(head.flow, head.seats):
                continue  # its flow holds its share; the queue waits, others go on
            if narrower_than and not self._backfills(head.seats, narrower_than):
                continue
            finish = queue.next_dispatch_r + queue.waiting[0].seats * ESTIMATED_SERVICE_SECONDS
            if best is None or finish < best_finish:
                best, best_finish = queue, finish
        if best is not None:
            self._robin = (best.index + 1) % count
        return best

    def statistics(self) -> QueueSetStatistics:
        return QueueSetStatistics(
            concurrency_limit=self.concurrency_limit,
            executing_requests=self.executing,
            executing_seats=self.seats_in_use,
            waiting_requests=self.waiting,
            waiting_seats=sum(q.waiting_seats for q in self.queues),
            queue_lengths=tuple(len(q.waiting) for q in self.queues),
            virtual_time=self.current_r,
        )


def _bound(queue: _Queue) -> None:
    """kube's boundNextDispatchLocked: a queue's next virtual start is never before its head's
    arrival, so a queue that was served slowly earns no credit for the past."""
    if queue.waiting and queue.next_dispatch_r < queue.waiting[0].arrival_r:
        queue.next_dispatch_r = queue.waiting[0].arrival_r
