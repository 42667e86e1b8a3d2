"""Behind a real load balancer (issue 8): haproxy (Debian's package) with `balance leastconn` and
`/readyz` health checks in front of 3 `watchproxy serve` replicas over 2 etcd shards. A writer
and resuming watchers go through haproxy while one replica is rolled (SIGTERM, wait for its exit,
start it again on the same port) and another is killed (SIGKILL, started again later).

The writer creates ConfigMap `seq-<n>` with `data.seq = n`, n = 0, 1, 2, ..., alternating between
a namespace of shard-a and one of shard-b, one write at a time: write n+1 is sent only after
write n was acknowledged, so the writes commit in sequence order. A write is acknowledged by a
201, or by a 409 AlreadyExists on a retry (the earlier attempt committed but its answer was
lost with the replica that made it); the fixed name per n is what makes a retry unable to
create a duplicate. Every failed attempt is retried (bounded).

The watchers are client-go reflectors: LIST, then watch from the list's resourceVersion with
`allowWatchBookmarks=true` and a short `timeoutSeconds`; when a stream ends or breaks they watch
again from the last resourceVersion they saw (event or bookmark), landing on whichever replica
haproxy picks; on 410 (at watch start or in-band) they LIST again. Two watch one namespace each
(a single shard: plain revisions), two watch all ConfigMaps of the run (the merged view over
both shards: composite tokens that another replica must resume exactly), and a fifth, lagging
one watches all of them too but leaves after 100 events of each stream and comes back only once
its position has fallen out of the replicas' history (HISTORY_SIZE): it must get a 410 and
relist, so the relist path is exercised in every run, not only when a restart happens to cause
one.

What is asserted, per watcher and per namespace (a shard: order is defined per shard only, since
two shards have no common clock and replicas may interleave them differently, see
docs/resource-versions.md), within each stretch from one LIST to the next ("epoch"):
- no duplicates: no n arrives twice, nor as an event after it was in the LIST;
- no reordering: the n of the events rise strictly, and start above the LIST's highest n;
- no loss: between two consecutive n the watcher received (or the LIST's highest n and the
  first event), no acknowledged write is missing, and a LIST holds every acknowledged n below
  its highest (a LIST cannot skip one either);
- at the end, LIST + events of the last epoch hold every acknowledged write: a watcher that
  relisted must still end with every acknowledged object, which for create-only writes is the
  whole final state;
- only ADDED events, each for an object the writer sent (name matches `data.seq`).
Writes that were never acknowledged may appear or not (their outcome is unknown), but at most
once and in order. Then: fewer than 1% of the writes failed on their first attempt, every write
was acknowledged in the end, the rolled replica exited 0, and watches resumed on other replicas.

test_checker_* prove the checker goes red on each kind of fault, on hand-made records.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
import pytest

from tests.integration.conftest import (
    ProxyProcess,
    make_namespace,
    quiet_config,
    running_etcd_pair,
)
from tests.integration.haproxy import Haproxy, find_haproxy
from watchproxy.etcd.server import free_port

NAMESPACES: Final = ("acme-lb", "globex-lb")  # tenant acme -> shard-a, globex -> shard-b
RUN_LABEL: Final = "rollout.watchproxy.io/run"
RUN: Final = "rollout"
# Long enough that haproxy (checks every 200 ms, fall 2) takes a terminating replica out of
# rotation before its listener closes; short enough to keep the test quick.
SHUTDOWN_DELAY_SECONDS: Final = 1.5
# Writes acknowledged between disruptions: progress, not wall time, paces the scenario.
WRITES_BETWEEN_STEPS: Final = 300
# One write every 10 ms at most, so a 2-core machine keeps up with etcd, 3 replicas, haproxy
# and 5 watchers, and haproxy's 200 ms health checks are never starved.
WRITE_INTERVAL_SECONDS: Final = 0.01
# Bounds against hangs (never timing assertions).
MAX_WRITES: Final = 20_000
MAX_ATTEMPTS: Final = 20
SCENARIO_DEADLINE_SECONDS: Final = 60.0
CATCH_UP_SECONDS: Final = 20.0
# Short watches: every watcher re-watches (through haproxy, often on another replica) many times.
WATCH_SECONDS: Final = (2, 6)
# ConfigMap events each replica keeps for resuming watches. Small, so that the lagging watcher
# (which waits for 2 x this many writes between its streams) is certain to get a 410 and relist;
# the others resume within a few events of where they were.
HISTORY_SIZE: Final = 300


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """One object as a watcher got it: from a LIST (type "LIST") or a watch event."""

    type: str
    namespace: str
    name: str
    seq: int


@dataclass
class Epoch:
    """What a watcher knows from one LIST on: the listed objects, then the events after them."""

    listed: list[Seen]
    events: list[Seen] = field(default_factory=list)


@dataclass
class WriteLog:
    attempted: list[int] = field(default_factory=list)
    acked: dict[int, str] = field(default_factory=dict)  # seq -> namespace
    attempts: int = 0
    first_attempt_failures: int = 0
    acked_by_409: int = 0
    failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def name_of(seq: int) -> str:
    return f"seq-{seq:06d}"


def namespace_of(seq: int) -> str:
    return NAMESPACES[seq % len(NAMESPACES)]


# -- the checker ----------------------------------------------------------------------------------


def check_epochs(
    epochs: list[Epoch], namespaces: tuple[str, ...], acked: dict[int, str], attempted: set[int]
) -> list[str]:
    """Every way the record of one watcher breaks the rules in the module docstring."""
    problems: list[str] = []
    for ns in namespaces:
        acked_ns = sorted(s for s, n in acked.items() if n == ns)
        for number, epoch in enumerate(epochs):
            where = f"{ns} epoch {number}"
            for seen in [*epoch.listed, *epoch.events]:
                if seen.type not in ("LIST", "ADDED"):
                    problems.append(f"{where}: unexpected {seen.type} of {seen.name}")
                if seen.seq not in attempted or seen.name != name_of(seen.seq):
                    problems.append(f"{where}: {seen.name} (seq {seen.seq}) was never written")
                if seen.namespace != namespace_of(seen.seq):
                    problems.append(f"{where}: {seen.name} in namespace {seen.namespace}")
            listed = {s.seq for s in epoch.listed if s.namespace == ns}
            top = max(listed, default=-1)
            lost_in_list = [s for s in acked_ns if s < top and s not in listed]
            if lost_in_list:
                problems.append(f"{where}: the LIST lacks acknowledged seq {lost_in_list[:5]}")
            previous = top
            received = set(listed)
            for seen in (e for e in epoch.events if e.namespace == ns):
                if seen.seq in received:
                    problems.append(f"{where}: duplicate seq {seen.seq}")
                    continue
                received.add(seen.seq)
                if seen.seq < previous:
                    problems.append(f"{where}: seq {seen.seq} after seq {previous} (reordered)")
                    continue
                lost = acked_ns[bisect_right(acked_ns, previous) : bisect_left(acked_ns, seen.seq)]
                if lost:
                    problems.append(
                        f"{where}: lost acknowledged seq {lost[:5]} between {previous} and "
                        f"{seen.seq}"
                    )
                previous = seen.seq
        if epochs:
            last = epochs[-1]
            final = {s.seq for s in [*last.listed, *last.events] if s.namespace == ns}
            missing = [s for s in acked_ns if s not in final]
            if missing:
                problems.append(
                    f"{ns}: ends without acknowledged seq {missing[:5]} ({len(missing)} in all)"
                )
        elif acked_ns:
            problems.append(f"{ns}: never listed")
    return problems


# -- the writer -----------------------------------------------------------------------------------


def write_loop(url: str, log: WriteLog, stop: threading.Event) -> None:
    """Create seq-0, seq-1, ... one at a time until `stop`; retry each until acknowledged."""
    deadline = time.monotonic() + SCENARIO_DEADLINE_SECONDS + CATCH_UP_SECONDS
    with httpx.Client(base_url=url, timeout=10) as api:
        seq = 0
        while not stop.is_set() and seq < MAX_WRITES and time.monotonic() < deadline:
            started = time.monotonic()
            ns = namespace_of(seq)
            body = {
                "metadata": {"name": name_of(seq), "labels": {RUN_LABEL: RUN}},
                "data": {"seq": str(seq)},
            }
            log.attempted.append(seq)
            for attempt in range(MAX_ATTEMPTS):
                log.attempts += 1
                try:
                    r = api.post(f"/api/v1/namespaces/{ns}/configmaps", json=body)
                    status, detail = r.status_code, r.text[:200]
                except httpx.HTTPError as exc:
                    status, detail = 0, repr(exc)[:200]
                if status == 201:
                    log.acked[seq] = ns
                    break
                if status == 409 and r.json().get("reason") == "AlreadyExists":
                    if attempt == 0:
                        # Nobody else writes these names: a 409 at once is a real duplicate.
                        log.problems.append(f"seq {seq}: 409 on the first attempt: {detail}")
                    else:
                        log.acked[seq] = ns  # an earlier attempt committed
                        log.acked_by_409 += 1
                    break
                if attempt == 0:
                    log.first_attempt_failures += 1
                log.failures.append(f"seq {seq} attempt {attempt + 1}: HTTP {status} {detail}")
                time.sleep(0.05 * (attempt + 1))
            seq += 1
            time.sleep(max(0.0, WRITE_INTERVAL_SECONDS - (time.monotonic() - started)))


# -- the watchers ---------------------------------------------------------------------------------


class Watcher:
    """A client-go reflector over HTTP on its own thread: LIST, watch from the list's RV, re-watch
    from the last RV seen when a stream ends or breaks, LIST again on 410."""

    def __init__(
        self,
        name: str,
        path: str,
        namespaces: tuple[str, ...],
        url: str,
        *,
        lag: Callable[[threading.Event], None] | None = None,
        events_per_stream: int = 0,
    ) -> None:
        self.name = name
        self.path = path
        self.namespaces = namespaces
        self.url = url
        self.params = {"labelSelector": f"{RUN_LABEL}={RUN}"}
        self.epochs: list[Epoch] = []
        self.rv: str | None = None
        self.seen_max = dict.fromkeys(namespaces, -1)
        self.streams = 0
        self.ended = 0
        self.broken = 0
        self.moves = 0  # streams served by another replica than the stream before
        self.relists: Counter[str] = Counter()
        self.start_errors: Counter[int] = Counter()
        self.served_by: Counter[str] = Counter()
        self.errors: list[str] = []
        self.stop = threading.Event()
        # A lagging client: it closes each stream after `events_per_stream` events and calls
        # `lag` before watching again.
        self.lag = lag
        self.events_per_stream = events_per_stream
        self.lag_next = False
        self.rng = random.Random(name)
        self.thread = threading.Thread(target=self._run, name=f"watcher-{name}", daemon=True)

    @property
    def events(self) -> int:
        return sum(len(e.events) for e in self.epochs)

    @property
    def listed(self) -> int:
        return sum(len(e.listed) for e in self.epochs)

    def caught_up(self, acked: dict[int, str]) -> bool:
        return all(
            self.seen_max[ns] >= max((s for s, n in acked.items() if n == ns), default=-1)
            for ns in self.namespaces
        )

    def _seen(self, kind: str, obj: dict[str, Any]) -> Seen:
        meta = obj["metadata"]
        seq = int((obj.get("data") or {}).get("seq", "-1"))
        ns = meta.get("namespace", "")
        if ns in self.seen_max:
            self.seen_max[ns] = max(self.seen_max[ns], seq)
        return Seen(kind, ns, meta["name"], seq)

    def _list(self, api: httpx.Client) -> None:
        r = api.get(self.path, params=self.params)
        if r.status_code != 200:
            self.start_errors[r.status_code] += 1
            time.sleep(0.2)
            return
        body = orjson.loads(r.content)
        self.epochs.append(Epoch([self._seen("LIST", item) for item in body["items"]]))
        self.rv = body["metadata"]["resourceVersion"]
        self.lag_next = False  # a fresh LIST is watched from at once

    def _run(self) -> None:
        deadline = time.monotonic() + SCENARIO_DEADLINE_SECONDS + CATCH_UP_SECONDS
        last_server = ""
        # Bookmarks come every second (bookmark_interval_seconds: 1), so a read never waits long.
        timeout = httpx.Timeout(10, read=15)
        with httpx.Client(base_url=self.url, timeout=timeout) as api:
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    if self.rv is None:
                        self._list(api)
                        continue
                    if self.lag is not None and self.lag_next:
                        self.lag_next = False
                        self.lag(self.stop)
                    params = {
                        **self.params,
                        "watch": "true",
                        "allowWatchBookmarks": "true",
                        "resourceVersion": self.rv,
                        "timeoutSeconds": str(self.rng.randint(*WATCH_SECONDS)),
                    }
                    with api.stream("GET", self.path, params=params) as r:
                        if r.status_code == 410:
                            self.relists["watch start 410"] += 1
                            self.rv = None
                            continue
                        if r.status_code != 200:
                            self.start_errors[r.status_code] += 1
                            time.sleep(0.2)
                            continue
                        server = r.headers.get("x-served-by", "?")
                        self.streams += 1
                        self.served_by[server] += 1
                        self.moves += bool(last_server and server != last_server)
                        last_server = server
                        self._consume(r)
                    self.lag_next = True
                except httpx.HTTPError as exc:
                    # The replica died mid-stream (haproxy cuts the chunked body) or the request
                    # failed: watch again from the last resourceVersion, as a reflector does.
                    self.broken += 1
                    if len(self.errors) < 20:
                        self.errors.append(repr(exc)[:200])
                    time.sleep(0.1)

    def _consume(self, r: httpx.Response) -> None:
        received = 0
        for line in r.iter_lines():
            if self.stop.is_set():
                return
            if not line:
                continue
            event = orjson.loads(line)
            kind, obj = event["type"], event["object"]
            if kind == "ERROR":
                if obj.get("code") == 410:
                    self.relists["in-band 410"] += 1
                    self.rv = None
                elif len(self.errors) < 20:
                    self.errors.append(f"ERROR event: {obj}"[:200])
                return
            self.rv = obj["metadata"]["resourceVersion"]
            if kind != "BOOKMARK":
                self.epochs[-1].events.append(self._seen(kind, obj))
                received += 1
                if received == self.events_per_stream:
                    return  # the client goes away (closing the response closes the stream)
        self.ended += 1


# -- the fleet ------------------------------------------------------------------------------------


@dataclass
class Fleet:
    replicas: list[ProxyProcess]
    lb: Haproxy


@pytest.fixture()
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    """2 etcd shards, 3 replicas, haproxy in front; everything stopped even when the test fails."""
    try:
        find_haproxy()
    except FileNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    with running_etcd_pair(tmp_path / "etcd") as etcds:
        config = quiet_config(
            [s.endpoint for s in etcds],
            shutdown_delay_seconds=SHUTDOWN_DELAY_SECONDS,
            history_size=HISTORY_SIZE,
        )
        replicas = [ProxyProcess(config, tmp_path, f"r{i}") for i in range(3)]
        lb: Haproxy | None = None
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(ProxyProcess.start, replicas))
            lb = Haproxy(
                tmp_path,
                listen_port=free_port(),
                servers=[(f"r{i}", p.port) for i, p in enumerate(replicas)],
                watch_seconds=WATCH_SECONDS[1],
            )
            lb.start()
            yield Fleet(replicas, lb)
        finally:
            if lb is not None:
                lb.stop()
            # SIGTERM all first, then wait: each takes its shutdown delay, in parallel.
            for p in replicas:
                if p.proc is not None and p.proc.poll() is None:
                    p.proc.terminate()
            for p in replicas:
                p.stop()


def wait_for(what: str, condition: Callable[[], bool], timeout: float) -> None:
    """Poll until `condition()`; fail naming `what` after `timeout` (a bound, not a timing
    assertion: every condition here is expected to hold well inside it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.02)


