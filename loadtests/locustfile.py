"""Locust load test for watchproxy: kubelets, controllers and writers over the Kubernetes REST API.

A black box over HTTP: nothing here imports watchproxy. See loadtests/README.md.

Users
- KubeletUser: registers its own Node (tenant-labelled) and, standing in for the scheduler, a few
  pods bound to it; lists + watches `spec.nodeName=<its node>`, patches its pods' status
  (strategic merge patch on /status) and renews its node Lease every 10 s (PUT, like kubelet).
- ControllerUser: an informer over all pods of the run (list + watch across all namespaces,
  i.e. the merged view) plus occasional merge patches of pods from its cache.
- WriterUser: creates pods on known nodes, patches and updates (GET + PUT) pods, deletes the
  pods it created.

Latency: every write carries its wall-clock send time in the annotation
`loadtest.watchproxy.io/sent-at`; a watcher reports now - sent-at for every ADDED/MODIFIED
event as a `WATCH-EVENT` entry (DELETED events, and the MODIFIED events of a graceful delete,
which have `deletionTimestamp` set, carry the last write's stamp, so they are counted without a
response time). Watchers and writers must share one clock: run them on one
machine, or on NTP-synced machines and read the numbers with the sync error in mind.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import gevent
from locust import FastHttpUser, between, constant, events, task
from locust.contrib.fasthttp import FastHttpSession
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

try:  # faster, and present wherever watchproxy's venv is; plain json works too
    import orjson

    loads: Callable[[bytes | str], Any] = orjson.loads
except ImportError:  # pragma: no cover
    loads = json.loads

log = logging.getLogger("loadtest")

PREFIX = "loadtest.watchproxy.io"
SENT_AT = f"{PREFIX}/sent-at"
SENT_FROM = f"{PREFIX}/sent-from"  # host whose clock stamped sent-at
HOSTNAME = socket.gethostname()
REMOTE = " [other host's clock]"
RUN_LABEL = f"{PREFIX}/run"
ROLE_LABEL = f"{PREFIX}/role"
TENANT_LABEL = "watchproxy.io/tenant"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_CT = "application/json"


# --------------------------------------------------------------------------------------------- #
# options (shared with workers: locust sends custom arguments from the master with every spawn)


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("watchproxy load test")
    group.add_argument(
        "--run-id",
        default="",
        env_var="LOADTEST_RUN_ID",
        help="name prefix of this run's objects (default: generated at test start)",
    )
    group.add_argument(
        "--tenant-namespaces",
        default="acme=acme-load,globex=globex-load",
        env_var="LOADTEST_TENANT_NAMESPACES",
        help="tenant=namespace pairs; nodes get the tenant label, pods go to the namespace",
    )
    group.add_argument("--kubelets", type=int, default=50, env_var="LOADTEST_KUBELETS")
    group.add_argument("--controllers", type=int, default=5, env_var="LOADTEST_CONTROLLERS")
    group.add_argument("--writers", type=int, default=2, env_var="LOADTEST_WRITERS")
    group.add_argument("--pods-per-node", type=int, default=3, env_var="LOADTEST_PODS_PER_NODE")
    group.add_argument(
        "--watch-timeout",
        type=int,
        default=30,
        env_var="LOADTEST_WATCH_TIMEOUT",
        help="timeoutSeconds of each watch (jittered up to +50%%); then re-watch from the last RV",
    )
    group.add_argument(
        "--lease-interval", type=float, default=10.0, env_var="LOADTEST_LEASE_INTERVAL"
    )
    group.add_argument(
        "--status-interval",
        type=float,
        default=5.0,
        env_var="LOADTEST_STATUS_INTERVAL",
        help="mean seconds between a kubelet's pod status patches",
    )
    group.add_argument(
        "--cleanup",
        action="store_true",
        default=False,
        env_var="LOADTEST_CLEANUP",
        help="kubelets delete their node, lease and pods when they stop",
    )


def _opt(env: Any, name: str, default: Any) -> Any:
    opts = getattr(env, "parsed_options", None)
    value = getattr(opts, name, None) if opts is not None else None
    return default if value is None or value == "" else value


def _tenants(env: Any) -> list[tuple[str, str]]:
    text = _opt(env, "tenant_namespaces", "acme=acme-load,globex=globex-load")
    pairs = []
    for item in str(text).split(","):
        tenant, _, namespace = item.strip().partition("=")
        if tenant and namespace:
            pairs.append((tenant, namespace))
    if not pairs:
        raise ValueError(f"--tenant-namespaces: no tenant=namespace pairs in {text!r}")
    return pairs


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    KubeletUser.fixed_count = int(_opt(environment, "kubelets", 50))
    ControllerUser.fixed_count = int(_opt(environment, "controllers", 5))
    WriterUser.fixed_count = int(_opt(environment, "writers", 2))


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    """Master (or the single local process): pick the run id, create the tenant namespaces.

    Workers receive the run id with the spawn message (custom arguments travel from the master),
    so everything a run creates is found by the `loadtest.watchproxy.io/run=<id>` label.
    """
    if isinstance(environment.runner, WorkerRunner):
        return
    opts = environment.parsed_options
    if opts is not None and not getattr(opts, "run_id", ""):
        opts.run_id = f"lt{int(time.time()) % 100000:05d}{uuid.uuid4().hex[:4]}"
    host = (environment.host or "").rstrip("/")
    if not host:
        return
    for tenant, namespace in _tenants(environment):
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"tenant": tenant}},
        }
        req = urllib.request.Request(
            f"{host}/api/v1/namespaces",
            data=json.dumps(body).encode(),
            headers={"Content-Type": JSON_CT},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=10):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code != 409:  # AlreadyExists is fine: namespaces are shared by runs
                log.error("setup: creating namespace %s: HTTP %s", namespace, exc.code)
        except OSError as exc:
            log.error("setup: creating namespace %s: %s", namespace, exc)
    log.info("load test run id: %s", _opt(environment, "run_id", "?"))


_environment: Any = None


@events.init.add_listener
def _remember_environment(environment: Any, **_: Any) -> None:
    global _environment
    _environment = environment


@events.quit.add_listener
def _print_watch_summary(**_: Any) -> None:
    """After locust's tables: all WATCH-EVENT rows merged, per watcher kind and overall."""
    env = _environment
    if env is None or env.runner is None or isinstance(env.runner, WorkerRunner):
        return
    stats = env.runner.stats
    groups: dict[str, StatsEntry] = {}
    other: dict[str, tuple[int, int]] = {}
    for (name, method), entry in sorted(stats.entries.items()):
        if method == "WATCH-EVENT":
            who = name.split(" ", 1)[0] + (REMOTE if name.endswith(REMOTE) else "")
            for key in ("all", who):
                merged = groups.setdefault(key, StatsEntry(stats, key, "WATCH-EVENT"))
                merged.extend(entry)
        elif method in ("RELIST", "WATCH-STREAM"):
            label = f"{method} {name}"
            count, fails = other.get(label, (0, 0))
            other[label] = (count + entry.num_requests, fails + entry.num_failures)
    if "all" not in groups:
        print("\nwatch events: none received")
        return
    print("\nWatch events (WATCH-EVENT rows merged; latency = receive time - sent-at stamp)")
    header = f"{'watcher':<30}{'events':>9}{'ev/s':>9}{'timed':>9}{'fails':>7}"
    print(header + "".join(f"{p:>8}" for p in ("p50", "p95", "p99", "max")) + "  (ms)")
    for key in ["all", *sorted(k for k in groups if k != "all")]:
        e = groups[key]
        timed = e.num_requests - e.num_none_requests
        row = f"{key:<30}{e.num_requests:>9}{e.total_rps:>9.1f}{timed:>9}{e.num_failures:>7}"
        if timed:
            row += (
                "".join(f"{e.get_response_time_percentile(q):>8}" for q in (0.5, 0.95, 0.99))
                + f"{e.max_response_time:>8.0f}"
            )
        print(row)
    for label, (count, fails) in sorted(other.items()):
        print(f"{label}: {count}" + (f" ({fails} failed)" if fails else ""))
    print()


