"""Real controllers and clients, unchanged, against `watchproxy dev`.

What issue 9 asks a controller author to be able to do: kubectl apply of a multi-document file
twice (the second run changes nothing), `kubectl scale`, `get all`, `explain`, `rollout
history`; a kopf operator with a CRD, a status subresource and a finalizer; the
@kubernetes/client-node informer and the Python client's dynamic client on a custom resource.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic

from tests.integration.devserver import Kubectl, dev_server, write_kubeconfig

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-ctl"
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
CLIENT_NODE = ROOT / ".venv" / "node" / "node_modules" / "@kubernetes" / "client-node"

WIDGETS_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "listKind": "WidgetList",
            "shortNames": ["wg"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A Widget of the tests.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {
                                        "type": "integer",
                                        "minimum": 0,
                                        "description": "How big the widget is.",
                                    },
                                    "colour": {"type": "string", "default": "blue"},
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}

# One of each kind issue 9 names; applied twice with `kubectl apply -f`.
MULTI_DOC = f"""
apiVersion: v1
kind: ServiceAccount
metadata: {{name: builder, namespace: {NS}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {NS}}}
spec:
  serviceName: db
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: "postgres:16"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {NS}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers: [{{name: agent, image: "busybox:1.36"}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly, namespace: {NS}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{{name: job, image: "busybox:1.36"}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-all, namespace: {NS}}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {NS}}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: reader, namespace: {NS}}}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reader, namespace: {NS}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects:
- {{kind: ServiceAccount, name: builder, namespace: {NS}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: db, namespace: {NS}}}
spec:
  minAvailable: 1
  selector: {{matchLabels: {{app: db}}}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: acme-ctl-high}}
value: 100000
description: tests
"""


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("real-controllers")) as url:
        yield url


@pytest.fixture(scope="module")
def kubeconfig(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_kubeconfig(tmp_path_factory.mktemp("kubeconfig") / "config", dev_url, NS)


@pytest.fixture(scope="module")
def kubectl(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(dev_url, tmp_path_factory.mktemp("kubectl-cache"))
    k("create", "namespace", NS)
    k("apply", "-f", "-", stdin=json.dumps(WIDGETS_CRD))
    k("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    return k


def eventually(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    """Poll `check` until it returns something truthy (bounded: a hang fails, not waits)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.2)


def test_multi_document_apply_twice(kubectl: Kubectl) -> None:
    first = kubectl("apply", "-f", "-", stdin=MULTI_DOC).splitlines()
    assert len(first) == 10, first
    assert all(line.endswith(" created") for line in first), first
    before = {
        line.split()[0]: kubectl.json("get", line.split()[0], "-n", NS)["metadata"]
        for line in first
    }
    second = kubectl("apply", "-f", "-", stdin=MULTI_DOC).splitlines()
    assert len(second) == 10, second
    # kubectl always sends a field whose patch strategy is "replace" (the PDB's selector:
    # strategicpatch handleMapDiff), so it says "configured" for a PDB against kube-apiserver
    # too; the server finds nothing changed and keeps the resourceVersion.
    pdb = "poddisruptionbudget.policy/db configured"
    assert [line for line in second if not line.endswith(" unchanged")] == [pdb], second
    for name, meta in before.items():
        after = kubectl.json("get", name, "-n", NS)["metadata"]
        assert after["resourceVersion"] == meta["resourceVersion"], name
    sts = kubectl.json("get", "statefulset", "db", "-n", NS)
    # kube's defaults were applied on create (pkg/apis/apps/v1/defaults.go).
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_scale_get_all_rollout_history(kubectl: Kubectl) -> None:
    kubectl("create", "deployment", "web", "--image=nginx:1.27", "-n", NS)
    kubectl("expose", "deployment", "web", "--port=80", "-n", NS)
    kubectl("scale", "deployment/web", "--replicas=3", "-n", NS)
    assert kubectl.json("get", "deployment", "web", "-n", NS)["spec"]["replicas"] == 3
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale"
    scale = json.loads(kubectl("get", "--raw", path))
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    listed = kubectl("get", "all", "-n", NS, "-o", "name").split()
    assert "deployment.apps/web" in listed and "service/web" in listed, listed
    history = kubectl("rollout", "history", "deployment/web", "-n", NS)
    assert "deployment.apps/web" in history, history
    svc = kubectl.json("get", "service", "web", "-n", NS)
    assert svc["spec"]["clusterIP"].startswith("10."), svc["spec"]


def test_explain_built_in_and_custom(kubectl: Kubectl) -> None:
    pod = kubectl("explain", "pod.spec.containers")
    assert "imagePullPolicy" in pod and "FIELDS:" in pod, pod
    widget = kubectl("explain", "widgets.spec")
    assert "size" in widget and "How big the widget is." in widget, widget


def test_custom_resource_with_kubectl(kubectl: Kubectl) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "k1", "namespace": NS},
        "spec": {"size": 2},
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(widget))
    stored = kubectl.json("get", "wg", "k1", "-n", NS)
    assert stored["spec"] == {"size": 2, "colour": "blue"}  # defaulted from the schema
    table = kubectl("get", "widgets", "-n", NS)
    # The CRD's columns exactly: kube adds AGE only to a version with none
    # (serveDefaultColumnsIfEmpty).
    assert table.split("\n")[0].split() == ["NAME", "SIZE", "PHASE"], table
    bad = dict(widget, metadata={"name": "k2", "namespace": NS}, spec={"size": -1})
    refused = kubectl.run("apply", "-f", "-", stdin=json.dumps(bad))
    assert refused.returncode != 0 and "spec.size" in refused.stderr, refused.stderr
    # No strategic merge patch for custom resources (customresource_handler.go): 415.
    smp = kubectl.run("patch", "widget", "k1", "-n", NS, "-p", '{"spec":{"size":3}}')
    # kubectl words the 415 itself (IsUnsupportedMediaType), as against kube-apiserver.
    assert "is not supported by example.com/v1, Kind=Widget" in smp.stderr, smp.stderr
    kubectl("patch", "widget", "k1", "-n", NS, "--type=merge", "-p", '{"spec":{"size":3}}')
    kubectl("delete", "widget", "k1", "-n", NS)


