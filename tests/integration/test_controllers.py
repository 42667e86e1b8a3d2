"""The built-in controllers (watchproxy/controllers/) against real etcd and real `watchproxy serve`
processes: namespace deletion end to end, garbage collection (background, foreground, orphan),
leader election failover on SIGKILL, and the config switch.

Each set-up has its own etcd pair, so no other proxy competes for the Leases. Durations are
shortened through the config; every wait is a bounded poll, never a sleep-then-assert.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, base_config, pod, running_etcd_pair
from watchproxy.etcd.server import EtcdServer

pytestmark = pytest.mark.etcd
T = TypeVar("T")
FAST = {"lease_duration_seconds": 3, "renew_deadline_seconds": 2, "retry_period_seconds": 0.5}
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
NS_LEASE = f"{LEASES}/watchproxy-namespace-controller"
GC_LEASE = f"{LEASES}/watchproxy-garbage-collector"
MERGE = {"content-type": "application/merge-patch+json"}
WAIT = 60.0  # bound of every poll; passes normally finish in well under a second


def eventually(check: Callable[[], T | None], what: str, bound: float = WAIT) -> T:
    """Poll `check` until it returns something truthy (returned), for at most `bound` s."""
    deadline = time.monotonic() + bound
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"not reached within {bound:g} s: {what} (last: {last!r})")


def cfg(etcds: list[EtcdServer], **controllers: Any) -> dict[str, Any]:
    return base_config([s.endpoint for s in etcds], controllers={**FAST, **controllers})


def path(plural: str, ns: str, name: str = "", group: str = "") -> str:
    base = f"/apis/{group}/v1" if group else "/api/v1"
    return f"{base}/namespaces/{ns}/{plural}" + (f"/{name}" if name else "")


def create(api: httpx.Client, plural: str, ns: str, body: dict[str, Any], group: str = "") -> Any:
    r = api.post(path(plural, ns, group=group), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def cm(name: str, *, owners: list[dict[str, Any]] | None = None, **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **meta}
    if owners:
        metadata["ownerReferences"] = owners
    return {"metadata": metadata, "data": {"k": "v"}}


def deployment(name: str) -> dict[str, Any]:
    """The smallest Deployment kube's validation accepts (registry/strategies/apps.py)."""
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": pod(name)["spec"]}
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": labels}, "template": template},
    }


def ref(obj: dict[str, Any], *, block: bool = False) -> dict[str, Any]:
    out = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }
    if block:
        out["blockOwnerDeletion"] = True
    return out


def gone(api: httpx.Client, url: str) -> bool:
    return api.get(url).status_code == 404


def new_namespace(api: httpx.Client, name: str) -> None:
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text


def holder_pid(api: httpx.Client, lease: str) -> int | None:
    r = api.get(lease)
    if r.status_code != 200:
        return None
    holder = r.json()["spec"].get("holderIdentity") or ""
    match = re.fullmatch(r".+_(\d+)_[0-9a-f]+", holder)
    return int(match.group(1)) if match else None


def pid_of(proc: ProxyProcess) -> int:
    assert proc.proc is not None
    return proc.proc.pid


def holds(api: httpx.Client, lease: str, proc: ProxyProcess) -> bool:
    return holder_pid(api, lease) == pid_of(proc)


@pytest.fixture(scope="module")
def etcds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[EtcdServer]]:
    with running_etcd_pair(tmp_path_factory.mktemp("controllers-etcd")) as servers:
        yield servers


