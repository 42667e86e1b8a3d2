"""Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it
(staging/src/k8s.io/client-go/tools/leaderelection/leaderelection.go, resourcelock/leaselock.go).

One replica at a time runs each built-in controller. A candidate reads the Lease every retry
period (jittered by client-go's JitterFactor 1.2) and takes it when it is free or when its record
has not changed for `leaseDurationSeconds` *as measured on the candidate's own clock since it
first saw that record* (client-go's observedTime: no trust in other machines' clocks). The leader
renews every retry period; if no renewal succeeds within the renew deadline, or the Lease names
another holder, it stops leading: its work is cancelled before any other candidate can have
waited out the lease duration (renew deadline < lease duration). Every write carries the
resourceVersion last read (optimistic concurrency), so two candidates never both win one term.

Lease shape (LeaderElectionRecordToLeaseSpec): `spec.holderIdentity` (`hostname_pid_random`),
`spec.leaseDurationSeconds` (int), `spec.acquireTime` and `spec.renewTime` (MicroTime,
`2006-01-02T15:04:05.000000Z`), `spec.leaseTransitions` (+1 each time the holder changes).
On a graceful stop the leader releases the Lease (client-go's ReleaseOnCancel: empty holder,
leaseDurationSeconds 1) so a standby takes over at its next retry instead of after the duration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from watchproxy.api.status import ApiError
from watchproxy.config import JITTER_FACTOR, ControllerSettings
from watchproxy.registry.objects import Located, Written
from watchproxy.registry.options import WriteOptions
from watchproxy.registry.store import Store

log = logging.getLogger("watchproxy.controllers")
JsonObject = dict[str, Any]
LEASE_NAMESPACE = "kube-system"
_MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.RFC3339Micro


def micro_time(at: datetime) -> str:
    """metav1.MicroTime as JSON: RFC 3339 with microseconds, UTC."""
    return at.astimezone(UTC).strftime(_MICRO_TIME)


def new_identity() -> str:
    """`hostname_pid_random`: unique per process (kube-controller-manager uses hostname_uuid;
    the pid tells an operator which worker of a replica leads)."""
    return f"{socket.gethostname()}_{os.getpid()}_{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """resourcelock.LeaderElectionRecord as kept in a Lease's spec."""

    holder: str
    lease_duration_seconds: int
    acquire_time: str
    renew_time: str
    transitions: int

    def spec(self) -> JsonObject:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }

    @classmethod
    def from_spec(cls, spec: Any) -> LeaseRecord:
        """LeaseSpecToLeaderElectionRecord: missing fields read as zero values."""
        spec = spec if isinstance(spec, dict) else {}

        def integer(key: str) -> int:
            value = spec.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            lease_duration_seconds=integer("leaseDurationSeconds"),
            acquire_time=str(spec.get("acquireTime") or ""),
            renew_time=str(spec.get("renewTime") or ""),
            transitions=integer("leaseTransitions"),
        )


def next_record(
    *,
    observed: LeaseRecord,
    observed_valid: bool,
    identity: str,
    lease_duration_seconds: int,
    now: datetime,
) -> LeaseRecord | None:
    """tryAcquireOrRenew's decision on an existing Lease: the record to write, or None while
    another holder's lease is still valid. `observed_valid`: the observed record changed less
    than its leaseDurationSeconds ago on this candidate's clock (client-go isLeaseValid)."""
    stamp = micro_time(now)
    if observed.holder and observed.holder != identity and observed_valid:
        return None
    if observed.holder == identity:
        return replace(observed, lease_duration_seconds=lease_duration_seconds, renew_time=stamp)
    return LeaseRecord(
        holder=identity,
        lease_duration_seconds=lease_duration_seconds,
        acquire_time=stamp,
        renew_time=stamp,
        transitions=observed.transitions + 1,
    )


class LeaseConflict(Exception):
    """The Lease changed (or appeared) since it was read: this try lost."""


class LeaseClient(Protocol):
    """Narrow access to one Lease (client-go's resourcelock.Interface)."""

    def describe(self) -> str: ...

    async def get(self) -> tuple[LeaseRecord, str] | None:
        """The record and the Lease's resourceVersion, or None when there is no Lease."""

    async def create(self, record: LeaseRecord) -> str:
        """Create the Lease; its resourceVersion. Raises LeaseConflict if it exists."""

    async def update(self, record: LeaseRecord, resource_version: str) -> str:
        """Write the record if the Lease is still at `resource_version`; the new one. Raises
        LeaseConflict otherwise."""


