"""What authentication and authorization cost (docs/benchmarks.md, "Authentication and
authorization"): small GETs and watch fan-out, security off and on, on loopback.

    .venv/bin/python -m bench.authz [--runs 3] [--seconds 5] [--clients 16] [--watch-seconds 10]
        [--rate 20] [--ns-watchers 100] [--cluster-watchers 4] [--only gets,predicate,watch]
        [--modes open,allow,rbac,tenant,tenant-ns]

Two etcd shards (tenant `ta` on shard-a, `tb` on shard-b). Seeded once: 500 pods in `ta-ns-00`
(bench/model.py), 50 namespaces, 500 RoleBindings and 50 ClusterRoleBindings for other users
and groups (written through the proxy with a `system:masters` token), plus the bootstrap roles
the proxy writes itself. Every secure mode authenticates with the same bearer token file over TLS
(certificates from watchproxy/devpki.py); the pre-security reference is plain HTTP with no
`authentication` section (the open loopback admin). Each run starts one `watchproxy serve` per
mode, all at once, so that the modes are measured side by side under the same background load
(this machine's 2 cores are shared), and stops them at its end.

GETs (`--only gets`): `--clients` keep-alive aiohttp connections each GET one pod
(`/api/v1/namespaces/ta-ns-00/pods/p-000000`, a consistent read) in a loop. The modes take turns
in 1-s slices (0.2 s of ramp before each is counted; the order rotates from slice to slice) until
each had `--seconds`. Figures: requests/s, and CPU (utime + stime from /proc) per request of the
mode's proxy, of etcd and of this client process. Modes:

- `open`: plain HTTP, no `authentication` (every caller an anonymous admin);
- `allow`: TLS + token, `authorization.modes: [AlwaysAllow]` -- the baseline of the ratios;
- `rbac`: TLS + token, `[Node, RBAC]`, the user bound to ClusterRole `view` by a RoleBinding;
- `tenant`: as `rbac`, and the user is a subject of tenant `ta` (the tenant check runs too).

Watch fan-out (`--only watch`): per mode, 100 watches of the pods of `ta-ns-00` and 4 of all pods,
each from the resourceVersion of a LIST of its path, run in this process with bench/clients.py's
stream parser. `--rate` pod updates/s straight into etcd for `--watch-seconds`, all in
`ta-ns-00`: every event goes to all 104 watches of every proxy at the same moment. Figure: each
proxy's CPU from the first write until the last delivery (of all proxies), per delivery. Every
watcher's stream is checked by sequence (bench/analysis.py: every (revision, pod) in order, none
lost, repeated or misattributed). Modes: `open`, `allow`, `rbac` (user bound to `view` by a
ClusterRoleBinding), `tenant` (the same, as a subject of tenant `ta`: every watch carries the
tenant predicate, the cluster-wide ones are served from shard-a alone with plain revisions) and
`tenant-ns` (a tenant subject with only a RoleBinding in `ta-ns-00`: its cluster-wide watch is
narrowed to that namespace).

`--only predicate` times `CacheWatcher.classify` in process for each watch filter shape those
modes make (no etcd, no proxy). Tables show medians and ranges over runs; ratios are taken
within each run and their median shown. Results also go to `bench/results/authz-<time>.json`;
the exit status is 1 if a GET failed or a stream check did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import ssl
import statistics
import sys
import time
import timeit
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final, cast

import aiohttp
import numpy as np
import orjson

from bench import metrics
from bench.analysis import Expectation, WatcherPlan, analyse
from bench.clients import HttpWatch, HttpWatcherDef, Recorder, WatcherState
from bench.cluster import Cluster, ProxyProcess, run_in_workdir
from bench.model import SHARD_NAMES, TENANTS, Population
from bench.runinfo import elapsed_log, load_average, machine_info, run_header, save_results
from bench.writer import bulk_put, paced_writes
from watchproxy.api.view import tenant_predicate
from watchproxy.config import parse_settings
from watchproxy.core.history import EventHistory
from watchproxy.core.objects import MODIFIED, CachedObject, CacheEvent, build_object
from watchproxy.core.selectors import FieldSelector, LabelSelector
from watchproxy.core.watcher import CacheWatcher, WatchFilter
from watchproxy.devpki import DevPki, ensure_pki
from watchproxy.etcd.client import EtcdClient
from watchproxy.proxy import Proxy as WatchProxy
from watchproxy.resources import Registry
from watchproxy.tenancy import Tenancy

POP: Final = Population(nodes=1, pods=500, namespaces_per_tenant=1)  # all pods in ta-ns-00
NS: Final = POP.pod_namespace(0)
POD_PATH: Final = f"/api/v1/namespaces/{NS}/pods/{POP.pod_name(0)}"
RBAC_API: Final = "/apis/rbac.authorization.k8s.io/v1"
TEAM_NAMESPACES: Final = 49  # + ta-ns-00: 50 namespaces holding 10 RoleBindings each
OTHER_ROLE_BINDINGS: Final = 500
OTHER_CLUSTER_ROLE_BINDINGS: Final = 50
WATCH_TIMEOUT_S: Final = 300
SLICE_S: Final = 1.0  # GETs: the modes take turns in slices this long
RAMP_S: Final = 0.2  # ... each begun this long before it is counted

GET_MODES: Final = ("open", "allow", "rbac", "tenant")
WATCH_MODES: Final = ("open", "allow", "rbac", "tenant", "tenant-ns")
BASELINE: Final = "allow"
# The identity each mode acts as (a token user), and whether it is a subject of tenant `ta`.
GET_USER: Final = "reader"
WATCH_USER: Final = {
    "allow": "watcher", "rbac": "watcher", "tenant": "tenant-watcher",
    "tenant-ns": "tenant-ns-watcher",
}  # fmt: skip
TENANT_SUBJECTS: Final = {
    "tenant": [GET_USER, "tenant-watcher"], "tenant-ns": ["tenant-ns-watcher"],
}  # fmt: skip
ROLE_BINDINGS_OF_OURS: Final = (("reader", NS), ("tenant-ns-watcher", NS))
CLUSTER_ROLE_BINDINGS_OF_OURS: Final = ("watcher", "tenant-watcher")


# -- security set-up ---------------------------------------------------------------------------


@dataclass
class Security:
    pki: DevPki
    token_file: Path
    tokens: dict[str, str]  # user -> token

    @classmethod
    def create(cls, directory: Path) -> Security:
        pki = ensure_pki(directory / "pki", 0)
        users = ["admin", GET_USER, *sorted(set(WATCH_USER.values()))]
        tokens = {u: secrets.token_urlsafe(24) for u in users}
        lines = [
            f'{tok},{user},uid-{i},"{"system:masters" if user == "admin" else ""}"\n'
            for i, (user, tok) in enumerate(tokens.items())
        ]
        token_file = directory / "tokens.csv"
        token_file.write_text("".join(lines))
        # ProxyProcess polls /readyz with urllib: let it trust the bench CA.
        ctx = ssl.create_default_context(cafile=str(pki.ca_file))
        urllib.request.install_opener(
            urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))
        )
        return cls(pki, token_file, tokens)

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_file))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def settings(self, mode: str) -> dict[str, Any]:
        """The config sections of `mode` (merged into bench/cluster.py's base config)."""
        if mode == "open":
            return {}
        tenants: list[dict[str, Any]] = [
            {"name": t, "shard": s, "namespaces": [f"{t}-*"]}
            for t, s in zip(TENANTS, SHARD_NAMES, strict=True)
        ]
        if mode in TENANT_SUBJECTS:
            tenants[0]["subjects"] = {"users": TENANT_SUBJECTS[mode]}
        return {
            "tls": {
                "cert_file": str(self.pki.server_cert_file),
                "key_file": str(self.pki.server_key_file),
            },
            "authentication": {"token_auth_file": str(self.token_file)},
            "authorization": {"modes": ["AlwaysAllow"] if mode == "allow" else ["Node", "RBAC"]},
            "tenants": tenants,
        }


class Proxy(ProxyProcess):
    """bench/cluster.py's proxy process, served over TLS when the mode has `tls`."""

    def __init__(self, workdir: Path, endpoints: list[str], **settings: Any) -> None:
        super().__init__(workdir, endpoints, **settings)
        self.tls = "tls" in settings

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


@dataclass
class Bench:
    cluster: Cluster
    security: Security
    etcd_clients: list[EtcdClient]
    log: Callable[[str], None]

    @contextlib.asynccontextmanager
    async def proxy(self, mode: str) -> AsyncIterator[Proxy]:
        proxy = Proxy(self.cluster.workdir, self.cluster.endpoints,
                      **self.security.settings(mode))  # fmt: skip
        try:
            proxy.start()
            if mode not in ("open", "allow"):
                # The bootstrap ClusterRoles are written by the proxy at start-up (and are in
                # etcd from the first RBAC start on); decisions need them in the cache.
                async with self.session(proxy, "admin") as admin:
                    await wait_status(admin, f"{proxy.url}{RBAC_API}/clusterroles/view", 200)
            yield proxy
        finally:
            proxy.stop()

    def session(self, proxy: Proxy, user: str | None, limit: int = 16) -> aiohttp.ClientSession:
        ssl_arg: ssl.SSLContext | bool = self.security.context() if proxy.tls else False
        headers = {"Accept": "application/json"}
        if proxy.tls and user is not None:
            headers["Authorization"] = f"Bearer {self.security.tokens[user]}"
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, ssl=ssl_arg),
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=60),
        )


