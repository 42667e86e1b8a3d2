"""Dry-run never writes: `dryRun=All` runs the whole write path -- decoding, defaulting, validation,
preconditions, admission -- and answers what would be stored, with nothing written to etcd and no
watch event (kube's DryRunnableStorage). Any other `dryRun` value is refused before anything runs:
422 Invalid against the request's options kind (endpoints/handlers/*.go, ValidateDryRun).

Every check reads both etcd shards directly (every key, with the store revision) before and after,
and holds watches of every served type opened before the dry run: the first event each one sees
must be a real write made after the check.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Cluster, pod, quiet_cluster
from tests.integration.etcd_state import etcd_state
from tests.integration.watching import watch

pytestmark = pytest.mark.etcd

TENANT = "watchproxy.io/tenant"
NS = "acme-dry"  # tenant acme, shard-a
GX = "gx"  # tenant globex, shard-b
SENTINEL_NS = "acme-sentinel"
DRY = {"dryRun": "All"}
MERGE = {"content-type": "application/merge-patch+json"}
STRATEGIC = {"content-type": "application/strategic-merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}


def _populate(api: httpx.Client) -> None:
    for name in (NS, GX, SENTINEL_NS):
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": name}}).is_success
    node = {"metadata": {"name": "acme-node-1", "labels": {TENANT: "acme"}}}
    assert api.post("/api/v1/nodes", json=node).status_code == 201


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two etcd shards and one proxy of this module's own, controllers off: no other test and
    no controller writes to them."""
    with quiet_cluster(tmp_path_factory.mktemp("dry-run"), _populate) as cluster:
        yield cluster


@pytest.fixture()
def api(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.proxy.url, timeout=30) as client:
        yield client


# -- etcd, read directly ----------------------------------------------------------------------


# -- the check: nothing written, no event -----------------------------------------------------

_serial = itertools.count()


def _sentinels() -> dict[str, tuple[str, dict[str, Any]]]:
    """Per watched collection: a real create that must be the first event its watch sees."""
    n = next(_serial)
    return {
        "/api/v1/configmaps": (
            f"/api/v1/namespaces/{SENTINEL_NS}/configmaps",
            {"metadata": {"name": f"sentinel-{n}"}},
        ),
        "/api/v1/pods": (f"/api/v1/namespaces/{SENTINEL_NS}/pods", pod(f"sentinel-{n}")),
        "/api/v1/namespaces": ("/api/v1/namespaces", {"metadata": {"name": f"sentinel-{n}"}}),
        "/api/v1/nodes": ("/api/v1/nodes", {"metadata": {"name": f"sentinel-{n}"}}),
    }


@contextlib.contextmanager
def writes_nothing(cluster: Cluster, api: httpx.Client) -> Iterator[None]:
    """etcd is byte-for-byte the same after the block (store revisions included), and watches
    of pods, configmaps, namespaces and nodes opened before it see no event from it."""
    sentinels = _sentinels()
    with contextlib.ExitStack() as stack:
        streams = {}
        for path in sentinels:
            rv = api.get(path).json()["metadata"]["resourceVersion"]
            streams[path] = stack.enter_context(
                watch(api, path, resourceVersion=rv, allowWatchBookmarks="true")
            )
        before = etcd_state(cluster.etcd)
        yield
        after = etcd_state(cluster.etcd)
        assert [rev for rev, _ in after] == [rev for rev, _ in before], "etcd was written"
        for shard, ((_, old), (_, new)) in enumerate(zip(before, after, strict=True)):
            changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            assert not changed, f"shard {shard}: keys changed: {changed}"
        for path, (create_path, body) in sentinels.items():
            assert api.post(create_path, json=body).status_code == 201
            first = streams[path].take(1)[0]
            assert (first["type"], first["object"]["metadata"]["name"]) == (
                "ADDED",
                body["metadata"]["name"],
            ), f"{path}: an event before the sentinel: {first}"


def bound_pod(name: str, node: str = "node-a") -> dict[str, Any]:
    return pod(name, node=node)


