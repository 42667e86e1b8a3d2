"""Real clients, unchanged: the machine's kubectl binary and the official Python client."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch

from tests.integration.conftest import ProxyProcess

pytestmark = [pytest.mark.etcd, pytest.mark.clients]
KUBECTL = shutil.which("kubectl")


def kubectl(
    proxy: ProxyProcess, cache: Path, *args: str, check: bool = True, stdin: str | None = None
) -> str:
    assert KUBECTL is not None, "kubectl is part of the machine image"
    result = subprocess.run(
        [KUBECTL, "--server", proxy.url, "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def json_documents(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    text = text.strip()
    while pos < len(text):
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {name: acme-kubectl}
---
apiVersion: v1
kind: Namespace
metadata: {name: globex-kubectl}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: acme-kubectl, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: web, image: nginx, env: [{name: A, value: "1"}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: globex-kubectl, labels: {app: kubectl-db}}
spec:
  containers: [{name: db, image: postgres}]
"""


def test_kubectl(proxy: ProxyProcess, tmp_path: Path) -> None:
    cache = tmp_path / "kube-cache"
    out = kubectl(proxy, cache, "create", "-f", "-", stdin=MANIFEST)
    assert "pod/web created" in out and "pod/db created" in out
    out = kubectl(proxy, cache, "get", "pods", "-A")
    assert "acme-kubectl" in out and "globex-kubectl" in out
    # Server-side printing: kube's pod columns, not just NAME and AGE.
    header = out.splitlines()[0].split()
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    out = kubectl(proxy, cache, "get", "pods", "-A", "-l", "app=kubectl-db", "-o", "name")
    assert out.split() == ["pod/db"]
    out = kubectl(
        proxy, cache, "get", "pods", "-A", "--field-selector", "spec.nodeName=node-1", "-o", "json"
    )
    assert [i["metadata"]["name"] for i in json.loads(out)["items"]] == ["web"]
    kubectl(
        proxy,
        cache,
        "-n",
        "acme-kubectl",
        "patch",
        "pod",
        "web",
        "-p",
        '{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}',
    )
    # A strategic merge patch merges the container by name: its env stays (a pod's env is
    # immutable, its image is not: ValidatePodUpdate).
    pod = json.loads(kubectl(proxy, cache, "-n", "acme-kubectl", "get", "pod", "web", "-o", "json"))
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert [e["name"] for e in pod["spec"]["containers"][0]["env"]] == ["A"]

    watcher = subprocess.Popen(
        [
            KUBECTL,
            "--server",
            proxy.url,
            "--cache-dir",
            str(cache),
            "-n",
            "acme-kubectl",
            "get",
            "pods",
            "-w",
            "--output-watch-events",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # let kubectl list and start watching
        kubectl(proxy, cache, "-n", "acme-kubectl", "label", "pod", "web", "step=labelled")
        # web is bound to node-1: a graceful delete keeps it (deletionTimestamp) until its
        # kubelet -- here kubectl with grace 0 -- deletes it again.
        kubectl(proxy, cache, "-n", "acme-kubectl", "delete", "pod", "web", "--wait=false")
        kubectl(
            proxy,
            cache,
            "-n",
            "acme-kubectl",
            "delete",
            "pod",
            "web",
            "--grace-period=0",
            "--force",
        )
        time.sleep(1.5)
    finally:
        watcher.terminate()
        output, _ = watcher.communicate(timeout=10)
    events = [
        (e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["labels"].get("step"))
        for e in json_documents(output)
    ]
    assert events == [
        ("ADDED", "web", None),
        ("MODIFIED", "web", "labelled"),
        ("MODIFIED", "web", "labelled"),  # deletionTimestamp set, 30 s grace
        ("MODIFIED", "web", "labelled"),  # grace shortened to 0
        ("DELETED", "web", "labelled"),
    ], output
    graceful = json_documents(output)[2]["object"]["metadata"]
    assert graceful["deletionGracePeriodSeconds"] == 30 and graceful["deletionTimestamp"]
    out = kubectl(proxy, cache, "-n", "acme-kubectl", "get", "pod", "web", check=False)
    assert "NotFound" in out


def test_python_client(proxy: ProxyProcess) -> None:
    config = k8s.Configuration(host=proxy.url)
    with k8s.ApiClient(config) as api_client:
        core = k8s.CoreV1Api(api_client)
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="globex-py")))
        rv = core.list_namespaced_pod("globex-py").metadata.resource_version
        body = k8s.V1Pod(
            metadata=k8s.V1ObjectMeta(name="py", labels={"app": "py"}),
            spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="c", image="busybox")]),
        )
        created = core.create_namespaced_pod("globex-py", body)
        assert created.metadata.uid
        # A plain dict patch is sent as a strategic merge patch.
        patched = core.patch_namespaced_pod("py", "globex-py", {"metadata": {"labels": {"x": "1"}}})
        assert patched.metadata.labels == {"app": "py", "x": "1"}
        core.delete_namespaced_pod("py", "globex-py")
        listed = core.list_namespaced_pod("globex-py", label_selector="app=py")
        assert listed.items == []

        seen: list[tuple[str, str, dict[str, Any]]] = []
        w = k8s_watch.Watch()
        for event in w.stream(
            core.list_namespaced_pod, "globex-py", resource_version=rv, timeout_seconds=10
        ):
            seen.append(
                (
                    event["type"],
                    event["object"].metadata.name,
                    event["object"].metadata.labels or {},
                )
            )
            if len(seen) == 4:
                w.stop()
        # An unscheduled pod is deleted at once, after the update that marks it (as kube's
        # store writes deletionTimestamp with grace 0 before removing the key).
        assert [(t, n) for t, n, _ in seen] == [
            ("ADDED", "py"),
            ("MODIFIED", "py"),
            ("MODIFIED", "py"),
            ("DELETED", "py"),
        ]
        assert seen[1][2] == {"app": "py", "x": "1"}


def test_python_client_watch_live(proxy: ProxyProcess) -> None:
    config = k8s.Configuration(host=proxy.url)
    with k8s.ApiClient(config) as api_client:
        core = k8s.CoreV1Api(api_client)
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="acme-py")))

        def write() -> None:
            time.sleep(1)
            for i in range(5):
                core.create_namespaced_config_map(
                    "acme-py", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=f"cm{i}"))
                )

        writer = threading.Thread(target=write)
        writer.start()
        names = []
        w = k8s_watch.Watch()
        for event in w.stream(
            core.list_config_map_for_all_namespaces, timeout_seconds=20, allow_watch_bookmarks=True
        ):
            if event["type"] == "ADDED" and event["object"].metadata.namespace == "acme-py":
                names.append(event["object"].metadata.name)
            if len(names) == 5:
                w.stop()
        writer.join()
        assert names == [f"cm{i}" for i in range(5)]
