"""CustomResourceDefinitions end to end with real kubectl, the official Python client, two
`watchproxy serve` replicas and two etcd shards (docs/decisions/0015-custom-resources.md).

A CRD applied through replica A is Established by the CRD controller, served by A and B from
their own CRD caches, its instances follow their namespace's tenant to its shard, `kubectl get`
prints the printer columns (by plural, short name and category), a watch through B sees a
change made through A, `/status` changes only status, and `kubectl delete crd` deletes every
instance on every shard before the CRD goes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.integration.conftest import ProxyProcess, quiet_config, running_etcd_pair
from tests.integration.devserver import Kubectl
from tests.integration.etcd_state import etcd_state
from watchproxy.etcd.server import EtcdServer

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    listKind: WidgetList
    shortNames: [wd]
    categories: [toys]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.size, statusReplicasPath: .status.count}
    additionalPrinterColumns:
    - {name: Color, type: string, jsonPath: .spec.color}
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              color: {type: string}
              size: {type: integer}
          status:
            type: object
            properties:
              phase: {type: string}
              count: {type: integer}
"""

GADGETS = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g1
  labels: {watchproxy.io/tenant: globex}
"""

CRS = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: red-one, namespace: acme-toys}
spec: {color: red, size: 3}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: blue-one, namespace: globex-toys}
spec: {color: blue, size: 5}
"""

WIDGETS = "/apis/example.com/v1/namespaces/{ns}/widgets"


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[list[EtcdServer], list[ProxyProcess]]]:
    root = tmp_path_factory.mktemp("crd")
    with running_etcd_pair(root) as servers:
        config = quiet_config([s.endpoint for s in servers])
        replicas = [ProxyProcess(config, root, name=f"replica-{i}") for i in "ab"]
        try:
            for replica in replicas:
                replica.start()
            yield servers, replicas
        finally:
            for replica in replicas:
                replica.stop()


def wait_for(check: Any, what: str, timeout: float = 20.0) -> Any:
    """Poll `check()` until it returns something truthy (the deadline only bounds a failure)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def widget_keys(servers: list[EtcdServer]) -> list[list[bytes]]:
    """Each shard's widget keys."""
    return [
        sorted(k for k in kvs if k.startswith(b"/registry/example.com/widgets/"))
        for _, kvs in etcd_state(servers)
    ]