# --------------------------------------------------------------------------------------------- #
# helpers


def _stamp() -> dict[str, str]:
    """The annotations every write carries: its wall-clock send time and this host's name."""
    return {SENT_AT: f"{time.time():.6f}", SENT_FROM: HOSTNAME}


def _sent_at(obj: dict[str, Any]) -> tuple[float | None, bool]:
    """(the sent-at stamp, whether another host's clock made it)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(SENT_AT)
    if not text:
        return None, False
    try:
        sent = float(text)
    except ValueError:
        return None, False
    return sent, annotations.get(SENT_FROM, HOSTNAME) != HOSTNAME


def _pod(name: str, namespace: str, node: str, run: str, role: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {RUN_LABEL: run, ROLE_LABEL: role, "app": "loadtest"},
            "annotations": _stamp(),
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}],
        },
    }


def _random_ip() -> str:
    return "10." + ".".join(str(random.randint(1, 254)) for _ in range(3))


def _pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}"


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


class Informer:
    """list + watch of one pod collection on its own HTTP session and greenlet.

    Every ADDED/MODIFIED event with a sent-at stamp is reported as a WATCH-EVENT whose response
    time is the delivery latency. Bookmarks only move the resourceVersion. A watch ends after
    timeoutSeconds and resumes from the last resourceVersion; 410 (HTTP or in-band ERROR)
    relists. Errors are reported once per occurrence and retried after a second.
    """

    def __init__(self, user: FastHttpUser, who: str, path: str, params: dict[str, str]) -> None:
        self.user = user
        self.env = user.environment
        self.who = who
        self.path = path
        self.params = params
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}
        self.timeout = int(_opt(self.env, "watch_timeout", 30))
        self.session = FastHttpSession(
            base_url=user.host,
            request_event=self.env.events.request,
            user=user,
            network_timeout=self.timeout * 1.5 + 30,
            connection_timeout=10.0,
            concurrency=1,
        )
        self.greenlet: gevent.Greenlet | None = None

    # -- lifecycle --------------------------------------------------------------------------- #

    def start(self) -> None:
        self.greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
            self.greenlet = None

    # -- reporting --------------------------------------------------------------------------- #

    def _fire(
        self,
        request_type: str,
        name: str,
        ms: float | None,
        length: int = 0,
        exception: Exception | None = None,
    ) -> None:
        self.env.events.request.fire(
            request_type=request_type,
            name=name,
            response_time=ms,
            response_length=length,
            exception=exception,
            context={},
        )

    # -- list / watch ------------------------------------------------------------------------ #

    def _list(self) -> str | None:
        """A paged LIST; replaces the cache and returns the list's resourceVersion."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        cont = ""
        while True:
            query = dict(self.params, limit="500")
            if cont:
                query["continue"] = cont
            r = self.session.get(f"{self.path}?{urlencode(query)}", name=f"LIST pods ({self.who})")
            if r.status_code != 200:
                return None
            body = loads(r.content)
            for item in body.get("items") or []:
                items[_key(item)] = item
            meta = body.get("metadata") or {}
            cont = meta.get("continue") or ""
            if not cont:
                self.objects = items
                return str(meta.get("resourceVersion", ""))

    def _run(self) -> None:
        rv: str | None = None
        while True:
            if rv is None:
                rv = self._list()
                if rv is None:
                    gevent.sleep(1.0)
                    continue
            rv = self._watch(rv)

    def _watch(self, rv: str) -> str | None:
        """One watch stream. Returns the resourceVersion to resume from, or None to relist."""
        timeout = int(self.timeout * (1 + random.random() * 0.5))
        query = dict(
            self.params,
            watch="true",
            allowWatchBookmarks="true",
            timeoutSeconds=str(timeout),
            resourceVersion=rv,
        )
        name = f"WATCH pods ({self.who})"
        started = time.time()
        with self.session.get(
            f"{self.path}?{urlencode(query)}", name=name, stream=True, catch_response=True
        ) as r:
            status = r.status_code
            if status == 200:
                r.success()
            elif status == 410:
                r.success()  # expected protocol: relist
            else:
                r.failure(f"HTTP {status}: {_snippet(r)}")
        if status == 410:
            self._fire("RELIST", f"{self.who}: watch start 410", None)
            return None
        if status != 200:
            gevent.sleep(1.0)
            return rv
        raw = r._response
        try:
            while True:
                line = raw.readline(b"\n")
                if not line:
                    break  # timeoutSeconds reached: the server ended the stream
                received = time.time()
                line = line.strip()
                if not line:
                    continue
                event = loads(line)
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "BOOKMARK":
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    continue
                if kind == "ERROR":
                    code = obj.get("code")
                    if code == 410:
                        self._fire("RELIST", f"{self.who}: in-band 410", None)
                    else:
                        self._fire(
                            "WATCH-EVENT",
                            f"{self.who} ERROR",
                            None,
                            len(line),
                            RuntimeError(f"ERROR event {code}: {obj.get('message')}"),
                        )
                    return None
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                if kind == "DELETED":
                    self.objects.pop(_key(obj), None)
                    self._fire("WATCH-EVENT", f"{self.who} DELETED", None, len(line))
                    continue
                self.objects[_key(obj)] = obj
                if (obj.get("metadata") or {}).get("deletionTimestamp"):
                    # A graceful delete (a pod bound to a node) turns into a MODIFIED event that
                    # carries the last write's stamp, since a DELETE cannot stamp the object:
                    # timing it would measure the pod's age (seconds), not the delivery.
                    self._fire("WATCH-EVENT", f"{self.who} {kind} (terminating)", None, len(line))
                    continue
                sent, remote = _sent_at(obj)
                latency = max(0.0, (received - sent) * 1000) if sent else None
                name = f"{self.who} {kind}{REMOTE if remote else ''}"
                self._fire("WATCH-EVENT", name, latency, len(line))
        except Exception as exc:  # connection reset, bad JSON: report, resume from rv
            self._fire("WATCH-STREAM", f"{self.who} broken", None, 0, exc)
            raw.release()
            gevent.sleep(0.5)
            return rv
        # Counted without a response time; a stream the server ends well before its
        # timeoutSeconds, without a 410, is a failure (kube-apiserver keeps it open).
        open_s = time.time() - started
        early = None
        if open_s < timeout - 2:
            early = RuntimeError(f"watch ended after {open_s:.1f}s of timeoutSeconds={timeout}")
        self._fire("WATCH-STREAM", f"{self.who} ended", None, 0, early)
        return rv


