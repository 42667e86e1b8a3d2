"""autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers from one storage (decision 0018).

Real kubectl 1.32 against `watchproxy dev --insecure`: `kubectl autoscale` posts an
autoscaling/v1 HPA; `kubectl get hpa` reads v2 (the preferred version),
`horizontalpodautoscalers.v1.autoscaling` reads v1 converted from the stored v2; the Python
client's AutoscalingV1Api watches through v1 while a change is made through v2; a server-side
apply through v1; `kubectl delete hpa`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config, watch

from tests.integration.devserver import Kubectl, dev_server, write_kubeconfig

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-hpa"
# kubectl expands the short name `hpa` to the preferred version whatever version follows it
# (`hpa.v1.autoscaling` GETs autoscaling/v2, against kube-apiserver too): the plural keeps it.
V1 = "horizontalpodautoscalers.v1.autoscaling"


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("hpa-versions")) as url:
        yield url


@pytest.fixture(scope="module")
def kubectl(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(dev_url, tmp_path_factory.mktemp("kubectl-cache"))
    k("create", "namespace", NS)
    k("-n", NS, "create", "deployment", "d", "--image=nginx")
    return k


def test_discovery_lists_v2_preferred_and_v1(dev_url: str) -> None:
    group = httpx.get(dev_url + "/apis/autoscaling").json()
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]
    assert group["preferredVersion"]["version"] == "v2"
    v1 = httpx.get(dev_url + "/apis/autoscaling/v1").json()
    assert "horizontalpodautoscalers" in [r["name"] for r in v1["resources"]]
    openapi = httpx.get(dev_url + "/openapi/v3/apis/autoscaling/v1")
    assert openapi.status_code == 200
    assert (
        "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"
        in openapi.json()["components"]["schemas"]
    )


def test_autoscale_then_read_both_versions(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "autoscale", "deployment", "d", "--min=1", "--max=3", "--cpu-percent=50")
    v2 = kubectl.json("-n", NS, "get", "hpa", "d")
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50},
            },
        }
    ]
    assert v2["spec"]["maxReplicas"] == 3 and v2["spec"]["minReplicas"] == 1
    v1 = kubectl.json("-n", NS, "get", V1, "d", "--show-managed-fields")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert "metrics" not in v1["spec"]
    assert v1["metadata"]["uid"] == v2["metadata"]["uid"]
    # managedFields keep the version kubectl wrote through.
    versions = {e["manager"]: e["apiVersion"] for e in v1["metadata"]["managedFields"]}
    assert versions["kubectl-autoscale"] == "autoscaling/v1"
    entry = next(e for e in v1["metadata"]["managedFields"] if e["manager"] == "kubectl-autoscale")
    assert "f:targetCPUUtilizationPercentage" in entry["fieldsV1"]["f:spec"]
    assert "f:metrics" not in entry["fieldsV1"]["f:spec"]  # v1's fields, not v2's


def test_v1_watch_sees_a_v2_change(kubectl: Kubectl, dev_url: str, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", dev_url, NS)
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    v1 = client.AutoscalingV1Api(api)
    current = v1.read_namespaced_horizontal_pod_autoscaler("d", NS)
    assert current.spec.target_cpu_utilization_percentage == 50
    assert current.metadata is not None
    patch = {
        "spec": {
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                },
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "qps"},
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    },
                },
            ],
        }
    }
    kubectl("-n", NS, "patch", "hpa.v2.autoscaling", "d", "--type=merge", "-p", json.dumps(patch))
    seen = []
    for event in watch.Watch().stream(  # type: ignore[no-untyped-call]
        v1.list_namespaced_horizontal_pod_autoscaler,
        NS,
        resource_version=current.metadata.resource_version,
        timeout_seconds=10,
    ):
        obj = event["object"]
        seen.append(
            (event["type"], obj.spec.max_replicas, obj.spec.target_cpu_utilization_percentage)
        )
        if event["type"] == "MODIFIED":
            annotations = obj.metadata.annotations or {}
            others = json.loads(annotations["autoscaling.alpha.kubernetes.io/metrics"])
            assert others == [
                {"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}}
            ]
            break
    assert seen == [("MODIFIED", 5, 70)]


def test_v1_read_modify_write_keeps_the_v2_only_metrics(
    kubectl: Kubectl, dev_url: str, tmp_path: Path
) -> None:
    """A v1 client (kubectl edit, a v1-era controller) replaces the object it read: the Pods
    metric, which v1 carries only in its annotation, survives (conversion.go's round trip)."""
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", dev_url, NS)
    api = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    v1 = client.AutoscalingV1Api(api)
    current = v1.read_namespaced_horizontal_pod_autoscaler("d", NS)
    current.spec.max_replicas = 7
    current.spec.target_cpu_utilization_percentage = 75
    replaced = v1.replace_namespaced_horizontal_pod_autoscaler("d", NS, current)
    assert replaced.api_version == "autoscaling/v1" and replaced.spec.max_replicas == 7
    stored = kubectl.json("-n", NS, "get", "hpa", "d", "--show-managed-fields")
    assert stored["spec"]["maxReplicas"] == 7
    assert stored["spec"]["metrics"][1]["resource"]["target"]["averageUtilization"] == 75
    # The v1 writer's entry: at v1, with v1's field names (kube's field manager converts).
    entry = stored["metadata"]["managedFields"][-1]
    assert entry["apiVersion"] == "autoscaling/v1" and entry["operation"] == "Update"
    assert set(entry["fieldsV1"]["f:spec"]) == {
        "f:maxReplicas",
        "f:targetCPUUtilizationPercentage",
    }
    assert [m["type"] for m in stored["spec"]["metrics"]] == ["Pods", "Resource"]
    assert "annotations" not in stored["metadata"]  # v2 never keeps the round-trip ones


def test_server_side_apply_through_v1(kubectl: Kubectl) -> None:
    manifest = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "applied", "namespace": NS},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
            "maxReplicas": 4,
            "targetCPUUtilizationPercentage": 60,
        },
    }
    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(manifest))
    manifest["spec"]["maxReplicas"] = 6  # type: ignore[index]
    kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(manifest))
    v2 = kubectl.json("-n", NS, "get", "hpa", "applied", "--show-managed-fields")
    assert v2["spec"]["maxReplicas"] == 6
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60
    entry = next(e for e in v2["metadata"]["managedFields"] if e["operation"] == "Apply")
    assert entry["apiVersion"] == "autoscaling/v1"
    kubectl("-n", NS, "delete", V1, "applied")


def test_delete(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "delete", "hpa", "d")
    for resource in ("hpa", V1):
        done = kubectl.run("-n", NS, "get", resource, "d")
        assert done.returncode != 0 and "NotFound" in done.stderr