async def wait_status(session: aiohttp.ClientSession, url: str, want: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        async with session.get(url) as r:
            if r.status == want:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"GET {url}: not {want} after 60 s")
        await asyncio.sleep(0.1)


def _binding(name: str, kind: str, subject: str, role: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": subject}],
    }


def rbac_population() -> list[tuple[str, dict[str, Any]]]:
    """(collection path, object) of every binding the bench writes: other users' and groups'
    bindings (half users, half groups; view / edit / admin) and the bench identities' own."""
    roles = ("view", "edit", "admin")
    namespaces = [NS] + [f"{TENANTS[k % 2]}-team-{k:02d}" for k in range(TEAM_NAMESPACES)]
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(OTHER_ROLE_BINDINGS):
        ns = namespaces[i % len(namespaces)]
        kind, subject = ("User", f"user-{i}") if i % 2 else ("Group", f"team-{i % 97}")
        out.append((f"{RBAC_API}/namespaces/{ns}/rolebindings",
                    _binding(f"rb-{i}", kind, subject, roles[i % 3])))  # fmt: skip
    for i in range(OTHER_CLUSTER_ROLE_BINDINGS):
        kind, subject = ("User", f"ops-{i}") if i % 2 else ("Group", f"sre-{i}")
        role = "cluster-admin" if i % 10 == 0 else roles[i % 2]
        out.append((f"{RBAC_API}/clusterrolebindings", _binding(f"crb-{i}", kind, subject, role)))
    for user, ns in ROLE_BINDINGS_OF_OURS:
        out.append((f"{RBAC_API}/namespaces/{ns}/rolebindings",
                    _binding(f"bench-{user}", "User", user, "view")))  # fmt: skip
    for user in CLUSTER_ROLE_BINDINGS_OF_OURS:
        out.append((f"{RBAC_API}/clusterrolebindings",
                    _binding(f"bench-{user}", "User", user, "view")))  # fmt: skip
    return out