class StoreLeases:
    """A Lease in `kube-system`, read and written through the registry Store (in-process, with
    the same admission and preconditions as the HTTP path)."""

    def __init__(self, store: Store, name: str, namespace: str = LEASE_NAMESPACE) -> None:
        self.store = store
        self.name = name
        self.namespace = namespace
        self.leases = store.resource("leases", "coordination.k8s.io")

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> tuple[LeaseRecord, str] | None:
        found = await self.store.locate(self.leases, self.namespace, self.name)
        if found is None:
            return None
        return LeaseRecord.from_spec(found.obj.get("spec")), str(found.kv.mod_revision)

    async def create(self, record: LeaseRecord) -> str:
        async def attempt() -> Written:
            body = {"metadata": {"name": self.name}, "spec": record.spec()}
            try:
                return await self.store.create(self.leases, self.namespace, body, WriteOptions())
            except ApiError as exc:
                if exc.code == 409:
                    raise LeaseConflict(str(exc)) from exc
                raise

        try:
            written = await attempt()
        except ApiError as exc:
            if exc.code != 404 or (exc.details or {}).get("kind") != "namespaces":
                raise
            # kube-apiserver creates kube-system at start-up (its system namespaces controller);
            # against a bare etcd the first candidate does.
            await self._create_namespace()
            written = await attempt()
        return str(written.revision)

    async def _create_namespace(self) -> None:
        namespaces = self.store.resource("namespaces")
        body = {"metadata": {"name": self.namespace}}
        try:
            await self.store.create(namespaces, "", body, WriteOptions())
        except ApiError as exc:
            if exc.code != 409:
                raise

    async def update(self, record: LeaseRecord, resource_version: str) -> str:
        def compute(current: Located) -> JsonObject:
            return {
                **current.obj,
                "metadata": {**current.obj["metadata"], "resourceVersion": resource_version},
                "spec": {**(current.obj.get("spec") or {}), **record.spec()},
            }

        try:
            written = await self.store.update(
                self.leases,
                namespace=self.namespace,
                name=self.name,
                subresource="",
                compute=compute,
                options=WriteOptions(),
            )
        except ApiError as exc:
            if exc.code in (404, 409):
                raise LeaseConflict(str(exc)) from exc
            raise
        return str(written.revision)


class LeaderElector:
    """Owner: the controller runner's task group (one elector per controller and process).

    Concurrency: `run` is the only coroutine; `leading` may be read by any task.
    """

    def __init__(self, *, leases: LeaseClient, identity: str, settings: ControllerSettings) -> None:
        self.leases = leases
        self.identity = identity
        self.lease_duration = settings.lease_duration_seconds
        self.renew_deadline = settings.renew_deadline_seconds
        self.retry_period = settings.retry_period_seconds
        self.leading = False
        self._observed: LeaseRecord | None = None
        self._observed_at = 0.0  # loop time at which `_observed` last changed
        self._resource_version = ""

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forever: acquire the Lease, run `lead()` while renewing it, cancel `lead()` when the
        Lease is lost and start over. Releases the Lease when cancelled while leading."""
        try:
            while True:
                await self._acquire()
                self.leading = True
                log.info("%s: %s acquired the lease", self.leases.describe(), self.identity)
                try:
                    async with asyncio.TaskGroup() as group:
                        work = group.create_task(lead(), name=f"lead {self.leases.describe()}")
                        await self._renew_until_lost()
                        work.cancel()
                finally:
                    self.leading = False
                log.warning("%s: %s lost the lease", self.leases.describe(), self.identity)
        finally:
            await self._release()

    async def _acquire(self) -> None:
        """client-go acquire: try every retry period x (1 + rand x 1.2) until a try succeeds."""
        while True:
            if await self._try():
                return
            await asyncio.sleep(self.retry_period * (1 + random.random() * JITTER_FACTOR))

    async def _renew_until_lost(self) -> None:
        """client-go renew: every retry period, retry the renewal until it succeeds or the renew
        deadline passes (then return: lost). Returns at once when another holder appears."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.retry_period)
            deadline = loop.time() + self.renew_deadline
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        renewed = await self._try()
                except TimeoutError:
                    return
                if renewed:
                    break
                if self._observed is not None and self._observed.holder not in (
                    "",
                    self.identity,
                ):
                    return  # someone else holds it: stop now, not after the deadline
                if loop.time() + self.retry_period >= deadline:
                    return
                await asyncio.sleep(self.retry_period)

    async def _try(self) -> bool:
        """tryAcquireOrRenew (the slow path: read, decide, write with the read's version)."""
        loop = asyncio.get_running_loop()
        now = datetime.now(UTC)
        try:
            current = await self.leases.get()
            if current is None:
                stamp = micro_time(now)
                record = LeaseRecord(self.identity, self.lease_duration, stamp, stamp, 0)
                self._resource_version = await self.leases.create(record)
                self._observe(record, loop.time())
                return True
            observed, version = current
            if observed != self._observed:
                self._observe(observed, loop.time())
            valid = self._observed_at + observed.lease_duration_seconds > loop.time()
            wanted = next_record(
                observed=observed,
                observed_valid=valid,
                identity=self.identity,
                lease_duration_seconds=self.lease_duration,
                now=now,
            )
            if wanted is None:
                return False
            self._resource_version = await self.leases.update(wanted, version)
            self._observe(wanted, loop.time())
            return True
        except LeaseConflict:
            return False
        except ApiError as exc:
            log.warning("%s: cannot read or write the lease: %s", self.leases.describe(), exc)
            return False

    def _observe(self, record: LeaseRecord, at: float) -> None:
        self._observed = record
        self._observed_at = at

    async def _release(self) -> None:
        """client-go release: hand the Lease back (empty holder, 1 s) if this process holds it."""
        observed = self._observed
        if observed is None or observed.holder != self.identity:
            return
        stamp = micro_time(datetime.now(UTC))
        record = LeaseRecord("", 1, stamp, stamp, observed.transitions)
        try:
            async with asyncio.timeout(1.0):
                await self.leases.update(record, self._resource_version)
            log.info("%s: %s released the lease", self.leases.describe(), self.identity)
        except (LeaseConflict, ApiError, TimeoutError) as exc:
            log.warning("%s: could not release the lease: %s", self.leases.describe(), exc)
        self._observed = record