@pytest.mark.parametrize("scope", ["namespaced", "cluster-wide"])
def test_kopf_operator(kubectl: Kubectl, kubeconfig: Path, tmp_path: Path, scope: str) -> None:
    """kopf's own protocol: finalizer, status through the subresource, JSON patches that
    `test` /metadata/resourceVersion with the value its watch gave. Cluster-wide its watch spans
    both shards (composite resourceVersion tokens, docs/resource-versions.md)."""
    log_path = tmp_path / "kopf.log"
    where = ["--namespace", NS] if scope == "namespaced" else ["--all-namespaces"]
    name = f"kopf-{scope}"
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    with log_path.open("wb") as log:
        operator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kopf",
                "run",
                "--standalone",
                *where,
                str(CLIENTS / "kopf_operator.py"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        widget = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"size": 3},
        }
        kubectl("apply", "-f", "-", stdin=json.dumps(widget))

        def status() -> dict[str, Any]:
            return dict(kubectl.json("get", "widget", name, "-n", NS).get("status") or {})

        done = eventually(lambda: status().get("phase") == "Ready" and status(), "status written")
        assert done["size"] == 3, log_path.read_text()[-3000:]
        obj = kubectl.json("get", "widget", name, "-n", NS)
        assert "kopf.zalando.org/KopfFinalizerMarker" in obj["metadata"]["finalizers"]
        kubectl("patch", "widget", name, "-n", NS, "--type=merge", "-p", '{"spec":{"size":5}}')
        eventually(lambda: status().get("size") == 5, "resize handled")
        kubectl("delete", "widget", name, "-n", NS, "--timeout=30s")
        gone = kubectl.run("get", "widget", name, "-n", NS)
        assert gone.returncode != 0 and "NotFound" in gone.stderr, gone.stderr
        assert operator.poll() is None, log_path.read_text()[-3000:]
    finally:
        operator.send_signal(signal.SIGINT)
        try:
            operator.wait(20)
        except subprocess.TimeoutExpired:
            operator.kill()
            operator.wait(10)
    text = log_path.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert f"widget {name} deleted" in text, text[-3000:]


def test_client_node_informer(kubectl: Kubectl, kubeconfig: Path) -> None:
    assert (CLIENT_NODE / "package.json").exists(), "run `make node-clients` (or make test)"
    env = dict(os.environ, CLIENT_NODE=str(CLIENT_NODE / "dist" / "index.js"))
    informer = subprocess.Popen(
        [
            "node",
            str(CLIENTS / "informer.mjs"),
            str(kubeconfig),
            "example.com",
            "v1",
            NS,
            "widgets",
            "12",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert informer.stdout is not None
        first = json.loads(informer.stdout.readline())
        assert first["event"] == "started", first
        for name in ("n1", "n2"):
            kubectl(
                "apply",
                "-f",
                "-",
                stdin=json.dumps(
                    {
                        "apiVersion": "example.com/v1",
                        "kind": "Widget",
                        "metadata": {"name": name, "namespace": NS},
                        "spec": {"size": 1},
                    }
                ),
            )
        kubectl("patch", "widget", "n1", "-n", NS, "--type=merge", "-p", '{"spec":{"size":7}}')
        kubectl("delete", "widget", "n2", "-n", NS)
        out, err = informer.communicate(timeout=30)
    finally:
        if informer.poll() is None:
            informer.kill()
            informer.wait(10)
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert informer.returncode == 0, err
    seen = [(e["event"], e["name"]) for e in events if e.get("name") in ("n1", "n2")]
    assert seen == [("add", "n1"), ("add", "n2"), ("update", "n1"), ("delete", "n2")], events
    updated = next(e for e in events if e["event"] == "update")
    assert updated["spec"]["size"] == 7
    assert not [e for e in events if e["event"] == "error"], events


def test_python_dynamic_client(kubectl: Kubectl, kubeconfig: Path) -> None:
    api_client = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    dyn = dynamic.DynamicClient(api_client)  # type: ignore[no-untyped-call]
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced and widgets.name == "widgets"
    created = widgets.create(
        body={
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "dyn-1"},
            "spec": {"size": 4},
        },
        namespace=NS,
    )
    rv = created.metadata.resourceVersion
    listed = widgets.get(namespace=NS)
    assert "dyn-1" in [item.metadata.name for item in listed.items]
    widgets.patch(
        name="dyn-1",
        namespace=NS,
        body={"spec": {"size": 9}},
        content_type="application/merge-patch+json",
    )
    seen = []
    for event in widgets.watch(namespace=NS, resource_version=rv, timeout=5):
        seen.append((event["type"], event["object"].metadata.name, event["object"].spec.size))
        if event["type"] == "MODIFIED":
            break
    assert seen[-1] == ("MODIFIED", "dyn-1", 9), seen
    widgets.delete(name="dyn-1", namespace=NS)
    core = client.CoreV1Api(api_client)
    assert core.read_namespace(NS).metadata.name == NS  # type: ignore[union-attr]