async def seed(b: Bench) -> None:
    """Namespaces, a node and the pods straight into etcd (kube's layout); the bindings through
    an RBAC proxy as the admin token, which also has the proxy write the bootstrap roles."""
    items: list[tuple[int, bytes, bytes]] = []
    names = POP.namespace_names() + [
        (k % 2, f"{TENANTS[k % 2]}-team-{k:02d}") for k in range(TEAM_NAMESPACES)
    ]
    for shard, ns in names:
        items.append((shard, POP.namespace_key(ns), POP.namespace_value(ns)))
    items.append((POP.node_shard(0), POP.node_key(0), POP.node_value(0)))
    items += [(POP.pod_shard(i), POP.pod_key(i), POP.pod_value(i, 0)) for i in range(POP.pods)]
    await bulk_put(b.etcd_clients, items)
    bindings = rbac_population()
    async with b.proxy("rbac") as proxy, b.session(proxy, "admin") as admin:
        sem = asyncio.Semaphore(16)

        async def post(path: str, obj: dict[str, Any]) -> None:
            async with sem, admin.post(proxy.url + path, json=obj) as r:
                if r.status not in (201, 409):
                    raise RuntimeError(f"POST {path}: {r.status} {(await r.text())[:300]}")

        await asyncio.gather(*(post(p, o) for p, o in bindings))
    b.log(f"seeded {len(items)} objects into etcd and {len(bindings)} bindings")


# -- GETs --------------------------------------------------------------------------------------