@pytest.mark.etcd
def test_writes_and_resuming_watches_survive_a_rollout_and_a_kill_behind_haproxy(
    fleet: Fleet,
) -> None:
    began = time.monotonic()
    lb, replicas = fleet.lb, fleet.replicas
    with httpx.Client(base_url=lb.url, timeout=10) as api:
        for ns in NAMESPACES:
            make_namespace(api, ns)
    writes = WriteLog()
    stop_writes = threading.Event()

    def lag(stop: threading.Event) -> None:
        """Stay away until the history no longer reaches back to this watcher's position."""
        target = len(writes.acked) + 2 * HISTORY_SIZE
        while len(writes.acked) < target and not stop_writes.is_set() and not stop.is_set():
            time.sleep(0.02)

    watchers = [
        Watcher(
            "acme-ns", f"/api/v1/namespaces/{NAMESPACES[0]}/configmaps", NAMESPACES[:1], lb.url
        ),
        Watcher(
            "globex-ns", f"/api/v1/namespaces/{NAMESPACES[1]}/configmaps", NAMESPACES[1:], lb.url
        ),
        Watcher("merged-1", "/api/v1/configmaps", NAMESPACES, lb.url),
        Watcher("merged-2", "/api/v1/configmaps", NAMESPACES, lb.url),
        Watcher(
            "merged-lagging",
            "/api/v1/configmaps",
            NAMESPACES,
            lb.url,
            lag=lag,
            events_per_stream=100,
        ),
    ]
    lagging = watchers[-1]
    writer = threading.Thread(target=write_loop, args=(lb.url, writes, stop_writes), daemon=True)
    steps: list[str] = []
    try:
        for w in watchers:
            w.thread.start()
        wait_for("every watcher's first LIST", lambda: all(w.epochs for w in watchers), 20)
        writer.start()

        def progress(count: int) -> None:
            target = len(writes.acked) + count
            wait_for(f"{count} more acknowledged writes", lambda: len(writes.acked) >= target, 30)

        progress(WRITES_BETWEEN_STEPS)
        # Roll r0: SIGTERM; haproxy sees /readyz fail and moves new requests away while r0
        # keeps serving for its shutdown delay; its watches end with a bookmark; it exits 0.
        rolled = replicas[0]
        assert rolled.proc is not None
        rolled.proc.send_signal(signal.SIGTERM)
        lb.wait_states({"r0": "DOWN"}, timeout=10)
        assert rolled.proc.wait(30) == 0, rolled.log()[-3000:]
        steps.append(f"r0 rolled (SIGTERM, exit 0) at write {len(writes.attempted)}")
        rolled.start()
        lb.wait_states({"r0": "UP"}, timeout=20)
        steps.append(f"r0 back in rotation at write {len(writes.attempted)}")

        progress(WRITES_BETWEEN_STEPS)
        # Kill r1: its in-flight requests and watches break; haproxy's checks take it out.
        killed = replicas[1]
        assert killed.proc is not None
        killed.proc.kill()
        killed.proc.wait(10)
        steps.append(f"r1 killed (SIGKILL) at write {len(writes.attempted)}")
        lb.wait_states({"r1": "DOWN"}, timeout=10)
        progress(WRITES_BETWEEN_STEPS)  # run on two replicas for a while
        killed.start()
        lb.wait_states({"r1": "UP"}, timeout=20)
        steps.append(f"r1 restarted, back in rotation at write {len(writes.attempted)}")

        progress(WRITES_BETWEEN_STEPS)
        stop_writes.set()
        writer.join(30)
        assert not writer.is_alive(), "the writer did not stop"
        wait_for(
            "every watcher to see the last acknowledged write",
            lambda: all(w.caught_up(writes.acked) for w in watchers),
            CATCH_UP_SECONDS,
        )
    finally:
        stop_writes.set()
        for w in watchers:
            w.stop.set()
        for w in watchers:
            w.thread.join(20)
    assert not any(w.thread.is_alive() for w in watchers), "a watcher did not stop"

    written = len(writes.attempted)
    failed_pct = 100 * writes.first_attempt_failures / max(1, written)
    problems = list(writes.problems)
    attempted = set(writes.attempted)
    for w in watchers:
        problems += [
            f"{w.name}: {p}" for p in check_epochs(w.epochs, w.namespaces, writes.acked, attempted)
        ]
    report = [
        f"scenario took {time.monotonic() - began:.1f} s: " + "; ".join(steps),
        f"writes: {written} sent, {len(writes.acked)} acknowledged "
        f"({writes.acked_by_409} of them by 409 AlreadyExists on a retry), "
        f"{writes.first_attempt_failures} failed on the first attempt ({failed_pct:.2f}%), "
        f"{writes.attempts} attempts",
        *(f"  failed attempt: {f}" for f in writes.failures[:10]),
    ]
    for w in watchers:
        report.append(
            f"watcher {w.name}: {w.events} events and {w.listed} listed objects checked, "
            f"{len(w.epochs) - 1} relists "
            f"{dict(w.relists)}, {w.streams} streams ({w.ended} ended, {w.broken} broken), "
            f"{w.moves} resumed on another replica, served by {dict(sorted(w.served_by.items()))}"
            + (f", start errors {dict(w.start_errors)}" if w.start_errors else "")
        )
        report += [f"  {w.name}: {e}" for e in w.errors[:5]]
    changes = [ln for ln in lb.log().splitlines() if ln.startswith("[WARNING]") and "Server " in ln]
    report.append(
        f"haproxy: {sum('is DOWN' in ln for ln in changes)} servers marked DOWN, "
        f"{sum('is UP' in ln for ln in changes)} UP"
    )
    print("\n" + "\n".join(report))

    assert not problems, "\n".join(problems[:40])
    assert written >= 4 * WRITES_BETWEEN_STEPS
    assert failed_pct < 1.0, report[1]
    assert len(writes.acked) == written, "writes never acknowledged after their retries"
    assert sum(w.moves for w in watchers) > 0, "no watch resumed on another replica"
    assert sum(lagging.relists.values()) > 0, "the lagging watcher never relisted"


