"""API Priority and Fairness for one process: classify, wait for seats, release them.

kube-apiserver's staging/src/k8s.io/apiserver/pkg/util/flowcontrol/apf_controller.go and
filters/priority-and-fairness.go, for configuration read once at start (flowcontrol/settings.py)
instead of watched FlowSchema/PriorityLevelConfiguration objects:

- Each Limited level's concurrency limit is its share of `server_concurrency_limit`:
  ceil(limit x shares / sum of all Limited levels' shares) (kube's nominal limit). Levels do not
  borrow from one another (kube's lendablePercent/borrowingLimitPercent are not implemented).
- A request waits at most `queue_wait_limit_seconds` in its queue (kube: a quarter of the
  request timeout), then is rejected `time-out`; rejections answer 429 with `Retry-After` from a
  per-level tracker of recent rejections (dropped_requests_tracker.go).
- Exempt levels never wait; they are counted.

Owner: the event loop; `admit` is the only coroutine, the rest is synchronous.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from watchproxy.flowcontrol.bootstrap import effective_configuration
from watchproxy.flowcontrol.matching import RequestDigest, classify
from watchproxy.flowcontrol.queueset import CANCELLED, TIME_OUT, QueueSet, Request, flow_hash
from watchproxy.flowcontrol.settings import (
    FlowControlSettings,
    FlowSchema,
    LevelType,
    PriorityLevel,
)

# kube's apiserver_flowcontrol_request_wait_duration_seconds buckets (flowcontrol/metrics).
WAIT_BUCKETS: Final = (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0)
# Request shapes whose classification is remembered; past it the memory starts over.
_CLASSIFIED_CACHE: Final = 8192
# dropped_requests_tracker.go maxRetryAfter.
MAX_RETRY_AFTER: Final = 32

# The UIDs in the X-Kubernetes-PF-*-UID response headers: stable per name, so a client sees the
# same UID across replicas and restarts (kube sends the objects' UIDs, not their names).
_UID_NAMESPACE: Final = uuid.UUID("6ba7b812-9dad-11d1-80b4-00c04fd430c8")


def object_uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_UID_NAMESPACE, f"watchproxy/{kind}/{name}"))


@dataclass(frozen=True, slots=True)
class Classification:
    """A request's schema, level and flow (hash of schema name and distinguisher)."""

    schema: FlowSchema
    level: PriorityLevel
    flow: int
    schema_uid: str
    level_uid: str