def _snippet(r: Any) -> str:
    """What went wrong, for a failure message: the connection error or the response body."""
    if not r.status_code:
        return repr(getattr(r, "error", None))
    try:
        return (r.text or "")[:200]
    except Exception:  # best effort for an error message
        return ""


def _expect(r: Any, ok: tuple[int, ...] = (200, 201), race: tuple[int, ...] = ()) -> bool:
    """Inside `with ... catch_response=True`: success on `ok`, a renamed success on `race`
    (expected races between users, e.g. a pod deleted by a writer), else a failure."""
    if r.status_code in ok:
        r.success()
        return True
    if r.status_code in race:
        r.request_meta["name"] += f" ({r.status_code}, race)"
        r.success()
        return False
    r.failure(f"HTTP {r.status_code}: {_snippet(r)}")
    return False


# --------------------------------------------------------------------------------------------- #
# users


_kubelet_seq = 0


class KubeletUser(FastHttpUser):
    """One node's kubelet: node + pods registration, pod watch, status patches, lease renewals."""

    fixed_count = 50
    wait_time = constant(0.5)  # a tick: due lease renewals and status patches run in `tick`

    def on_start(self) -> None:
        global _kubelet_seq
        self.informer: Informer | None = None
        self.lease: dict[str, Any] | None = None
        env = self.environment
        self.run_id = str(_opt(env, "run_id", "lt"))
        tenants = _tenants(env)
        _kubelet_seq += 1
        self.tenant, self.namespace = tenants[_kubelet_seq % len(tenants)]
        self.node = f"{self.run_id}-{self.tenant}-{uuid.uuid4().hex[:8]}"
        self.lease_interval = float(_opt(env, "lease_interval", 10.0))
        self.status_interval = float(_opt(env, "status_interval", 5.0))
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node,
                "labels": {
                    TENANT_LABEL: self.tenant,
                    RUN_LABEL: self.run_id,
                    "kubernetes.io/hostname": self.node,
                },
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        with self.client.post(
            "/api/v1/nodes", json=node, name="POST node (kubelet)", catch_response=True
        ) as r:
            _expect(r, race=(409,))
        # A consistent GET: once it answers, the proxy's cache has the node, so the pod watch
        # below resolves to the node's tenant shard.
        self.client.get(f"/api/v1/nodes/{self.node}", name="GET node (kubelet)")
        for i in range(int(_opt(env, "pods_per_node", 3))):
            pod = _pod(f"{self.node}-{i}", self.namespace, self.node, self.run_id, "kubelet")
            with self.client.post(
                f"/api/v1/namespaces/{self.namespace}/pods",
                json=pod,
                name="POST pod (kubelet)",
                catch_response=True,
            ) as r:
                _expect(r)
        self._create_lease()
        self.informer = Informer(
            self, "kubelet", "/api/v1/pods", {"fieldSelector": f"spec.nodeName={self.node}"}
        )
        self.informer.start()
        now = time.time()
        self.next_lease = now + self.lease_interval
        self.next_status = now + random.uniform(0, self.status_interval)

    def on_stop(self) -> None:
        informer = getattr(self, "informer", None)
        if informer is not None:
            informer.stop()
        if bool(_opt(self.environment, "cleanup", False)) and hasattr(self, "node"):
            self._cleanup()

    def _cleanup(self) -> None:
        for ns, name in list(self.informer.objects if self.informer else {}):
            self.client.delete(_pod_path(ns, name), name="DELETE pod (cleanup)")
        self.client.delete(self._lease_path(), name="DELETE lease (cleanup)")
        self.client.delete(f"/api/v1/nodes/{self.node}", name="DELETE node (cleanup)")

    # -- lease ------------------------------------------------------------------------------- #

    def _lease_path(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.node}"

    def _lease_spec(self) -> dict[str, Any]:
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        return {
            "holderIdentity": self.node,
            "leaseDurationSeconds": 40,
            "renewTime": f"{now}.{int(time.time() % 1 * 1e6):06d}Z",
        }

    def _create_lease(self) -> None:
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.node,
                "namespace": self.namespace,
                "labels": {RUN_LABEL: self.run_id},
            },
            "spec": self._lease_spec(),
        }
        with self.client.post(
            f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases",
            json=lease,
            name="POST lease (kubelet)",
            catch_response=True,
        ) as r:
            if _expect(r):
                self.lease = loads(r.content)

    def _renew_lease(self) -> None:
        """kubelet's lease controller: PUT the last lease it saw; on a conflict GET and retry."""
        for _ in range(2):
            if self.lease is None:
                with self.client.get(
                    self._lease_path(), name="GET lease (kubelet)", catch_response=True
                ) as r:
                    if not _expect(r):
                        return
                    self.lease = loads(r.content)
            lease = dict(self.lease)
            lease["spec"] = dict(lease.get("spec") or {}, **self._lease_spec())
            with self.client.put(
                self._lease_path(), json=lease, name="PUT lease (kubelet)", catch_response=True
            ) as r:
                if _expect(r, race=(409,)):
                    self.lease = loads(r.content)
                    return
                self.lease = None

    # -- pod status -------------------------------------------------------------------------- #

    def _patch_status(self) -> None:
        if self.informer is None or not self.informer.objects:
            return
        ns, name = random.choice(list(self.informer.objects))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        patch = {
            "metadata": {"annotations": _stamp()},
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "Ready", "status": "True", "lastProbeTime": now},
                    {"type": "ContainersReady", "status": "True", "lastProbeTime": now},
                ],
                "podIP": _random_ip(),
            },
        }
        with self.client.patch(
            _pod_path(ns, name) + "/status",
            data=json.dumps(patch),
            headers={"Content-Type": STRATEGIC},
            name="PATCH pod/status (kubelet)",
            catch_response=True,
        ) as r:
            _expect(r, ok=(200,), race=(404,))

    @task
    def tick(self) -> None:
        now = time.time()
        if now >= self.next_lease:
            self.next_lease = now + self.lease_interval
            self._renew_lease()
        if now >= self.next_status:
            self.next_status = now + random.expovariate(1.0 / self.status_interval)
            self._patch_status()