@pytest.fixture(scope="module")
def api(
    etcds: list[EtcdServer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    proc = ProxyProcess(cfg(etcds), tmp_path_factory.mktemp("controllers"))
    proc.start()
    try:
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            eventually(lambda: holder_pid(client, NS_LEASE) == pid_of(proc), "namespace lease")
            eventually(lambda: holder_pid(client, GC_LEASE) == pid_of(proc), "gc lease")
            yield client
    finally:
        proc.stop()


# -- leases -----------------------------------------------------------------------------------


def test_lease_is_written_as_client_go_writes_it(api: httpx.Client) -> None:
    lease = api.get(NS_LEASE).json()
    spec = lease["spec"]
    assert spec["leaseDurationSeconds"] == FAST["lease_duration_seconds"]
    assert spec["leaseTransitions"] == 0  # one candidate ever: it created the Lease
    for key in ("acquireTime", "renewTime"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", spec[key]), spec[key]
    renewed = spec["renewTime"]
    eventually(lambda: api.get(NS_LEASE).json()["spec"]["renewTime"] != renewed, "a renewal")
    again = api.get(NS_LEASE).json()["spec"]
    assert again["acquireTime"] == spec["acquireTime"]  # renewals keep the acquire time
    assert again["holderIdentity"] == spec["holderIdentity"]


# -- namespace controller ---------------------------------------------------------------------


def test_namespace_deletion_empties_it_then_removes_it(api: httpx.Client) -> None:
    ns = "acme-ctl-delete"
    new_namespace(api, ns)
    create(api, "pods", ns, pod("unbound"))
    bound = pod("bound", node="ghost-node")  # no such Node: no kubelet will ever finish it
    bound["spec"]["terminationGracePeriodSeconds"] = 1
    create(api, "pods", ns, bound)
    create(api, "configmaps", ns, cm("plain"))
    create(api, "configmaps", ns, cm("held", finalizers=["example.com/hold"]))
    create(api, "secrets", ns, {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    create(api, "services", ns, {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}})
    create(api, "deployments", ns, deployment("web"), group="apps")

    assert api.delete(f"/api/v1/namespaces/{ns}").status_code == 200
    refused = api.post(path("configmaps", ns), json=cm("late"))
    assert refused.status_code == 403, refused.text
    assert refused.json()["details"]["causes"][0]["reason"] == "NamespaceTerminating"

    for url in (
        path("pods", ns, "unbound"),
        path("pods", ns, "bound"),
        path("configmaps", ns, "plain"),
        path("secrets", ns, "s"),
        path("services", ns, "svc"),
        path("deployments", ns, "web", group="apps"),
    ):
        eventually(partial(gone, api, url), f"{url} deleted")

    # The object with a finalizer keeps the namespace Terminating, and the status says why.
    held = api.get(path("configmaps", ns, "held")).json()
    assert held["metadata"]["deletionTimestamp"]

    def conditions() -> dict[str, dict[str, Any]] | None:
        found = api.get(f"/api/v1/namespaces/{ns}").json()
        by_type = {c["type"]: c for c in found["status"].get("conditions") or []}
        remaining = by_type.get("NamespaceContentRemaining", {})
        if remaining.get("message") != (
            "Some resources are remaining: configmaps. has 1 resource instances"
        ):
            return None
        return by_type

    by_type = eventually(conditions, "NamespaceContentRemaining names the configmap")
    namespace = api.get(f"/api/v1/namespaces/{ns}").json()
    assert namespace["status"]["phase"] == "Terminating"
    assert namespace["spec"]["finalizers"] == ["kubernetes"]
    assert by_type["NamespaceContentRemaining"]["status"] == "True"
    assert by_type["NamespaceFinalizersRemaining"] == {
        **by_type["NamespaceFinalizersRemaining"],
        "status": "True",
        "reason": "SomeFinalizersRemain",
        "message": "Some content in the namespace has finalizers remaining: "
        "example.com/hold in 1 resource instances",
    }
    assert by_type["NamespaceDeletionContentFailure"]["status"] == "False"

    r = api.patch(
        path("configmaps", ns, "held"), content=b'{"metadata":{"finalizers":null}}', headers=MERGE
    )
    assert r.status_code == 200, r.text
    eventually(lambda: gone(api, f"/api/v1/namespaces/{ns}"), "namespace removed")


def test_pods_with_a_live_kubelet_are_left_to_it(api: httpx.Client) -> None:
    """Past its grace period, a pod on a node whose kubelet heartbeats is not force-deleted
    (the kubelet finishes it); a pod on a node without heartbeats is."""
    ns = "acme-ctl-kubelet"
    node = "ctl-live-node"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = api.post(
        "/api/v1/nodes",
        json={
            "metadata": {"name": node},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": now}]
            },
        },
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/nodes",
        json={"metadata": {"name": "ctl-silent-node"}, "status": {"conditions": []}},
    )
    assert r.status_code == 201, r.text
    new_namespace(api, ns)
    live = pod("on-live-node", node=node)
    live["spec"]["terminationGracePeriodSeconds"] = 1
    create(api, "pods", ns, live)
    silent = pod("on-silent-node", node="ctl-silent-node")
    silent["spec"]["terminationGracePeriodSeconds"] = 2  # ends after the live pod's grace
    create(api, "pods", ns, silent)

    assert api.delete(f"/api/v1/namespaces/{ns}").status_code == 200
    eventually(lambda: gone(api, path("pods", ns, "on-silent-node")), "silent node's pod")
    # The pass that force-deleted it saw the other pod's grace period over too, and kept it.
    kept = api.get(path("pods", ns, "on-live-node"))
    assert kept.status_code == 200 and kept.json()["metadata"]["deletionTimestamp"]
    assert api.get(f"/api/v1/namespaces/{ns}").status_code == 200

    # The kubelet's part: it deletes the pod with grace 0 once its containers stopped.
    r = api.delete(path("pods", ns, "on-live-node"), params={"gracePeriodSeconds": "0"})
    assert r.status_code == 200, r.text
    eventually(lambda: gone(api, f"/api/v1/namespaces/{ns}"), "namespace removed")


# -- garbage collector ------------------------------------------------------------------------


def test_background_deletion_collects_dependents(api: httpx.Client) -> None:
    ns = "acme-ctl-gc-bg"
    new_namespace(api, ns)
    owner = create(api, "configmaps", ns, cm("owner"))
    other = create(api, "configmaps", ns, cm("other-owner"))
    create(api, "configmaps", ns, cm("dep", owners=[ref(owner)]))
    create(api, "secrets", ns, {"metadata": {"name": "dep", "ownerReferences": [ref(owner)]}})
    create(api, "configmaps", ns, cm("two-owners", owners=[ref(owner), ref(other)]))
    never = {"apiVersion": "v1", "kind": "ConfigMap", "name": "never", "uid": "no-such-uid"}
    create(api, "configmaps", ns, cm("orphaned-at-birth", owners=[never]))
    unserved = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "w-uid"}
    create(api, "configmaps", ns, cm("unserved-owner", owners=[unserved]))
    r = api.post("/api/v1/nodes", json={"metadata": {"name": "ctl-gc-node"}})
    assert r.status_code == 201, r.text
    node = r.json()
    create(api, "configmaps", ns, cm("node-dep", owners=[ref(node)]))

    eventually(lambda: gone(api, path("configmaps", ns, "orphaned-at-birth")), "dangling dep")
    assert api.delete(path("configmaps", ns, "owner")).status_code == 200
    assert api.delete("/api/v1/nodes/ctl-gc-node").status_code == 200
    eventually(lambda: gone(api, path("configmaps", ns, "dep")), "configmap dependent")
    eventually(lambda: gone(api, path("secrets", ns, "dep")), "secret dependent")
    eventually(lambda: gone(api, path("configmaps", ns, "node-dep")), "dependent of a node")

    def dropped() -> list[dict[str, Any]] | None:
        refs = api.get(path("configmaps", ns, "two-owners")).json()["metadata"]["ownerReferences"]
        return refs if len(refs) == 1 else None

    assert eventually(dropped, "reference to the gone owner dropped") == [ref(other)]
    # Every pass saw this one; an owner kind that is not served is never taken as gone.
    survivor = api.get(path("configmaps", ns, "unserved-owner"))
    assert survivor.status_code == 200 and not survivor.json()["metadata"].get("deletionTimestamp")


def test_foreground_deletion_waits_for_blocking_dependents(api: httpx.Client) -> None:
    ns = "acme-ctl-gc-fg"
    new_namespace(api, ns)
    owner = create(api, "deployments", ns, deployment("fg"), group="apps")
    create(
        api,
        "configmaps",
        ns,
        cm("blocking", owners=[ref(owner, block=True)], finalizers=["example.com/hold"]),
    )
    create(api, "configmaps", ns, cm("free", owners=[ref(owner)]))
    owner_url = path("deployments", ns, "fg", group="apps")
    r = api.request("DELETE", owner_url, json={"propagationPolicy": "Foreground"})
    assert r.status_code == 200, r.text

    eventually(lambda: gone(api, path("configmaps", ns, "free")), "non-blocking dependent")
    blocking = eventually(
        lambda: (
            api.get(path("configmaps", ns, "blocking")).json()["metadata"].get("deletionTimestamp")
        ),
        "blocking dependent being deleted",
    )
    assert blocking
    # While the blocking dependent exists, the owner waits with its finalizer.
    waiting = api.get(owner_url).json()["metadata"]
    assert waiting["deletionTimestamp"] and "foregroundDeletion" in waiting["finalizers"]

    r = api.patch(
        path("configmaps", ns, "blocking"),
        content=b'{"metadata":{"finalizers":null}}',
        headers=MERGE,
    )
    assert r.status_code == 200, r.text
    eventually(lambda: gone(api, owner_url), "owner removed after its blocking dependent")


def test_orphan_deletion_keeps_dependents_without_the_reference(api: httpx.Client) -> None:
    ns = "acme-ctl-gc-orphan"
    new_namespace(api, ns)
    owner = create(api, "configmaps", ns, cm("owner"))
    create(api, "configmaps", ns, cm("dep-a", owners=[ref(owner)]))
    create(api, "secrets", ns, {"metadata": {"name": "dep-b", "ownerReferences": [ref(owner)]}})
    r = api.request("DELETE", path("configmaps", ns, "owner"), json={"propagationPolicy": "Orphan"})
    assert r.status_code == 200, r.text
    eventually(lambda: gone(api, path("configmaps", ns, "owner")), "owner removed")
    for url in (path("configmaps", ns, "dep-a"), path("secrets", ns, "dep-b")):
        dep = api.get(url)
        assert dep.status_code == 200, url
        assert "ownerReferences" not in dep.json()["metadata"]
        assert not dep.json()["metadata"].get("deletionTimestamp")


# -- the switch -------------------------------------------------------------------------------


def test_namespace_controller_off_leaves_terminating_namespaces(tmp_path: Path) -> None:
    with running_etcd_pair(tmp_path / "etcd") as etcds:
        proc = ProxyProcess(cfg(etcds, namespace=False), tmp_path)
        proc.start()
        try:
            with httpx.Client(base_url=proc.url, timeout=30) as api:
                new_namespace(api, "acme-left-alone")
                create(api, "configmaps", "acme-left-alone", cm("content"))
                assert api.delete("/api/v1/namespaces/acme-left-alone").status_code == 200
                # The garbage collector runs (its pass after the namespace's deletion proves the
                # process is working) ...
                eventually(lambda: holder_pid(api, GC_LEASE) == pid_of(proc), "gc lease")
                new_namespace(api, "acme-gc-probe")
                never = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "gone"}
                create(api, "configmaps", "acme-gc-probe", cm("probe", owners=[never]))
                eventually(lambda: gone(api, path("configmaps", "acme-gc-probe", "probe")), "gc")
                # ... while nobody empties the Terminating namespace or campaigns for its Lease.
                assert api.get(NS_LEASE).status_code == 404
                ns = api.get("/api/v1/namespaces/acme-left-alone").json()
                assert ns["status"]["phase"] == "Terminating"
                assert ns["spec"]["finalizers"] == ["kubernetes"]
                assert api.get(path("configmaps", "acme-left-alone", "content")).status_code == 200
        finally:
            proc.stop()


# -- leader election --------------------------------------------------------------------------

ACTIONS = re.compile(r"namespace controller: |garbage collector: ")


def test_killed_leader_is_replaced_and_work_is_finished_once(tmp_path: Path) -> None:
    with running_etcd_pair(tmp_path / "etcd") as etcds:
        # More room between renew deadline and lease duration than FAST: a loaded machine
        # must not make the first leader lose its lease before the kill.
        slow = {"lease_duration_seconds": 5, "renew_deadline_seconds": 4}
        first = ProxyProcess(cfg(etcds, **slow), tmp_path, name="first")
        second = ProxyProcess(cfg(etcds, **slow), tmp_path, name="second")
        first.start()
        try:
            with httpx.Client(base_url=first.url, timeout=30) as api:
                for lease in (NS_LEASE, GC_LEASE):
                    eventually(partial(holds, api, lease, first), lease)
            second.start()
            with httpx.Client(base_url=second.url, timeout=30) as api:
                _failover(api, first, second)
        finally:
            second.stop()
            first.stop()


def _failover(api: httpx.Client, first: ProxyProcess, second: ProxyProcess) -> None:
    ns, gc_ns = "acme-failover", "acme-gc-failover"
    new_namespace(api, ns)
    for i in range(150):
        create(api, "configmaps", ns, cm(f"c{i:03}"))
    new_namespace(api, gc_ns)
    gc_owner = create(api, "configmaps", gc_ns, cm("owner"))
    dependents = 20
    for i in range(dependents):
        create(api, "configmaps", gc_ns, cm(f"dep{i:02}", owners=[ref(gc_owner)]))
    before = {lease: api.get(lease).json()["spec"] for lease in (NS_LEASE, GC_LEASE)}
    # While the first process leads, the second does nothing.
    assert not ACTIONS.search(second.log())

    assert api.delete(f"/api/v1/namespaces/{ns}").status_code == 200
    # Kill the leader once it has started on the namespace (it may be mid-way or done).
    eventually(lambda: "namespace acme-failover: deleting" in first.log(), "leader at work")
    assert not ACTIONS.search(second.log())  # the standby, up to the kill
    assert first.proc is not None
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(10)
    # The GC owner goes while nobody leads: the new leader's graph, built from scratch, must
    # find its dependents. (Gone before the kill, a dependent could be deleted in etcd just
    # before the kill and its log line never written, and the count below would be short.)
    assert api.delete(path("configmaps", gc_ns, "owner")).status_code == 200

    for lease in (NS_LEASE, GC_LEASE):
        eventually(partial(holds, api, lease, second), f"{lease} taken")
        spec = api.get(lease).json()["spec"]
        assert spec["leaseTransitions"] == before[lease]["leaseTransitions"] + 1
        assert spec["acquireTime"] != before[lease]["acquireTime"]

    eventually(
        lambda: gone(api, f"/api/v1/namespaces/{ns}"), "namespace finished by the new leader"
    )
    left = api.get(path("configmaps", ns))
    assert left.status_code == 200 and left.json()["items"] == []
    eventually(
        lambda: api.get(path("configmaps", gc_ns)).json()["items"] == [],
        "dependents collected",
    )
    # A new object under a collected name is not mistaken for the old one (uid preconditions):
    # dep00 again, owned by a new owner under the old owner's name.
    new_owner = create(api, "configmaps", gc_ns, cm("owner"))
    create(api, "configmaps", gc_ns, cm("dep00", owners=[ref(new_owner)]))
    never = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "never-existed"}
    create(api, "configmaps", gc_ns, cm("probe", owners=[never]))
    eventually(lambda: gone(api, path("configmaps", gc_ns, "probe")), "later pass")
    assert api.get(path("configmaps", gc_ns, "dep00")).status_code == 200
    # Finished once: each dependent deleted by exactly one of the two leaders (a pass after
    # the collection has run, so every line is written).
    deleted = re.compile(rf"garbage collector: deleted configmaps {gc_ns}/dep\d\d ")
    assert len(deleted.findall(first.log() + second.log())) == dependents
    # ... while a reference to the old owner's uid is dangling though its name is taken again.
    create(api, "configmaps", gc_ns, cm("dep01", owners=[ref(gc_owner)]))
    eventually(lambda: gone(api, path("configmaps", gc_ns, "dep01")), "dangling by uid")
    assert api.get(path("configmaps", gc_ns, "owner")).status_code == 200