class Rejected(Exception):
    """The request gets 429: `reason` is kube's (queue-full, concurrency-limit, time-out)."""

    def __init__(self, classification: Classification, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.classification = classification
        self.reason = reason
        self.retry_after = retry_after


class ClientGone(Exception):
    """The request's client left while it waited in a queue: nothing is answered."""


class _RetryAfter:
    """dropped_requests_tracker.go: Retry-After starts at 1 s; it doubles (at most once per its
    own length, up to 32 s) while rejections in the last Retry-After seconds reach 3 x it, and
    comes down by one when they are fewer than it."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.value = 1
        self._raised_at = -math.inf
        self._drops: deque[float] = deque()

    def dropped(self) -> int:
        now = self._clock()
        self._drops.append(now)
        horizon = now - min(2 * self.value, MAX_RETRY_AFTER)
        while self._drops and self._drops[0] < horizon:
            self._drops.popleft()
        recent = sum(1 for t in self._drops if t >= now - self.value)
        if now - self._raised_at >= self.value and recent >= 3 * self.value:
            self.value = min(2 * self.value, MAX_RETRY_AFTER)
            self._raised_at = now
        elif recent < self.value and self.value > 1:
            self.value -= 1
        return self.value


@dataclass
class _Counters:
    dispatched: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    waiting: int = 0
    executing: int = 0
    executing_seats: int = 0
    # Wait-duration histogram per outcome ("true": executed, "false": rejected while waiting).
    waits: dict[str, list[int]] = field(
        default_factory=lambda: {"true": [0] * len(WAIT_BUCKETS), "false": [0] * len(WAIT_BUCKETS)}
    )
    wait_sums: dict[str, float] = field(default_factory=lambda: {"true": 0.0, "false": 0.0})
    wait_counts: dict[str, int] = field(default_factory=lambda: {"true": 0, "false": 0})


class Admission:
    """A dispatched request's seats; `release()` gives them back (idempotent)."""

    __slots__ = ("_counters", "_queueset", "_request", "classification")

    def __init__(
        self,
        classification: Classification,
        queueset: QueueSet | None,
        request: Request | None,
        counters: _Counters,
    ) -> None:
        self.classification = classification
        self._queueset = queueset
        self._request = request
        self._counters = counters

    def release(self) -> None:
        request, self._request = self._request, None
        if request is None:
            return
        self._counters.executing -= 1
        self._counters.executing_seats -= request.seats
        if self._queueset is not None:
            self._queueset.finish(request)


class FlowController:
    """Classification and admission (see the module docstring)."""

    def __init__(
        self, settings: FlowControlSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._clock = clock
        levels, self.schemas = effective_configuration(settings)
        self.levels = {level.name: level for level in levels}
        shares = sum(p.nominal_concurrency_shares for p in levels if p.type is LevelType.LIMITED)
        self.queuesets: dict[str, QueueSet] = {}
        for level in levels:
            if level.type is LevelType.LIMITED:
                limit = math.ceil(
                    settings.server_concurrency_limit * level.nominal_concurrency_shares / shares
                )
                self.queuesets[level.name] = QueueSet(level, limit, clock)
        self._retry = {name: _RetryAfter(clock) for name in self.levels}
        self._counters: dict[tuple[str, str], _Counters] = defaultdict(_Counters)
        self._classified: dict[tuple[object, ...], Classification] = {}
        self._uids = {
            **{("fs", s.name): object_uid("flowschemas", s.name) for s in self.schemas},
            **{("pl", p.name): object_uid("prioritylevelconfigurations", p.name) for p in levels},
        }

    def classify(self, digest: RequestDigest) -> Classification:
        """The request's schema, level and flow. Remembered per distinct request shape (user,
        groups, verb, group, resource, namespace, tenant; the path for non-resource requests):
        a client repeats its requests, and a full pass over the schemas costs some 50 times a
        remembered one (`python -m bench.flowcontrol_cost`)."""
        user = digest.user
        key = (
            user.name, user.groups, digest.verb, digest.is_resource_request,
            digest.api_group, digest.resource, digest.namespace, digest.tenant,
            "" if digest.is_resource_request else digest.path,
        )  # fmt: skip
        known = self._classified.get(key)
        if known is not None:
            return known
        if len(self._classified) >= _CLASSIFIED_CACHE:
            self._classified.clear()
        known = self._classified[key] = self._classify(digest)
        return known

    def _classify(self, digest: RequestDigest) -> Classification:
        schema, distinguisher = classify(self.schemas, digest)
        return Classification(
            schema=schema,
            level=self.levels[schema.priority_level],
            flow=flow_hash(schema.name, distinguisher),
            schema_uid=self._uids["fs", schema.name],
            level_uid=self._uids["pl", schema.priority_level],
        )

    def seat_limit(self, level: PriorityLevel) -> int:
        """The most seats one request may take at `level` (kube caps a request's width at the
        level's limit, so a wide request can always eventually run)."""
        queueset = self.queuesets.get(level.name)
        return queueset.concurrency_limit if queueset is not None else 1

    async def admit(
        self,
        classification: Classification,
        seats: int,
        gone: Callable[[], Awaitable[object]] | None = None,
    ) -> Admission:
        """Wait for `seats` at the request's level; raises Rejected (429) when its queue is full,
        the level rejects, or the wait reaches `queue_wait_limit_seconds`, and ClientGone when
        `gone()` (started only if the request has to wait) completes first: its client left,
        so it leaves its queue (kube: the request context is cancelled)."""
        key = (classification.level.name, classification.schema.name)
        counters = self._counters[key]
        queueset = self.queuesets.get(classification.level.name)
        if queueset is None:  # Exempt
            counters.dispatched += 1
            return Admission(classification, None, None, counters)
        seats = max(1, min(seats, queueset.concurrency_limit))
        request, reason = queueset.start_nowait(classification.flow, seats)
        if request is None:
            raise self._reject(classification, counters, reason, 0.0)
        if not request.ready:
            assert request.waiter is not None
            counters.waiting += 1
            watcher = asyncio.ensure_future(gone()) if gone is not None else None
            waits: tuple[asyncio.Future[Any], ...] = (request.waiter,)
            try:
                # asyncio.wait, not wait_for: a time-out must not cancel the future, which may be
                # resolved in the same loop iteration (then the request runs).
                await asyncio.wait(
                    waits if watcher is None else (*waits, watcher),
                    timeout=self.settings.queue_wait_limit_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if watcher is not None and watcher.done():
                    raise ClientGone
            except (asyncio.CancelledError, ClientGone):
                # The client went away (or the server stops) while it waited.
                if queueset.cancel(request):
                    counters.rejected[CANCELLED] += 1
                else:
                    queueset.finish(request)
                raise
            finally:
                counters.waiting -= 1
                if watcher is not None and not watcher.done():
                    watcher.cancel()
            if queueset.cancel(request):
                raise self._reject(
                    classification, counters, TIME_OUT, self._clock() - request.arrived
                )
        self._observe_wait(counters, "true", request.started - request.arrived)
        counters.dispatched += 1
        counters.executing += 1
        counters.executing_seats += request.seats
        return Admission(classification, queueset, request, counters)

    def _reject(
        self, classification: Classification, counters: _Counters, reason: str, waited: float
    ) -> Rejected:
        counters.rejected[reason] += 1
        self._observe_wait(counters, "false", waited)
        retry_after = self._retry[classification.level.name].dropped()
        return Rejected(classification, reason, retry_after)

    @staticmethod
    def _observe_wait(counters: _Counters, execute: str, seconds: float) -> None:
        buckets = counters.waits[execute]
        for i, bound in enumerate(WAIT_BUCKETS):
            if seconds <= bound:
                buckets[i] += 1
        counters.wait_sums[execute] += seconds
        counters.wait_counts[execute] += 1

    # -- visibility ------------------------------------------------------------------------------

    def counters(self) -> dict[tuple[str, str], _Counters]:
        """Per (priority level, flow schema): read by the metrics collector at scrape time."""
        return self._counters

    def statistics(self) -> dict[str, Any]:
        """/debug/stats `flow_control`: kube's dump_priority_levels and dump_queues in one."""
        levels: dict[str, Any] = {}
        for name, level in self.levels.items():
            queueset = self.queuesets.get(name)
            entry: dict[str, Any] = {
                "type": level.type.value,
                "nominal_concurrency_shares": level.nominal_concurrency_shares,
                "retry_after_seconds": self._retry[name].value,
            }
            if queueset is not None:
                stats = queueset.statistics()
                entry.update(
                    limit_response=level.limit_response.value,
                    concurrency_limit=stats.concurrency_limit,
                    executing_requests=stats.executing_requests,
                    executing_seats=stats.executing_seats,
                    waiting_requests=stats.waiting_requests,
                    waiting_seats=stats.waiting_seats,
                    non_empty_queues={str(i): n for i, n in enumerate(stats.queue_lengths) if n},
                    virtual_time_seat_seconds=round(stats.virtual_time, 3),
                )
            levels[name] = entry
        per_schema = {
            f"{pl}/{fs}": {
                "dispatched": c.dispatched,
                "rejected": dict(c.rejected),
                "waiting": c.waiting,
                "executing": c.executing,
            }
            for (pl, fs), c in sorted(self._counters.items())
        }
        return {
            "enabled": True,
            "server_concurrency_limit": self.settings.server_concurrency_limit,
            "queue_wait_limit_seconds": self.settings.queue_wait_limit_seconds,
            "priority_levels": levels,
            "flow_schemas": [
                {
                    "name": s.name,
                    "priority_level": s.priority_level,
                    "matching_precedence": s.matching_precedence,
                    "distinguisher_method": s.distinguisher_method,
                }
                for s in self.schemas
            ],
            "requests": per_schema,
        }