# -- create -----------------------------------------------------------------------------------


def test_dry_run_create_answers_the_object_and_stores_nothing(
    cluster: Cluster, api: httpx.Client
) -> None:
    with writes_nothing(cluster, api):
        r = api.post(f"/api/v1/namespaces/{NS}/pods", params=DRY, json=pod("dry-pod"))
        assert r.status_code == 201, r.text
        obj = r.json()
        meta = obj["metadata"]
        # Defaulted and server-set fields, as a real create would store them; no
        # resourceVersion, as nothing was stored.
        assert meta["uid"] and meta["creationTimestamp"] and meta["namespace"] == NS
        assert "resourceVersion" not in meta
        assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
        generated = api.post(
            f"/api/v1/namespaces/{NS}/configmaps",
            params=DRY,
            json={"metadata": {"generateName": "gen-"}, "data": {"a": "b"}},
        )
        assert generated.status_code == 201 and generated.json()["metadata"]["name"].startswith(
            "gen-"
        )
        node = {"metadata": {"name": "dry-node", "labels": {TENANT: "globex"}}}
        assert api.post("/api/v1/nodes", params=DRY, json=node).status_code == 201
        ns = api.post("/api/v1/namespaces", params=DRY, json={"metadata": {"name": "acme-dry2"}})
        assert ns.status_code == 201 and ns.json()["status"] == {"phase": "Active"}
    for path in (
        f"/api/v1/namespaces/{NS}/pods/dry-pod",
        "/api/v1/nodes/dry-node",
        "/api/v1/namespaces/acme-dry2",
    ):
        assert api.get(path).status_code == 404, path
    # The name was not claimed either: a real create of the node now succeeds.
    assert api.post("/api/v1/nodes", json=node).status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "code", "reason"),
    [
        # validation
        (f"/api/v1/namespaces/{NS}/configmaps", {"metadata": {"name": "Bad_Name"}}, 422, "Invalid"),
        # an existing name
        (f"/api/v1/namespaces/{NS}/pods", pod("exists"), 409, "AlreadyExists"),
        # NamespaceLifecycle admission: no such namespace
        ("/api/v1/namespaces/acme-nowhere/configmaps", {"metadata": {"name": "x"}}, 404, None),
        # tenancy admission: a globex pod on an acme node
        (f"/api/v1/namespaces/{GX}/pods", pod("stray", node="acme-node-1"), 403, "Forbidden"),
        # node admission: a tenant the config does not know
        (
            "/api/v1/nodes",
            {"metadata": {"name": "n-unknown", "labels": {TENANT: "initech"}}},
            422,
            "Invalid",
        ),
        # an existing cluster-scoped name, on the other shard
        (
            "/api/v1/nodes",
            {"metadata": {"name": "acme-node-1", "labels": {TENANT: "globex"}}},
            409,
            "AlreadyExists",
        ),
    ],
)
def test_dry_run_create_runs_validation_and_admission(
    cluster: Cluster,
    api: httpx.Client,
    path: str,
    body: dict[str, Any],
    code: int,
    reason: str | None,
) -> None:
    if reason == "AlreadyExists" and "pods" in path:
        api.post(path, json=body)  # the real one (201, or 409 on a rerun)
    with writes_nothing(cluster, api):
        r = api.post(path, params=DRY, json=body)
    assert r.status_code == code, r.text
    if reason:
        assert r.json()["reason"] == reason


def test_dry_run_create_in_a_terminating_namespace_is_forbidden(
    cluster: Cluster, api: httpx.Client
) -> None:
    api.post("/api/v1/namespaces", json={"metadata": {"name": "acme-dry-ending"}})
    assert api.delete("/api/v1/namespaces/acme-dry-ending").status_code == 200
    with writes_nothing(cluster, api):
        r = api.post(
            "/api/v1/namespaces/acme-dry-ending/configmaps",
            params=DRY,
            json={"metadata": {"name": "late"}},
        )
    assert r.status_code == 403, r.text
    assert r.json()["details"]["causes"][0]["reason"] == "NamespaceTerminating"