# -- the checker can fail -------------------------------------------------------------------------


def _seen(seq: int, kind: str = "ADDED") -> Seen:
    return Seen(kind, namespace_of(seq), name_of(seq), seq)


ACKED: Final = {s: namespace_of(s) for s in range(8)}
ACME: Final = NAMESPACES[:1]  # seq 0, 2, 4, 6


@pytest.mark.parametrize(
    ("epochs", "wanted"),
    [
        pytest.param([Epoch([], [_seen(s) for s in (0, 2, 4, 6)])], [], id="all in order passes"),
        pytest.param(
            [Epoch([], [_seen(0), _seen(2)]), Epoch([_seen(0), _seen(2), _seen(4)], [_seen(6)])],
            [],
            id="relist with a complete LIST passes",
        ),
        pytest.param(
            [Epoch([], [_seen(s) for s in (0, 2, 6)])],
            ["lost acknowledged seq [4] between 2 and 6", "ends without acknowledged seq [4]"],
            id="a lost event fails",
        ),
        pytest.param(
            [Epoch([], [_seen(s) for s in (0, 2, 2, 4, 6)])],
            ["duplicate seq 2"],
            id="a duplicate fails",
        ),
        pytest.param(
            [Epoch([_seen(0), _seen(2)], [_seen(s) for s in (2, 4, 6)])],
            ["duplicate seq 2"],
            id="an event replayed after the LIST fails",
        ),
        pytest.param(
            [Epoch([], [_seen(s) for s in (0, 4, 2, 6)])],
            ["lost acknowledged seq [2] between 0 and 4", "seq 2 after seq 4 (reordered)"],
            id="a reordering fails",
        ),
        pytest.param(
            [Epoch([_seen(0), _seen(4)], [_seen(6)])],
            ["the LIST lacks acknowledged seq [2]", "ends without acknowledged seq [2]"],
            id="a LIST missing a write fails",
        ),
        pytest.param(
            [Epoch([], [_seen(0), _seen(2)])],
            ["ends without acknowledged seq [4, 6]"],
            id="a watcher that stopped early fails",
        ),
        pytest.param(
            [Epoch([], [_seen(0), _seen(2, "MODIFIED"), _seen(4), _seen(6)])],
            ["unexpected MODIFIED of seq-000002"],
            id="an unexpected event type fails",
        ),
    ],
)
def test_checker_catches_each_fault(epochs: list[Epoch], wanted: list[str]) -> None:
    problems = check_epochs(epochs, ACME, ACKED, set(ACKED))
    assert len(problems) == len(wanted), problems
    for text, problem in zip(wanted, problems, strict=True):
        assert text in problem


def test_checker_allows_an_unacknowledged_write_once() -> None:
    acked = {s: n for s, n in ACKED.items() if s != 4}  # seq 4's outcome is unknown
    assert check_epochs([Epoch([], [_seen(s) for s in (0, 2, 6)])], ACME, acked, set(ACKED)) == []
    assert (
        check_epochs([Epoch([], [_seen(s) for s in (0, 2, 4, 6)])], ACME, acked, set(ACKED)) == []
    )
    assert check_epochs(
        [Epoch([], [_seen(s) for s in (0, 2, 4, 4, 6)])], ACME, acked, set(ACKED)
    ) == [f"{NAMESPACES[0]} epoch 0: duplicate seq 4"]
