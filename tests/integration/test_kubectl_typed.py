"""kubectl's typed commands against `watchproxy dev`: their protobuf bodies round-trip as JSON.

`kubectl create namespace|configmap|secret|deployment|service` post
`application/vnd.kubernetes.protobuf` bodies (`kubectl run` and `kubectl delete` send JSON); each
object is read back with `kubectl get -o json` and compared with what the same command prints
with `--dry-run=client -o json`, i.e. what it would have sent as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.devserver import Kubectl, dev_server

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-x"
# Set by the server on create, so never in what kubectl sends.
SERVER_METADATA = {"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"}


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("kubectl-typed")) as url:
        yield url


@pytest.fixture(scope="module")
def kubectl(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(dev_url, tmp_path_factory.mktemp("kubectl-cache"))
    k("create", "namespace", NS)
    return k


def assert_round_trip(
    kubectl: Kubectl, create: list[str], get: list[str], *, server_set: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Create, read back, compare with the JSON kubectl would have sent (but `server_set`)."""
    sent = kubectl.json(*create, "--dry-run=client")
    for key in server_set:
        sent.pop(key, None)
    kubectl(*create)
    stored: dict[str, Any] = kubectl.json("get", *get)
    assert stored["metadata"]["creationTimestamp"].startswith("20")
    assert stored["metadata"]["uid"]
    expected_meta = {k: v for k, v in sent.pop("metadata").items() if k not in SERVER_METADATA}
    stored_meta = {k: v for k, v in stored["metadata"].items() if k not in SERVER_METADATA}
    # The proxy may add its own labels (the tenant); everything kubectl sent must be there.
    expected_labels = expected_meta.pop("labels", {})
    assert expected_labels.items() <= stored_meta.pop("labels", {}).items()
    assert stored_meta == expected_meta
    for key, value in sent.items():
        assert stored.get(key) == value, key
    return stored


def test_create_namespace(kubectl: Kubectl) -> None:
    ns = kubectl.json("get", "namespace", NS)
    assert ns["kind"] == "Namespace" and ns["apiVersion"] == "v1"
    assert ns["metadata"]["name"] == NS
    assert ns["metadata"]["creationTimestamp"].startswith("20")


def test_create_configmap(kubectl: Kubectl) -> None:
    cm = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "configmap", "cm1", "--from-literal=a=1", "--from-literal=b=two"],
        ["-n", NS, "configmap", "cm1"],
    )
    assert cm["data"] == {"a": "1", "b": "two"}


def test_create_secret_generic(kubectl: Kubectl) -> None:
    secret = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "secret", "generic", "s1", "--from-literal=password=hunter2"],
        ["-n", NS, "secret", "s1"],
    )
    assert secret["data"] == {"password": "aHVudGVyMg=="}  # base64("hunter2")


def test_run_pod(kubectl: Kubectl) -> None:
    pod = assert_round_trip(
        kubectl,
        ["-n", NS, "run", "p1", "--image=nginx:1.27", "--port=80", "--labels=app=web"],
        ["-n", NS, "pod", "p1"],
        server_set=("status",),  # pods start Pending, as kube-apiserver's pod strategy does
    )
    container = pod["spec"]["containers"][0]
    assert (container["name"], container["image"]) == ("p1", "nginx:1.27")
    assert container["ports"] == [{"containerPort": 80}]
    assert pod["metadata"]["labels"]["app"] == "web"
    assert pod["status"]["phase"] == "Pending"


def test_create_deployment(kubectl: Kubectl) -> None:
    deploy = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "deployment", "d1", "--image=nginx", "--replicas=2", "--port=8080"],
        ["-n", NS, "deployment", "d1"],
    )
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["selector"] == {"matchLabels": {"app": "d1"}}
    template = deploy["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "d1"}
    assert template["spec"]["containers"] == [
        {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 8080}], "resources": {}}
    ]


def test_create_service(kubectl: Kubectl) -> None:
    svc = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "service", "clusterip", "svc1", "--tcp=80:8080"],
        ["-n", NS, "service", "svc1"],
    )
    assert svc["spec"]["ports"] == [
        {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}
    ]
    assert svc["spec"]["type"] == "ClusterIP"


def test_delete_after_protobuf_create(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "configmap", "gone", "--from-literal=x=y")
    kubectl("-n", NS, "delete", "configmap", "gone")
    listed = kubectl.json("-n", NS, "get", "configmaps")
    assert "gone" not in {item["metadata"]["name"] for item in listed["items"]}


def test_garbage_protobuf_is_a_bad_request(dev_url: str, kubectl: Kubectl) -> None:
    r = httpx.post(
        f"{dev_url}/api/v1/namespaces/{NS}/configmaps",
        content=b"k8s\x00\xff\xff",
        headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        timeout=30,
    )
    assert r.status_code == 400, r.text
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == "BadRequest"
    assert "protobuf" in status["message"]