# -- update and patch -------------------------------------------------------------------------


def _configmap(api: httpx.Client, name: str, **meta: Any) -> dict[str, Any]:
    api.delete(f"/api/v1/namespaces/{NS}/configmaps/{name}", params={"gracePeriodSeconds": "0"})
    body = {"metadata": {"name": name, "labels": {"v": "1"}, **meta}, "data": {"k": "v"}}
    r = api.post(f"/api/v1/namespaces/{NS}/configmaps", json=body)
    assert r.status_code == 201, r.text
    obj: dict[str, Any] = r.json()
    return obj


def test_dry_run_update_answers_the_new_object(cluster: Cluster, api: httpx.Client) -> None:
    current = _configmap(api, "dry-put")
    path = f"/api/v1/namespaces/{NS}/configmaps/dry-put"
    wanted = json.loads(json.dumps(current))
    wanted["data"] = {"k": "changed"}
    with writes_nothing(cluster, api):
        r = api.put(path, params=DRY, json=wanted)
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"k": "changed"}
        assert r.json()["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]
        # Optimistic concurrency is checked too: a stale resourceVersion is a 409.
        stale = dict(wanted, metadata={**wanted["metadata"], "resourceVersion": "1"})
        assert api.put(path, params=DRY, json=stale).status_code == 409
    assert api.get(path).json()["data"] == {"k": "v"}


@pytest.mark.parametrize(
    ("headers", "patch"),
    [
        (MERGE, {"metadata": {"labels": {"v": "2"}}, "data": {"k": "patched"}}),
        (STRATEGIC, {"metadata": {"labels": {"v": "2"}}, "data": {"k": "patched"}}),
        (
            JSON_PATCH,
            [
                {"op": "replace", "path": "/metadata/labels/v", "value": "2"},
                {"op": "replace", "path": "/data/k", "value": "patched"},
            ],
        ),
    ],
    ids=["merge", "strategic", "json"],
)
def test_dry_run_patch_answers_the_patched_object(
    cluster: Cluster, api: httpx.Client, headers: dict[str, str], patch: Any
) -> None:
    _configmap(api, "dry-patch")
    path = f"/api/v1/namespaces/{NS}/configmaps/dry-patch"
    with writes_nothing(cluster, api):
        r = api.patch(path, params=DRY, content=json.dumps(patch), headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["labels"] == {"v": "2"}
        assert r.json()["data"] == {"k": "patched"}
    got = api.get(path).json()
    assert got["metadata"]["labels"] == {"v": "1"} and got["data"] == {"k": "v"}


def test_dry_run_patch_of_a_pod_keeps_pod_rules(cluster: Cluster, api: httpx.Client) -> None:
    api.post(f"/api/v1/namespaces/{NS}/pods", json=pod("dry-sp"))
    api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("dry-gx"))
    with writes_nothing(cluster, api):
        # Strategic merge on a pod: containers merge by name (an image is what a pod update
        # may change: ValidatePodUpdate).
        r = api.patch(
            f"/api/v1/namespaces/{NS}/pods/dry-sp",
            params=DRY,
            json={"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}},
            headers=STRATEGIC,
        )
        assert r.status_code == 200, r.text
        assert r.json()["spec"]["containers"][0]["image"] == "busybox:2"
        assert r.json()["spec"]["containers"][0]["name"] == "c"
        # The tenant node check runs on a dry-run patch too.
        r = api.patch(
            f"/api/v1/namespaces/{GX}/pods/dry-gx",
            params=DRY,
            json={"spec": {"nodeName": "acme-node-1"}},
            headers=MERGE,
        )
        assert r.status_code == 403, r.text
        # A failing JSON patch test is still a 422.
        r = api.patch(
            f"/api/v1/namespaces/{NS}/pods/dry-sp",
            params=DRY,
            content=b'[{"op":"test","path":"/metadata/name","value":"other"}]',
            headers=JSON_PATCH,
        )
        assert r.status_code == 422, r.text


def test_dry_run_binding(cluster: Cluster, api: httpx.Client) -> None:
    api.post(f"/api/v1/namespaces/{GX}/pods", json=pod("dry-bind"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "dry-bind"},
        "target": {"kind": "Node", "name": "shared-1"},
    }
    path = f"/api/v1/namespaces/{GX}/pods/dry-bind/binding"
    with writes_nothing(cluster, api):
        assert api.post(path, params=DRY, json=binding).status_code == 201
        stray = dict(binding, target={"kind": "Node", "name": "acme-node-1"})
        assert api.post(path, params=DRY, json=stray).status_code == 403
    assert "nodeName" not in api.get(f"/api/v1/namespaces/{GX}/pods/dry-bind").json()["spec"]


# -- delete -----------------------------------------------------------------------------------


def test_dry_run_delete_plain(cluster: Cluster, api: httpx.Client) -> None:
    current = _configmap(api, "dry-del")
    path = f"/api/v1/namespaces/{NS}/configmaps/dry-del"
    with writes_nothing(cluster, api):
        r = api.delete(path, params=DRY)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "Success"
        assert r.json()["details"]["uid"] == current["metadata"]["uid"]
        # The same through a DeleteOptions body, as kubectl sends it.
        r = api.request("DELETE", path, json={"kind": "DeleteOptions", "dryRun": ["All"]})
        assert r.status_code == 200, r.text
        # Preconditions are checked.
        r = api.request(
            "DELETE", path, json={"dryRun": ["All"], "preconditions": {"uid": "not-the-uid"}}
        )
        assert r.status_code == 409, r.text
    assert api.get(path).status_code == 200


def test_dry_run_delete_with_finalizers(cluster: Cluster, api: httpx.Client) -> None:
    _configmap(api, "dry-fin", finalizers=["example.com/keep"])
    path = f"/api/v1/namespaces/{NS}/configmaps/dry-fin"
    with writes_nothing(cluster, api):
        r = api.delete(path, params={**DRY, "propagationPolicy": "Orphan"})
        assert r.status_code == 200, r.text
        meta = r.json()["metadata"]
        assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
        assert meta["finalizers"] == ["example.com/keep", "orphan"]
    meta = api.get(path).json()["metadata"]
    assert "deletionTimestamp" not in meta and meta["finalizers"] == ["example.com/keep"]
    # Being deleted for real, a dry-run removal of the last finalizer deletes nothing.
    assert api.delete(path).status_code == 200
    with writes_nothing(cluster, api):
        r = api.patch(path, params=DRY, json={"metadata": {"finalizers": None}}, headers=MERGE)
        assert r.status_code == 200, r.text
    assert api.get(path).status_code == 200
    api.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)


def test_dry_run_delete_of_pods(cluster: Cluster, api: httpx.Client) -> None:
    api.post(f"/api/v1/namespaces/{NS}/pods", json=bound_pod("dry-bound"))
    api.post(f"/api/v1/namespaces/{NS}/pods", json=pod("dry-unbound"))
    bound = f"/api/v1/namespaces/{NS}/pods/dry-bound"
    with writes_nothing(cluster, api):
        r = api.delete(bound, params={**DRY, "gracePeriodSeconds": "12"})
        assert r.status_code == 200, r.text
        meta = r.json()["metadata"]
        assert meta["deletionGracePeriodSeconds"] == 12 and meta["deletionTimestamp"]
        r = api.delete(f"/api/v1/namespaces/{NS}/pods/dry-unbound", params=DRY)
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 0
    assert "deletionTimestamp" not in api.get(bound).json()["metadata"]
    assert api.get(f"/api/v1/namespaces/{NS}/pods/dry-unbound").status_code == 200
    # Already being deleted: a dry-run grace-0 delete removes nothing either.
    assert api.delete(bound, params={"gracePeriodSeconds": "30"}).status_code == 200
    with writes_nothing(cluster, api):
        r = api.delete(bound, params={**DRY, "gracePeriodSeconds": "0"})
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 0
    assert api.get(bound).json()["metadata"]["deletionGracePeriodSeconds"] == 30


def test_dry_run_delete_of_a_namespace(cluster: Cluster, api: httpx.Client) -> None:
    name = "acme-dry-ns"
    api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    path = f"/api/v1/namespaces/{name}"
    with writes_nothing(cluster, api):
        r = api.delete(path, params=DRY)
        assert r.status_code == 200, r.text
        assert r.json()["status"]["phase"] == "Terminating"
        assert r.json()["metadata"]["deletionTimestamp"]
    assert api.get(path).json()["status"]["phase"] == "Active"
    # Terminating for real: neither a dry-run finalize nor a dry-run delete removes it.
    assert api.delete(path).status_code == 200
    ns = api.get(path).json()
    ns["spec"]["finalizers"] = []
    with writes_nothing(cluster, api):
        r = api.put(f"{path}/finalize", params=DRY, json=ns)
        assert r.status_code == 200, r.text
        assert r.json()["spec"]["finalizers"] == []
    assert api.get(path).json()["spec"]["finalizers"] == ["kubernetes"]


def test_dry_run_deletecollection(cluster: Cluster, api: httpx.Client) -> None:
    for i in range(3):
        _configmap(api, f"dry-dc-{i}")
    before = api.get(f"/api/v1/namespaces/{NS}/configmaps", params={"labelSelector": "v=1"})
    names = sorted(i["metadata"]["name"] for i in before.json()["items"])
    with writes_nothing(cluster, api):
        r = api.delete(
            f"/api/v1/namespaces/{NS}/configmaps", params={**DRY, "labelSelector": "v=1"}
        )
        assert r.status_code == 200, r.text
        assert sorted(i["metadata"]["name"] for i in r.json()["items"]) == names
        r = api.delete("/api/v1/nodes", params={**DRY, "labelSelector": f"{TENANT}=acme"})
        assert r.status_code == 200, r.text
        assert [i["metadata"]["name"] for i in r.json()["items"]] == ["acme-node-1"]
    after = api.get(f"/api/v1/namespaces/{NS}/configmaps", params={"labelSelector": "v=1"})
    assert sorted(i["metadata"]["name"] for i in after.json()["items"]) == names


# -- only "All" -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Bogus", "all", ""])
def test_other_dry_run_values_are_invalid_options(
    cluster: Cluster, api: httpx.Client, value: str
) -> None:
    """kube's handlers answer 422 Invalid against <Kind>Options.meta.k8s.io (ValidateDryRun),
    before the body is even decoded; `dryRun=` is the value "", also not supported."""
    _configmap(api, "dry-opts")
    cm = f"/api/v1/namespaces/{NS}/configmaps"
    params = {"dryRun": value}
    calls = [
        ("CreateOptions", "POST", cm, {"json": {"metadata": {"name": "dry-opts-2"}}}),
        ("UpdateOptions", "PUT", f"{cm}/dry-opts", {"json": {"metadata": {"name": "dry-opts"}}}),
        ("PatchOptions", "PATCH", f"{cm}/dry-opts", {"json": {}, "headers": MERGE}),
        ("DeleteOptions", "DELETE", f"{cm}/dry-opts", {}),
        ("DeleteOptions", "DELETE", cm, {}),
        (
            "CreateOptions",
            "POST",
            f"/api/v1/namespaces/{NS}/pods/nobody/binding",
            {"json": {"target": {"name": "n"}}},
        ),
    ]
    with writes_nothing(cluster, api):
        for kind, method, path, kwargs in calls:
            r = api.request(method, path, params=params, **kwargs)
            assert r.status_code == 422, (kind, method, r.text)
            body = r.json()
            assert body["reason"] == "Invalid"
            assert body["details"]["kind"] == kind and body["details"]["group"] == "meta.k8s.io"
            assert body["details"]["causes"][0]["field"] == "dryRun"
            assert body["details"]["causes"][0]["reason"] == "FieldValueNotSupported"
            shown = '[]string{"' + value + '"}'
            assert body["message"] == (
                f'{kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: {shown}: '
                'supported values: "All"'
            )
        # The same in a DeleteOptions body.
        r = api.request("DELETE", f"{cm}/dry-opts", json={"dryRun": [value]})
        assert r.status_code == 422 and r.json()["details"]["kind"] == "DeleteOptions"
    assert api.get(f"{cm}/dry-opts").status_code == 200


# -- real clients ----------------------------------------------------------------------------

KUBECTL = shutil.which("kubectl")
APP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: acme-dry, labels: {app: web}}
data: {color: DATA}
"""


def kubectl(
    cluster: Cluster, cache: Path, *args: str, stdin: str | None, codes: tuple[int, ...]
) -> str:
    assert KUBECTL is not None, "kubectl is part of the machine image"
    done = subprocess.run(
        [KUBECTL, "--server", cluster.proxy.url, "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )
    assert done.returncode in codes, f"kubectl {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


@pytest.mark.clients
def test_kubectl_server_dry_run(cluster: Cluster, api: httpx.Client, tmp_path: Path) -> None:
    def kc(*args: str, stdin: str | None = None, codes: tuple[int, ...] = (0,)) -> str:
        return kubectl(cluster, tmp_path / "kube-cache", *args, stdin=stdin, codes=codes)

    cm = f"/api/v1/namespaces/{NS}/configmaps"
    api.post(f"/api/v1/namespaces/{NS}/pods", json=bound_pod("web-1"))
    with writes_nothing(cluster, api):
        out = kc("-n", NS, "create", "cm", "x", "--from-literal=a=b", "--dry-run=server", "-o=json")
        assert json.loads(out)["data"] == {"a": "b"}
        assert "server dry run" in kc("-n", NS, "delete", "pod", "web-1", "--dry-run=server")
        out = kc("apply", "--dry-run=server", "-f", "-", stdin=APP.replace("DATA", "blue"))
        assert "configmap/app created (server dry run)" in out
    assert api.get(f"{cm}/x").status_code == 404
    assert (
        "deletionTimestamp" not in api.get(f"/api/v1/namespaces/{NS}/pods/web-1").json()["metadata"]
    )
    assert api.get(f"{cm}/app").status_code == 404

    kc("apply", "-f", "-", stdin=APP.replace("DATA", "blue"))
    live = api.get(f"{cm}/app").json()
    replaced = json.loads(json.dumps(live))
    replaced["data"] = {"color": "replaced"}
    patches = [
        ("strategic", '{"data":{"color":"s"}}', "s"),
        ("merge", '{"data":{"color":"m"}}', "m"),
        ("json", '[{"op":"replace","path":"/data/color","value":"j"}]', "j"),
    ]
    with writes_nothing(cluster, api):
        out = kc("apply", "--dry-run=server", "-f", "-", stdin=APP.replace("DATA", "green"))
        assert "configmap/app configured (server dry run)" in out
        kc("-n", NS, "label", "cm", "app", "tier=front", "--dry-run=server")
        kc("-n", NS, "annotate", "cm", "app", "note=x", "--dry-run=server")
        kc("-n", NS, "label", "pod", "web-1", "tier=front", "--dry-run=server")
        for patch_type, patch, color in patches:
            out = kc("-n", NS, "patch", "cm", "app", "--type", patch_type, "-p", patch,
                     "--dry-run=server", "-o=json")  # fmt: skip
            assert json.loads(out)["data"]["color"] == color
        out = kc("replace", "--dry-run=server", "-o=json", "-f", "-", stdin=json.dumps(replaced))
        assert json.loads(out)["data"] == {"color": "replaced"}
        # kubectl diff sends dry-run patches (and exits 1: there is a difference).
        out = kc("diff", "-f", "-", stdin=APP.replace("DATA", "red"), codes=(1,))
        assert "-  color: blue" in out and "+  color: red" in out
    got = api.get(f"{cm}/app").json()
    assert got["data"] == {"color": "blue"} and got["metadata"]["labels"] == {"app": "web"}
    assert got["metadata"]["resourceVersion"] == live["metadata"]["resourceVersion"]