def test_crd_lifecycle(
    cluster: tuple[list[EtcdServer], list[ProxyProcess]], tmp_path: Path
) -> None:
    servers, (a, b) = cluster
    kubectl_a = Kubectl(a.url, tmp_path / "cache-a")
    kubectl_b = Kubectl(b.url, tmp_path / "cache-b")
    kubectl_a("create", "namespace", "acme-toys")
    kubectl_a("create", "namespace", "globex-toys")

    kubectl_a("apply", "-f", "-", stdin=CRD)
    kubectl_a("wait", "--for", "condition=established", "crd/widgets.example.com", "--timeout=20s")
    established = time.monotonic()
    crd = kubectl_a.json("get", "crd", "widgets.example.com")
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {
        "NamesAccepted": "True",
        "Established": "True",
    }
    assert crd["status"]["acceptedNames"]["shortNames"] == ["wd"]
    assert crd["status"]["storedVersions"] == ["v1"]
    # Stored once, on the default shard (shard-a).
    crd_keys = [
        [k for k in kvs if k.startswith(b"/registry/apiextensions.k8s.io/")]
        for _, kvs in etcd_state(servers)
    ]
    assert crd_keys == [
        [b"/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com"],
        [],
    ]

    # Replica B serves it from its own CRD cache.
    with httpx.Client(base_url=b.url, timeout=10) as api_b:
        wait_for(lambda: api_b.get(WIDGETS.format(ns="acme-toys")).status_code == 200, "B")
        print(f"replica B served widgets {time.monotonic() - established:.3f} s after Established")

    kubectl_b("apply", "-f", "-", stdin=CRS)
    # Instances follow their namespace's tenant: acme on shard-a, globex on shard-b.
    assert widget_keys(servers) == [
        [b"/registry/example.com/widgets/acme-toys/red-one"],
        [b"/registry/example.com/widgets/globex-toys/blue-one"],
    ]
    table = kubectl_a("get", "widgets", "-A")
    lines = [line.split() for line in table.splitlines()]
    assert lines[0] == ["NAMESPACE", "NAME", "COLOR", "SIZE", "AGE"]
    assert [line[:4] for line in lines[1:]] == [
        ["acme-toys", "red-one", "red", "3"],
        ["globex-toys", "blue-one", "blue", "5"],
    ]
    assert (
        kubectl_b("get", "wd", "-n", "globex-toys", "-o", "name") == "widget.example.com/blue-one\n"
    )
    assert "red-one" in kubectl_b("get", "toys", "-A", "-o", "name")

    # A watch through B (the official Python client) sees a change made through A.
    configuration = k8s.Configuration(host=b.url)
    with k8s.ApiClient(configuration) as api_client:
        objects = k8s.CustomObjectsApi(api_client)
        listed = objects.list_namespaced_custom_object("example.com", "v1", "acme-toys", "widgets")
        events: list[tuple[str, Any]] = []
        watch = k8s_watch.Watch()

        def follow() -> None:
            for event in watch.stream(
                objects.list_namespaced_custom_object,
                "example.com",
                "v1",
                "acme-toys",
                "widgets",
                resource_version=listed["metadata"]["resourceVersion"],
                timeout_seconds=20,
            ):
                events.append((event["type"], event["object"]))
                if event["type"] == "MODIFIED":
                    watch.stop()

        thread = threading.Thread(target=follow)
        thread.start()
        kubectl_a(
            "-n",
            "acme-toys",
            "patch",
            "widget",
            "red-one",
            "--type=merge",
            "-p",
            '{"spec":{"color":"green"}}',
        )
        thread.join(30)
        assert [(t, o["spec"]["color"]) for t, o in events] == [("MODIFIED", "green")]

    # The status subresource: /status changes only status, the main resource ignores status.
    with httpx.Client(base_url=a.url, timeout=10) as api_a:
        path = WIDGETS.format(ns="acme-toys") + "/red-one"
        r = api_a.patch(
            path + "/status",
            content=json.dumps({"spec": {"color": "pink"}, "status": {"phase": "Ready"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == {"phase": "Ready"} and r.json()["spec"]["color"] == "green"
        generation = r.json()["metadata"]["generation"]
        r = api_a.patch(
            path,
            content=json.dumps({"spec": {"size": 4}, "status": {"phase": "Lost"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == {"phase": "Ready"} and r.json()["spec"]["size"] == 4
        assert r.json()["metadata"]["generation"] == generation + 1

    # The scale subresource from the CRD's paths (kubectl scale).
    kubectl_b("-n", "acme-toys", "scale", "widget", "red-one", "--replicas=7")
    assert kubectl_a.json("-n", "acme-toys", "get", "widget", "red-one")["spec"]["size"] == 7

    # The schema: unknown fields pruned, wrong types refused with kube's causes.
    with httpx.Client(base_url=a.url, timeout=10) as api_a:
        body = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "odd"},
            "spec": {"color": "red", "extra": 1},
        }
        r = api_a.post(WIDGETS.format(ns="acme-toys"), json=body)
        assert r.status_code == 201, r.text
        assert r.json()["spec"] == {"color": "red"}
        body["metadata"] = {"name": "bad"}
        body["spec"] = {"size": "big"}
        r = api_a.post(WIDGETS.format(ns="acme-toys"), json=body)
        assert r.status_code == 422, r.text
        # The schema's cause, then the scale subresource's (kube words both).
        assert [(c["field"], c["message"]) for c in r.json()["details"]["causes"]] == [
            (
                "spec.size",
                'Invalid value: "string": spec.size in body must be of type integer: "string"',
            ),
            (
                ".spec.size",
                "Invalid value: 0: .spec.size accessor error: big is of the type string, "
                "expected int64",
            ),
        ]

    # Deleting the CRD deletes every instance on every shard, then the CRD itself; a watch of
    # the resource ends, as kube ends them when it drops a CRD's storage.
    ended = threading.Event()

    def watch_until_end() -> None:
        with httpx.Client(base_url=b.url, timeout=30) as api_b:
            url = WIDGETS.format(ns="globex-toys") + "?watch=1&timeoutSeconds=60"
            with api_b.stream("GET", url) as stream:
                assert stream.status_code == 200
                for _ in stream.iter_bytes():
                    pass
        ended.set()

    watcher = threading.Thread(target=watch_until_end)
    watcher.start()

    def watching() -> bool:
        stats = httpx.get(b.url + "/debug/stats", timeout=10).json()
        return bool(stats["resources"]["widgets.v1.example.com"]["watchers"])

    wait_for(watching, "the watch through B")
    kubectl_b("delete", "crd", "widgets.example.com", "--timeout=30s")
    watcher.join(30)
    assert ended.is_set()
    assert widget_keys(servers) == [[], []]
    assert kubectl_a.run("get", "crd", "widgets.example.com").returncode != 0
    with httpx.Client(base_url=b.url, timeout=10) as api_b:
        wait_for(lambda: api_b.get(WIDGETS.format(ns="acme-toys")).status_code == 404, "gone")


def test_cluster_scoped_instances_follow_their_tenant_label(
    cluster: tuple[list[EtcdServer], list[ProxyProcess]], tmp_path: Path
) -> None:
    servers, (a, b) = cluster
    kubectl_a = Kubectl(a.url, tmp_path / "cache-a")
    crd, gadget = GADGETS.split("---")
    kubectl_a("apply", "-f", "-", stdin=crd)
    kubectl_a("wait", "--for", "condition=established", "crd/gadgets.example.com", "--timeout=20s")
    with httpx.Client(base_url=b.url, timeout=10) as api_b:
        wait_for(lambda: api_b.get("/apis/example.com/v1/gadgets").status_code == 200, "B")
    Kubectl(b.url, tmp_path / "cache-b")("apply", "-f", "-", stdin=gadget)
    keys = [
        sorted(k for k in kvs if k.startswith(b"/registry/example.com/gadgets/"))
        for _, kvs in etcd_state(servers)
    ]
    assert keys == [[], [b"/registry/example.com/gadgets/g1"]]  # globex's shard
    assert kubectl_a("get", "gadgets", "-o", "name") == "gadget.example.com/g1\n"
    kubectl_a("delete", "crd", "gadgets.example.com", "--timeout=30s")