class ControllerUser(FastHttpUser):
    """An informer over the run's pods in all namespaces, with occasional patches."""

    fixed_count = 5
    wait_time = between(3, 7)

    def on_start(self) -> None:
        self.run_id = str(_opt(self.environment, "run_id", "lt"))
        self.ident = f"controller-{uuid.uuid4().hex[:6]}"
        self.informer = Informer(
            self, "controller", "/api/v1/pods", {"labelSelector": f"{RUN_LABEL}={self.run_id}"}
        )
        self.informer.start()

    def on_stop(self) -> None:
        informer = getattr(self, "informer", None)
        if informer is not None:
            informer.stop()

    @task
    def patch_pod(self) -> None:
        if not self.informer.objects:
            return
        ns, name = random.choice(list(self.informer.objects))
        patch = {
            "metadata": {
                "labels": {f"{PREFIX}/controller": self.ident},
                "annotations": _stamp(),
            }
        }
        _merge_patch_pod(self.client, ns, name, patch, "PATCH pod (controller)")


def _merge_patch_pod(
    client: Any, ns: str, name: str, patch: dict[str, Any], label: str
) -> None:
    """Merge-patch a pod that another user may have deleted meanwhile (404 is a race)."""
    with client.patch(
        _pod_path(ns, name),
        data=json.dumps(patch),
        headers={"Content-Type": MERGE},
        name=label,
        catch_response=True,
    ) as r:
        _expect(r, ok=(200,), race=(404,))


