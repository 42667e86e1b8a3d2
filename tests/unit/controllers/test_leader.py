"""Lease election (controllers/leader.py) against client-go's leaderelection.go rules, with an
in-memory Lease (optimistic concurrency by resourceVersion) and short real durations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.controllers.polling import wait_for
from watchproxy.api.status import ApiError
from watchproxy.config import ControllerSettings
from watchproxy.controllers.leader import (
    LeaderElector,
    LeaseConflict,
    LeaseRecord,
    micro_time,
    new_identity,
    next_record,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
STAMP = "2026-01-01T12:00:00.123456Z"
EARLIER = "2025-12-31T00:00:00.000000Z"


def held(holder: str, transitions: int = 3) -> LeaseRecord:
    return LeaseRecord(holder, 15, EARLIER, EARLIER, transitions)


def test_micro_time_and_identity() -> None:
    assert micro_time(NOW) == STAMP
    host, pid, rand = new_identity().rsplit("_", 2)
    assert host and pid.isdigit() and len(rand) == 8


def test_record_round_trips_through_the_lease_spec() -> None:
    record = held("a", 7)
    assert record.spec() == {
        "holderIdentity": "a",
        "leaseDurationSeconds": 15,
        "acquireTime": EARLIER,
        "renewTime": EARLIER,
        "leaseTransitions": 7,
    }
    assert LeaseRecord.from_spec(record.spec()) == record
    assert LeaseRecord.from_spec({}) == LeaseRecord("", 0, "", "", 0)


@pytest.mark.parametrize(
    ("observed", "valid", "expected"),
    [
        pytest.param(held("other"), True, None, id="another holder, lease valid: wait"),
        pytest.param(
            held("other"),
            False,
            LeaseRecord("me", 10, STAMP, STAMP, 4),
            id="another holder, expired: take it, transitions + 1",
        ),
        pytest.param(
            held(""),
            True,
            LeaseRecord("me", 10, STAMP, STAMP, 4),
            id="released (empty holder): take it at once",
        ),
        pytest.param(
            held("me"),
            True,
            LeaseRecord("me", 10, EARLIER, STAMP, 3),
            id="own lease: renew, keep acquireTime and transitions",
        ),
        pytest.param(
            held("me"),
            False,
            LeaseRecord("me", 10, EARLIER, STAMP, 3),
            id="own lease seen expired: still a renewal",
        ),
    ],
)
def test_try_acquire_or_renew_decision(
    observed: LeaseRecord, valid: bool, expected: LeaseRecord | None
) -> None:
    got = next_record(
        observed=observed,
        observed_valid=valid,
        identity="me",
        lease_duration_seconds=10,
        now=NOW,
    )
    assert got == expected


class Lease:
    """One Lease object: a record and a resourceVersion bumped by every write."""

    def __init__(self) -> None:
        self.record: LeaseRecord | None = None
        self.version = 0
        self.writes: list[LeaseRecord] = []


class FakeLeases:
    """A LeaseClient over a shared Lease; `cut` simulates losing the connection."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.cut = False

    def describe(self) -> str:
        return "kube-system/test"

    def _check(self) -> None:
        if self.cut:
            raise ApiError(503, "ServiceUnavailable", "etcd shard unavailable")

    async def get(self) -> tuple[LeaseRecord, str] | None:
        self._check()
        if self.lease.record is None:
            return None
        return self.lease.record, str(self.lease.version)

    async def create(self, record: LeaseRecord) -> str:
        self._check()
        if self.lease.record is not None:
            raise LeaseConflict("exists")
        return self._write(record)

    async def update(self, record: LeaseRecord, resource_version: str) -> str:
        self._check()
        if resource_version != str(self.lease.version):
            raise LeaseConflict("stale")
        return self._write(record)

    def _write(self, record: LeaseRecord) -> str:
        self.lease.record = record
        self.lease.version += 1
        self.lease.writes.append(record)
        return str(self.lease.version)


# Renew deadline well under the lease duration: a cut-off leader stops long before a standby
# may take over, so the order below does not hang on scheduling luck.
# Margins wide enough for a loaded 2-core CI machine: a renewal may be late by up to the renew
# deadline (1.5 s) before the leader steps down, and the standby waits the lease duration (4 s),
# so the leader has stopped well before the standby can start.
SETTINGS = ControllerSettings(
    lease_duration_seconds=4, renew_deadline_seconds=1.5, retry_period_seconds=0.1
)


async def test_one_leader_and_failover_after_the_leader_is_cut_off() -> None:
    lease = Lease()
    log: list[str] = []

    def work(name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def lead() -> None:
            log.append(f"{name} starts")
            try:
                await asyncio.Event().wait()
            finally:
                log.append(f"{name} stops")

        return lead

    a_leases, b_leases = FakeLeases(lease), FakeLeases(lease)
    a = LeaderElector(leases=a_leases, identity="a", settings=SETTINGS)
    b = LeaderElector(leases=b_leases, identity="b", settings=SETTINGS)
    async with asyncio.TaskGroup() as group:
        run_a = group.create_task(a.run(work("a")))
        await wait_for(lambda: a.leading, "a leads")
        run_b = group.create_task(b.run(work("b")))
        renewals = len(lease.writes)
        await wait_for(lambda: len(lease.writes) >= renewals + 3, "a renews")
        assert not b.leading and log == ["a starts"]

        a_leases.cut = True  # a can no longer renew: it must stop before b takes over
        # `leading` is set before the work task first runs: wait for the work itself.
        await wait_for(lambda: b.leading and "b starts" in log, "b leads")
        assert log == ["a starts", "a stops", "b starts"]
        assert lease.record is not None and lease.record.holder == "b"
        assert lease.record.transitions == 1
        assert not a.leading
        run_a.cancel()
        run_b.cancel()


async def test_cancelled_leader_releases_the_lease() -> None:
    """client-go ReleaseOnCancel: an empty holder with a 1 s duration, which a standby may take
    at its next try instead of waiting out the lease duration."""
    lease = Lease()

    async def idle() -> None:
        await asyncio.Event().wait()

    a = LeaderElector(leases=FakeLeases(lease), identity="a", settings=SETTINGS)
    b = LeaderElector(leases=FakeLeases(lease), identity="b", settings=SETTINGS)
    async with asyncio.TaskGroup() as group:
        run_a = group.create_task(a.run(idle))
        await wait_for(lambda: a.leading, "a leads")
        run_b = group.create_task(b.run(idle))
        run_a.cancel()
        await wait_for(lambda: b.leading, "b leads")
        run_b.cancel()
    holders = [w.holder for w in lease.writes]
    released = holders.index("")
    assert set(holders[:released]) == {"a"} and set(holders[released + 1 :]) <= {"", "b"}
    assert lease.writes[released].lease_duration_seconds == 1
    assert lease.writes[released + 1] == LeaseRecord(
        "b",
        SETTINGS.lease_duration_seconds,
        lease.writes[released + 1].acquire_time,
        lease.writes[released + 1].renew_time,
        1,
    )