@dataclass
class GetResult:
    mode: str
    requests: int
    errors: int
    seconds: float
    proxy_cpu_s: float
    etcd_cpu_s: float
    client_cpu_s: float

    def add(self, other: GetResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.proxy_cpu_s += other.proxy_cpu_s
        self.etcd_cpu_s += other.etcd_cpu_s
        self.client_cpu_s += other.client_cpu_s

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def proxy_us(self) -> float:
        return self.proxy_cpu_s / max(self.requests, 1) * 1e6

    @property
    def etcd_us(self) -> float:
        return self.etcd_cpu_s / max(self.requests, 1) * 1e6

    @property
    def client_us(self) -> float:
        return self.client_cpu_s / max(self.requests, 1) * 1e6


class CpuClock:
    """CPU seconds of the proxy, of etcd and of this process since `start`."""

    def __init__(self, proxy_pid: int, etcd_pids: list[int]) -> None:
        self.proxy_pid, self.etcd_pids = proxy_pid, etcd_pids
        self.start()

    def _now(self) -> tuple[float, float, float, float]:
        return (
            time.monotonic(),
            metrics.cpu_seconds(self.proxy_pid),
            metrics.tree_cpu(self.etcd_pids),
            time.process_time(),
        )

    def start(self) -> None:
        self.t0 = self._now()

    def elapsed(self) -> tuple[float, float, float, float]:
        """(wall, proxy CPU, etcd CPU, client CPU) seconds since `start`."""
        now = self._now()
        return (now[0] - self.t0[0], now[1] - self.t0[1], now[2] - self.t0[2], now[3] - self.t0[3])


async def get_slice(
    session: aiohttp.ClientSession, url: str, clock: CpuClock, args: argparse.Namespace
) -> GetResult:
    """`--clients` loops GETting `url` for SLICE_S (after a short ramp), counted."""
    counting, stop = False, False
    done = errors = 0

    async def loop() -> None:
        nonlocal done, errors
        while not stop:
            async with session.get(url) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
                elif counting:
                    done += 1

    tasks = [asyncio.create_task(loop()) for _ in range(args.clients)]
    try:
        await asyncio.sleep(RAMP_S)
        clock.start()
        counting = True
        await asyncio.sleep(SLICE_S)
        counting = False
        wall, proxy_cpu, etcd_cpu, client_cpu = clock.elapsed()
    finally:
        stop = True
        await asyncio.gather(*tasks)
    return GetResult("", done, errors, wall, proxy_cpu, etcd_cpu, client_cpu)


async def gets_run(b: Bench, modes: list[str], run: int, args: argparse.Namespace
                   ) -> dict[str, GetResult]:  # fmt: skip
    """One run: a proxy per mode, all up at once; the modes take turns in slices of SLICE_S
    (the order rotating from slice to slice) until each had `--seconds`, so that every mode
    meets the same background load."""
    async with contextlib.AsyncExitStack() as stack:
        proxies = {m: await stack.enter_async_context(b.proxy(m)) for m in modes}
        sessions: dict[str, aiohttp.ClientSession] = {}
        for mode, proxy in proxies.items():
            session = await stack.enter_async_context(b.session(proxy, GET_USER, args.clients))
            sessions[mode] = session
            async with session.get(proxy.url + POD_PATH) as r:
                if r.status != 200:
                    raise RuntimeError(f"{mode}: GET {POD_PATH}: {r.status} {await r.text()}")
            if mode in ("rbac", "tenant"):  # authorization is really on: elsewhere is 403
                async with session.get(f"{proxy.url}/api/v1/namespaces/tb-ns-00/pods/x") as r:
                    if r.status != 403:
                        raise RuntimeError(f"{mode}: GET in tb-ns-00 answered {r.status}")
        clocks = {m: CpuClock(p.pid, b.cluster.etcd_pids) for m, p in proxies.items()}
        totals = {m: GetResult(m, 0, 0, 0.0, 0.0, 0.0, 0.0) for m in modes}
        for mode in modes:  # open the keep-alive connections, warm the caches
            await get_slice(sessions[mode], proxies[mode].url + POD_PATH, clocks[mode], args)
        for k in range(max(1, round(args.seconds / SLICE_S))):
            turn = (k + run) % len(modes)
            for mode in modes[turn:] + modes[:turn]:
                url = proxies[mode].url + POD_PATH
                totals[mode].add(await get_slice(sessions[mode], url, clocks[mode], args))
        return totals


# -- watch fan-out -----------------------------------------------------------------------------


@dataclass
class WatchResult:
    mode: str
    watchers: int
    writes: int
    expected: int
    delivered: int
    seconds: float
    proxy_cpu_s: float
    correct: bool
    groups: dict[str, Any] = field(default_factory=dict)

    @property
    def proxy_us(self) -> float:
        return self.proxy_cpu_s / max(self.delivered, 1) * 1e6


class Watchers:
    """HTTP/1.1 watch streams over plain TCP or TLS, run in this process with bench/clients.py's
    parser: every event is recorded as (watcher, pod, shard, revision, time)."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None, token: str | None) -> None:
        self.port, self.ctx, self.token = port, ctx, token
        self.rec = Recorder()
        self.states: list[WatcherState] = []
        self.protocols: list[HttpWatch] = []
        self.plans: list[WatcherPlan] = []

    async def open(self, group: str, path: str, count: int) -> None:
        loop = asyncio.get_running_loop()
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Accept: application/json\r\n{auth}\r\n"
        ).encode()
        shards = POP.pod_shard_map()
        for _ in range(count):
            wid = len(self.states)
            state = WatcherState(wid, loop.create_future())
            spec = HttpWatcherDef(wid, path, None, False)

            def factory(spec: HttpWatcherDef = spec, state: WatcherState = state) -> HttpWatch:
                return HttpWatch(spec, state, self.rec, request, shards)

            _, proto = await loop.create_connection(factory, "127.0.0.1", self.port, ssl=self.ctx)
            self.states.append(state)
            self.protocols.append(proto)
            self.plans.append(WatcherPlan(wid, group, -1, -1, 0))
        ready = await asyncio.wait_for(asyncio.gather(*(s.ready for s in self.states)), 30)
        if not all(ready):
            raise RuntimeError(f"{path}: {sorted({s.error for s in self.states if s.error})}")

    def close(self) -> None:
        for proto in self.protocols:
            proto.close()

    def recording(self) -> dict[str, Any]:
        """The shape bench/analysis.py reads (bench/clients.py writes it from its workers)."""
        rec, states = self.rec, self.states
        return {
            "wid": np.array(rec.wid, np.int32),
            "oid": np.array(rec.oid, np.int32),
            "shard": np.array(rec.shard, np.int8),
            "rev": np.array(rec.rev, np.int64),
            "t": np.array(rec.t, np.float64),
            "w_id": np.array([s.wid for s in states], np.int32),
            "w_initial_count": np.zeros(len(states), np.int64),
            "w_initial_sum": np.zeros(len(states), np.int64),
            "w_error_lines": np.array([s.error_lines for s in states], np.int64),
            "w_ended_early": np.array([s.ended_early for s in states], np.bool_),
        }


async def list_rv(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as r:
        body = await r.read()
        if r.status != 200:
            raise RuntimeError(f"LIST {url}: {r.status} {body[:300]!r}")
    return str(orjson.loads(body)["metadata"]["resourceVersion"])


async def open_watchers(b: Bench, mode: str, proxy: Proxy, args: argparse.Namespace) -> Watchers:
    """The mode's watches, each from the resourceVersion of a LIST of the same path."""
    user = WATCH_USER.get(mode)
    paths = {"namespace": f"/api/v1/namespaces/{NS}/pods", "cluster-wide": "/api/v1/pods"}
    async with b.session(proxy, user) as session:
        rvs = {g: await list_rv(session, proxy.url + p) for g, p in paths.items()}
    # A tenant-scoped identity's cluster-wide view is its shard alone (plain revision); any
    # other identity's spans both shards (a composite token).
    if rvs["cluster-wide"].isdigit() != mode.startswith("tenant"):
        raise RuntimeError(f"{mode}: cluster-wide list resourceVersion {rvs['cluster-wide']}")
    token = b.security.tokens[user] if user else None
    watchers = Watchers(proxy.port, b.security.context() if proxy.tls else None, token)
    for group, count in (("namespace", args.ns_watchers),
                         ("cluster-wide", args.cluster_watchers)):  # fmt: skip
        query = f"?watch=true&resourceVersion={rvs[group]}&timeoutSeconds={WATCH_TIMEOUT_S}"
        await watchers.open(group, paths[group] + query, count)
    return watchers


async def watch_run(b: Bench, modes: list[str], args: argparse.Namespace
                    ) -> dict[str, WatchResult]:  # fmt: skip
    """One run: a proxy per mode, all up at once with their watches; each write into etcd then
    goes through every proxy at the same moment, so the modes meet the same load."""
    async with contextlib.AsyncExitStack() as stack:
        proxies = {m: await stack.enter_async_context(b.proxy(m)) for m in modes}
        watchers: dict[str, Watchers] = {}
        for mode, proxy in proxies.items():
            watchers[mode] = await open_watchers(b, mode, proxy, args)
            stack.callback(watchers[mode].close)
        await asyncio.sleep(1.0)  # every watch registered and idle
        clocks = {m: CpuClock(p.pid, []) for m, p in proxies.items()}
        pods = POP.pods

        def write(seq: int) -> tuple[int, bytes, int, bytes]:
            i = seq % pods
            return POP.pod_shard(i), POP.pod_key(i), i, POP.pod_value(i, seq + 1)

        log = await paced_writes(b.etcd_clients, write, rate=args.rate, duration=args.watch_seconds)
        expected = {m: log.count * len(w.states) for m, w in watchers.items()}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(len(w.rec.t) >= expected[m] for m, w in watchers.items()):
                break
            await asyncio.sleep(0.01)
        cpu = {m: clock.elapsed() for m, clock in clocks.items()}
    out: dict[str, WatchResult] = {}
    for mode, w in watchers.items():
        groups = analyse(Expectation(log, None), w.plans, w.recording())
        out[mode] = WatchResult(
            mode=mode,
            watchers=len(w.states),
            writes=log.count,
            expected=expected[mode],
            delivered=len(w.rec.t),
            seconds=cpu[mode][0],
            proxy_cpu_s=cpu[mode][1],
            correct=log.errors == 0 and all(g["correct"] for g in groups.values()),
            groups=groups,
        )
    return out


# -- the per-candidate predicate, in process ---------------------------------------------------


def _no_token(vector: tuple[int, ...], object_revision: int | None = None) -> str:
    raise AssertionError("classify() encodes no token")


def predicate_costs(repeat: int) -> dict[str, float]:
    """ns per `CacheWatcher.classify` (the dispatcher's test of one candidate watcher, twice the
    compiled WatchFilter: new and previous object) for each filter shape the watch modes make,
    best of `repeat` rounds. No processes: the real filter, watcher and event classes on a
    cached pod update."""
    tenants = [{"name": t, "shard": s, "namespaces": [f"{t}-*"]}
               for t, s in zip(TENANTS, SHARD_NAMES, strict=True)]  # fmt: skip
    shards = [{"name": s, "endpoints": [f"http://127.0.0.1:{i + 1}"]}
              for i, s in enumerate(SHARD_NAMES)]  # fmt: skip
    tenancy = Tenancy(parse_settings({"shards": shards, "tenants": tenants}))
    proxy = cast(WatchProxy, SimpleNamespace(tenancy=tenancy))
    pods = Registry().lookup("", "v1", "pods")
    assert pods is not None
    key = POP.pod_key(0).decode()
    prev = build_object(pods, key, POP.pod_value(0, 1), 10)
    obj = build_object(pods, key, POP.pod_value(0, 2), 11)
    event = CacheEvent(seq=1, shard=0, revision=11, key=key, obj=obj, prev=prev, vector=(11, 1))
    tenant = tenant_predicate(proxy, pods, TENANTS[0])
    narrowed = tenant_predicate(proxy, pods, TENANTS[0], frozenset({NS}))

    def shape(namespace: str, scope: Callable[[CachedObject], bool] | None) -> WatchFilter:
        return WatchFilter(namespace, "", None, LabelSelector(), FieldSelector(), scope)

    shapes = {
        "cluster-wide, no scope (open, allow, rbac)": shape("", None),
        "cluster-wide, tenant scope (tenant)": shape("", tenant),
        "cluster-wide, narrowed to ta-ns-00 (tenant-ns)": shape("", narrowed),
        "ta-ns-00, no scope (open, allow, rbac)": shape(NS, None),
        "ta-ns-00, tenant scope (tenant, tenant-ns)": shape(NS, tenant),
    }
    watchers = {
        name: CacheWatcher(
            filt=filt, shards=frozenset({0}), merged=False, floor=(0, 0), encode_token=_no_token,
            history=cast(EventHistory, None), max_queue=100, max_queue_bytes=1 << 20,
            bookmark_line=None,
        )
        for name, filt in shapes.items()
    }  # fmt: skip
    best = dict.fromkeys(shapes, float("inf"))
    number = 100_000
    for _ in range(repeat):  # the shapes take turns: a burst of load hits them alike
        for name, watcher in watchers.items():
            assert watcher.classify(event) == MODIFIED, name
            seconds = timeit.timeit(partial(watcher.classify, event), number=number)
            best[name] = min(best[name], seconds / number * 1e9)
    return best


def predicate_table(costs: dict[str, float]) -> str:
    base = {"cluster": costs["cluster-wide, no scope (open, allow, rbac)"],
            "ta-ns-00": costs["ta-ns-00, no scope (open, allow, rbac)"]}  # fmt: skip
    lines = [
        "CacheWatcher.classify per candidate watcher (one pod update), best of 15 rounds",
        "",
        "| watch filter | ns per candidate | added by the scope |",
        "| --- | ---: | ---: |",
    ]
    for name, ns in costs.items():
        extra = ns - base["cluster" if name.startswith("cluster") else "ta-ns-00"]
        lines.append(f"| {name} | {ns:.0f} | {extra:+.0f} ns |")
    return "\n".join(lines)


# -- reporting ---------------------------------------------------------------------------------


def spread(values: list[float], digits: int = 1) -> str:
    """`median (min-max)`."""
    med = statistics.median(values)
    return f"{med:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def ratios(runs: list[dict[str, Any]], mode: str, base: str, figure: Callable[[Any], float]) -> str:
    """Median (range) over runs of figure(mode) / figure(base), each ratio within one run."""
    values = [figure(run[mode]) / figure(run[base]) for run in runs if mode in run and base in run]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


GET_LABELS: Final = {
    "open": "plain HTTP, no authentication (open admin)",
    "allow": "TLS + token, AlwaysAllow",
    "rbac": "TLS + token, Node,RBAC (RoleBinding to view)",
    "tenant": "TLS + token, Node,RBAC, tenant subject",
}
WATCH_LABELS: Final = {
    "open": "plain HTTP, no authentication (open admin)",
    "allow": "TLS + token, AlwaysAllow",
    "rbac": "TLS + token, Node,RBAC (ClusterRoleBinding to view)",
    "tenant": "TLS + token, Node,RBAC, tenant subject (ClusterRoleBinding to view)",
    "tenant-ns": "TLS + token, Node,RBAC, tenant subject (RoleBinding in ta-ns-00 only)",
}


def table(
    title: str, columns: list[str], modes: tuple[str, ...], runs: list[dict[str, Any]],
    row: Callable[[str, list[Any]], list[str]],
) -> str:  # fmt: skip
    """A markdown table, a row per mode measured: `row(mode, its result of each run)`."""
    lines = [title, "", f"| {' | '.join(columns)} |", "| --- |" + " ---: |" * (len(columns) - 1)]
    for mode in modes:
        results = [run[mode] for run in runs if mode in run]
        if results:
            lines.append(f"| {' | '.join(row(mode, results))} |")
    return "\n".join(lines)


def get_table(runs: list[dict[str, GetResult]], args: argparse.Namespace) -> str:
    def row(mode: str, rs: list[GetResult]) -> list[str]:
        return [
            f"{mode}: {GET_LABELS[mode]}",
            spread([r.rps for r in rs], 0),
            spread([r.proxy_us for r in rs]),
            spread([r.etcd_us for r in rs]),
            spread([r.client_us for r in rs]),
            ratios(runs, mode, BASELINE, lambda r: r.rps),
            ratios(runs, mode, BASELINE, lambda r: r.proxy_us),
            str(sum(r.errors for r in rs)),
        ]

    return table(
        f"GET one pod, {args.clients} keep-alive connections, {args.seconds:g} s per mode and run,"
        f" {len(runs)} runs: median (min-max)",
        ["mode", "requests/s", "proxy CPU µs/request", "etcd CPU µs/request",
         "client CPU µs/request", "requests/s vs allow", "proxy CPU vs allow", "errors"],
        GET_MODES, runs, row,
    )  # fmt: skip


def watch_table(runs: list[dict[str, WatchResult]], args: argparse.Namespace) -> str:
    def watchers(group: dict[str, Any]) -> int:
        return int(group["watchers"])

    def row(mode: str, rs: list[WatchResult]) -> list[str]:
        p99 = statistics.median(max(r.groups.values(), key=watchers)["p99_ms"] for r in rs)
        lost = sum(int(g["lost"]) for r in rs for g in r.groups.values())
        return [
            f"{mode}: {WATCH_LABELS[mode]}",
            f"{sum(r.delivered for r in rs):,} / {sum(r.expected for r in rs):,}",
            spread([r.proxy_us for r in rs], 2),
            ratios(runs, mode, BASELINE, lambda r: r.proxy_us),
            ratios(runs, mode, "open", lambda r: r.proxy_us),
            f"{p99:.1f}",
            "ok" if all(r.correct for r in rs) else f"**FAILED** (lost {lost})",
        ]

    return table(
        f"Watch fan-out: {args.ns_watchers} watches of pods in {NS} + {args.cluster_watchers}"
        f" of all pods, {args.rate:g} writes/s for {args.watch_seconds:g} s"
        f" ({args.ns_watchers + args.cluster_watchers} deliveries per write), {len(runs)} runs:"
        " median (min-max)",
        ["mode", "delivered / expected", "proxy CPU µs/delivery", "vs allow", "vs open",
         "p99 latency ms", "stream check"],
        WATCH_MODES, runs, row,
    )  # fmt: skip


# -- main --------------------------------------------------------------------------------------


async def repeat(
    runs: int, one: Callable[[int], Awaitable[dict[str, Any]]], log: Callable[[str], None],
    describe: Callable[[Any], str],
) -> list[dict[str, Any]]:  # fmt: skip
    out: list[dict[str, Any]] = []
    for run in range(runs):
        out.append(await one(run))
        for mode, result in out[-1].items():
            log(f"run {run + 1} {mode:9s} {describe(result)}")
        log(f"load average {' '.join(load_average())}")
    return out


async def main_async(args: argparse.Namespace, workdir: Path) -> int:
    started = time.monotonic()
    log = elapsed_log(started)

    info = machine_info()
    cluster = Cluster(workdir)
    clients: list[EtcdClient] = []
    report: list[str] = []
    out: dict[str, Any] = {"machine": info, "args": {**vars(args), "only": sorted(args.only)}}
    ok = True
    if "predicate" in args.only:
        costs = predicate_costs(15)
        out["predicate_ns"] = costs
        report.append(predicate_table(costs))
    try:
        if args.only & {"gets", "watch"}:
            cluster.start_etcd()
            clients = [EtcdClient([ep], name=f"authz-{i}")
                       for i, ep in enumerate(cluster.endpoints)]  # fmt: skip
            b = Bench(cluster, Security.create(workdir), clients, log)
            await seed(b)
        if "gets" in args.only:
            get_modes = [m for m in args.modes if m in GET_MODES]
            gets = await repeat(
                args.runs, lambda run: gets_run(b, get_modes, run, args), log,
                lambda r: f"{r.rps:7.0f} req/s  proxy {r.proxy_us:6.1f} us/req  errors {r.errors}",
            )  # fmt: skip
            out["gets"] = [{m: asdict(r) for m, r in run.items()} for run in gets]
            ok &= all(r.errors == 0 for run in gets for r in run.values())
            report.append(get_table(gets, args))
        if "watch" in args.only:
            watch_modes = [m for m in args.modes if m in WATCH_MODES]
            watch = await repeat(
                args.runs, lambda run: watch_run(b, watch_modes, args), log,
                lambda r: f"{r.proxy_us:6.2f} us/delivery  {r.delivered}/{r.expected}"
                f"  {'ok' if r.correct else 'FAILED'}",
            )  # fmt: skip
            out["watch"] = [{m: asdict(r) for m, r in run.items()} for run in watch]
            ok &= all(r.correct for run in watch for r in run.values())
            report.append(watch_table(watch, args))
    finally:
        for client in clients:
            await client.close()
        cluster.close()
    head = run_header(info, started)
    text = "\n\n".join([head, *report])
    print("\n" + text)
    path = save_results("authz", out)
    log(f"results: {path}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.authz", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="counted seconds per GET run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent GET connections")
    parser.add_argument("--watch-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second (watch)")
    parser.add_argument("--ns-watchers", type=int, default=100)
    parser.add_argument("--cluster-watchers", type=int, default=4)
    parser.add_argument("--only", default="gets,predicate,watch",
                        help="comma list of gets,predicate,watch")  # fmt: skip
    parser.add_argument("--modes", default=",".join(WATCH_MODES),
                        help="comma list, run in this order within each run")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work dir")
    args = parser.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    args.modes = [s.strip() for s in args.modes.split(",") if s.strip()]
    return run_in_workdir("bench-authz-", lambda workdir: main_async(args, workdir), keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
