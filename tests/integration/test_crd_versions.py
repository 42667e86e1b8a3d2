"""Every served version of a CustomResourceDefinition, conversion `None`, end to end with real
kubectl, the official Python client, two `watchproxy serve` replicas and two etcd shards
(docs/decisions/0015-custom-resources.md; kube: apiextensions-apiserver nop_converter.go).

Objects are stored once at the storage version (etcd holds its apiVersion); each served version
reads them with its own apiVersion; a write through a version is checked against that
version's schema; discovery prefers the highest version by kube's order; deprecated versions
answer kube's `Warning`; a CRD update that adds a version, moves storage or stops serving a
version changes what is served without losing or repeating a watch event.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.integration.conftest import ProxyProcess
from tests.integration.devserver import Kubectl
from tests.integration.etcd_state import etcd_state
from tests.integration.test_crd import cluster, wait_for  # noqa: F401  (this module's own)
from watchproxy.etcd.server import EtcdServer

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {"color": {"type": "string"}, "size": {"type": "integer"}},
        }
    },
}


def version(name: str, *, storage: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "served": True,
        "storage": storage,
        "schema": {"openAPIV3Schema": json.loads(json.dumps(SCHEMA))},
        **extra,
    }


def crd(*versions: dict[str, Any]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "sprockets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {
                    "plural": "sprockets",
                    "singular": "sprocket",
                    "kind": "Sprocket",
                    "listKind": "SprocketList",
                },
                "versions": list(versions),
            },
        }
    )


# v1beta1 is deprecated and caps `size` at 10; v1 (the storage version) does not.
V1BETA1 = version("v1beta1", deprecated=True)
V1BETA1["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"]["maximum"] = 10
V1 = version("v1", storage=True)
KEY = b"/registry/example.com/sprockets/acme-parts/s1"
NS = "acme-parts"


def path(v: str, name: str = "") -> str:
    return f"/apis/example.com/{v}/namespaces/{NS}/sprockets" + (f"/{name}" if name else "")


def stored(servers: list[EtcdServer]) -> dict[str, Any]:
    """The sprocket as etcd holds it (acme is on shard-a)."""
    value: bytes = etcd_state(servers)[0][1][KEY][1]
    out: dict[str, Any] = json.loads(value)
    return out


def test_every_served_version(
    cluster: tuple[list[EtcdServer], list[ProxyProcess]],  # noqa: F811
    tmp_path: Path,
) -> None:
    servers, (a, b) = cluster
    kubectl_a = Kubectl(a.url, tmp_path / "cache-a")
    kubectl_a("create", "namespace", NS)
    kubectl_a("apply", "-f", "-", stdin=crd(V1BETA1, V1))
    kubectl_a("wait", "--for", "condition=established", "crd/sprockets.example.com")
    api_a = httpx.Client(base_url=a.url, timeout=10)
    api_b = httpx.Client(base_url=b.url, timeout=10)
    for api in (api_a, api_b):
        wait_for(lambda api=api: api.get(path("v1beta1")).status_code == 200, "v1beta1")
        wait_for(lambda api=api: api.get(path("v1")).status_code == 200, "v1")
    group = api_b.get("/apis/example.com").json()
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"

    # Created through v1beta1 (kubectl warns: deprecated); stored at v1.
    s1 = {"apiVersion": "example.com/v1beta1", "kind": "Sprocket", "metadata": {"name": "s1"}}
    s1["spec"] = {"color": "red", "size": 3}
    done = kubectl_a.run("-n", NS, "apply", "-f", "-", stdin=json.dumps(s1))
    assert done.returncode == 0, done.stderr
    deprecated = "example.com/v1beta1 Sprocket is deprecated; use example.com/v1 Sprocket"
    assert f"Warning: {deprecated}" in done.stderr
    assert stored(servers)["apiVersion"] == "example.com/v1"

    # Each version reads it with its own apiVersion, through either replica.
    kubectl_b = Kubectl(b.url, tmp_path / "cache-b")
    for v in ("v1beta1", "v1"):
        got = kubectl_b.json("-n", NS, "get", f"sprockets.{v}.example.com", "s1")
        assert (got["apiVersion"], got["spec"]) == (f"example.com/{v}", {"color": "red", "size": 3})
    # Plain `kubectl get` uses the preferred version.
    done = kubectl_b.run("-n", NS, "get", "sprockets", "-o", "json", "-v=6")
    assert done.returncode == 0, done.stderr
    assert [i["apiVersion"] for i in json.loads(done.stdout)["items"]] == ["example.com/v1"]
    assert f"/apis/example.com/v1/namespaces/{NS}/sprockets" in done.stderr
    assert "deprecated" not in done.stderr
    r = api_b.get(path("v1beta1", "s1"))
    assert r.headers.get_list("warning") == [f'299 - "{deprecated}"']
    assert "warning" not in api_b.get(path("v1", "s1")).headers

    # Server-side apply through v1beta1 records that version in managedFields (as kube).
    applied = {**s1, "spec": {"color": "red", "size": 3}}
    kubectl_a("-n", NS, "apply", "--server-side", "-f", "-", stdin=json.dumps(applied))
    managed = api_a.get(path("v1beta1", "s1")).json()["metadata"]["managedFields"]
    assert {(m["manager"], m["apiVersion"]) for m in managed} >= {
        ("kubectl", "example.com/v1beta1")
    }
    assert stored(servers)["apiVersion"] == "example.com/v1"

    # Each version's schema checks writes through it.
    big = {**s1, "metadata": {"name": "big"}, "spec": {"size": 20}}
    r = api_a.post(path("v1beta1"), json=big)
    assert r.status_code == 422, r.text
    assert r.json()["details"]["causes"][0]["field"] == "spec.size"
    r = api_a.post(path("v1"), json={**big, "apiVersion": "example.com/v1"})
    assert r.status_code == 201, r.text
    r = api_a.post(path("v1"), json=s1)  # the body's apiVersion must be the URL's
    assert r.status_code == 400, r.text

    # A watch through B on v1beta1 (the Python client) sees a change made through A on v1.
    with k8s.ApiClient(k8s.Configuration(host=b.url)) as api_client:
        objects = k8s.CustomObjectsApi(api_client)
        listed = objects.list_namespaced_custom_object("example.com", "v1beta1", NS, "sprockets")
        events: list[tuple[str, str, Any]] = []
        watch = k8s_watch.Watch()

        def follow() -> None:
            for event in watch.stream(
                objects.list_namespaced_custom_object,
                "example.com",
                "v1beta1",
                NS,
                "sprockets",
                resource_version=listed["metadata"]["resourceVersion"],
                timeout_seconds=20,
            ):
                obj = event["object"]
                events.append((event["type"], obj["apiVersion"], obj["spec"].get("color")))
                if event["type"] == "MODIFIED":
                    watch.stop()

        thread = threading.Thread(target=follow)
        thread.start()
        patch = '{"spec":{"color":"green"}}'
        kubectl_a("-n", NS, "patch", "sprockets.v1.example.com", "s1", "--type=merge", "-p", patch)
        thread.join(30)
        assert events == [("MODIFIED", "example.com/v1beta1", "green")]
    assert stored(servers)["apiVersion"] == "example.com/v1"

    # A CRD update adds v2 and moves storage there: every replica serves v2 with the objects
    # already stored; a write through v1 is now stored at v2; storedVersions records both.
    kubectl_a("apply", "-f", "-", stdin=crd(V1BETA1, version("v1"), version("v2", storage=True)))
    for api in (api_a, api_b):  # each replica follows the CRD from its own cache
        wait_for(lambda api=api: api.get(path("v2", "s1")).status_code == 200, "v2")
    assert api_b.get(path("v2", "s1")).json()["apiVersion"] == "example.com/v2"
    r = api_a.patch(
        path("v1", "s1"),
        content='{"spec":{"size":4}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["apiVersion"] == "example.com/v1", r.text
    assert stored(servers)["apiVersion"] == "example.com/v2"
    got = kubectl_a.json("get", "crd", "sprockets.example.com")
    assert got["status"]["storedVersions"] == ["v1", "v2"]
    wait_for(lambda: api_b.get(path("v1beta1", "s1")).json()["spec"]["size"] == 4, "size 4")
    r = api_b.get(path("v1beta1", "s1"))  # the default warning now names the newest version
    assert r.headers["warning"] == (
        '299 - "example.com/v1beta1 Sprocket is deprecated; use example.com/v2 Sprocket"'
    )
    group = api_b.get("/apis/example.com").json()
    assert group["preferredVersion"]["version"] == "v2"

    # v1beta1 is no longer served: gone on every replica, its watches end, the other versions
    # unchanged.
    ended = threading.Event()

    def watch_v1beta1() -> None:
        with httpx.Client(base_url=b.url, timeout=30) as client:
            url = path("v1beta1") + "?watch=1&timeoutSeconds=60"
            with client.stream("GET", url) as stream:
                assert stream.status_code == 200
                for _ in stream.iter_bytes():
                    pass
        ended.set()

    watcher = threading.Thread(target=watch_v1beta1)
    watcher.start()

    def watching() -> bool:
        stats = api_b.get("/debug/stats").json()["resources"]
        return bool(stats["sprockets.v1beta1.example.com"]["watchers"])

    wait_for(watching, "the v1beta1 watch through B")
    unserved = {**V1BETA1, "served": False}
    kubectl_a("apply", "-f", "-", stdin=crd(unserved, version("v1"), version("v2", storage=True)))
    watcher.join(30)
    assert ended.is_set()
    for api in (api_a, api_b):
        wait_for(lambda api=api: api.get(path("v1beta1")).status_code == 404, "v1beta1 gone")
        assert api.get(path("v1", "s1")).json()["spec"] == {"color": "green", "size": 4}
    kubectl_a("delete", "crd", "sprockets.example.com", "--timeout=30s")
    assert KEY not in etcd_state(servers)[0][1]
    api_a.close()
    api_b.close()