class WriterUser(FastHttpUser):
    """Churn: create pods on the run's nodes, patch and update pods, delete its own pods."""

    fixed_count = 2
    wait_time = constant(0.2)

    def on_start(self) -> None:
        self.run_id = str(_opt(self.environment, "run_id", "lt"))
        self.pods: list[tuple[str, str, str]] = []  # (namespace, name, node) of the run
        self.mine: list[tuple[str, str]] = []
        self.refreshed = 0.0
        self.seq = 0
        self.tag = uuid.uuid4().hex[:6]

    def _refresh(self) -> None:
        """Which pods and nodes exist: a label-selected LIST every 10 s."""
        if time.time() - self.refreshed < 10 and self.pods:
            return
        self.refreshed = time.time()
        selector = quote(f"{RUN_LABEL}={self.run_id}")
        r = self.client.get(
            f"/api/v1/pods?labelSelector={selector}&limit=500", name="LIST pods (writer)"
        )
        if r.status_code != 200:
            return
        pods = []
        for item in loads(r.content).get("items") or []:
            meta = item.get("metadata") or {}
            node = (item.get("spec") or {}).get("nodeName") or ""
            pods.append((meta.get("namespace", ""), meta.get("name", ""), node))
        self.pods = pods

    @task(4)
    def patch_pod(self) -> None:
        self._refresh()
        if not self.pods:
            return
        ns, name, _ = random.choice(self.pods)
        patch = {"metadata": {"annotations": {**_stamp(), f"{PREFIX}/writer": self.tag}}}
        _merge_patch_pod(self.client, ns, name, patch, "PATCH pod (writer)")

    @task(2)
    def update_pod(self) -> None:
        """GET + PUT with the read resourceVersion (optimistic concurrency; 409 is a race)."""
        self._refresh()
        if not self.pods:
            return
        ns, name, _ = random.choice(self.pods)
        with self.client.get(
            _pod_path(ns, name), name="GET pod (writer)", catch_response=True
        ) as r:
            if not _expect(r, ok=(200,), race=(404,)):
                return
            pod = loads(r.content)
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations.update(_stamp())
        with self.client.put(
            _pod_path(ns, name), json=pod, name="PUT pod (writer)", catch_response=True
        ) as r:
            _expect(r, ok=(200,), race=(404, 409))

    @task(2)
    def create_pod(self) -> None:
        self._refresh()
        nodes = sorted({(ns, node) for ns, _, node in self.pods if node})
        if not nodes or len(self.mine) >= 200:
            return
        ns, node = random.choice(nodes)
        self.seq += 1
        name = f"{self.run_id}-w{self.tag}-{self.seq}"
        with self.client.post(
            f"/api/v1/namespaces/{ns}/pods",
            json=_pod(name, ns, node, self.run_id, "writer"),
            name="POST pod (writer)",
            catch_response=True,
        ) as r:
            if _expect(r):
                self.mine.append((ns, name))

    @task(1)
    def delete_pod(self) -> None:
        if len(self.mine) < 5:
            return
        ns, name = self.mine.pop(random.randrange(len(self.mine)))
        with self.client.delete(
            _pod_path(ns, name), name="DELETE pod (writer)", catch_response=True
        ) as r:
            _expect(r, ok=(200,), race=(404,))
