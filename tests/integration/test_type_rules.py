"""kube's defaults, type validation, ClusterIP allocation and the scale / eviction / approval
subresources, through real kubectl against `watchproxy dev` (two etcd shards), and the
ClusterIP uniqueness across two `serve` replicas."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import ProxyProcess, base_config, running_etcd_pair
from tests.integration.devserver import Kubectl, dev_server

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "acme-rules"
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/12")


@pytest.fixture(scope="module")
def dev_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dev_server(tmp_path_factory.mktemp("type-rules")) as url:
        yield url


@pytest.fixture(scope="module")
def kubectl(dev_url: str, tmp_path_factory: pytest.TempPathFactory) -> Kubectl:
    k = Kubectl(dev_url, tmp_path_factory.mktemp("kubectl-cache"))
    k("create", "namespace", NS)
    return k


@pytest.fixture()
def api(dev_url: str, kubectl: Kubectl) -> Iterator[httpx.Client]:
    """A client of the dev server, once `kubectl` made the namespace."""
    with httpx.Client(base_url=dev_url, timeout=30) as client:
        yield client


def refused(kubectl: Kubectl, *args: str, stdin: str | None = None) -> str:
    done = kubectl.run(*args, stdin=stdin)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_created_deployment_reads_back_with_kube_defaults(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "deployment", "web", "--image=nginx")
    deploy = kubectl.json("-n", NS, "get", "deploy", "web")
    assert deploy["spec"] == {
        "progressDeadlineSeconds": 600,
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": {"app": "web"}},
        "strategy": {
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            "type": "RollingUpdate",
        },
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
            },
        },
    }
    assert deploy["metadata"]["generation"] == 1


def test_run_pod_reads_back_with_kube_defaults(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "run", "solo", "--image=nginx:1.27", "--port=80")
    pod = kubectl.json("-n", NS, "get", "pod", "solo")
    not_ready, unreachable = (
        {
            "effect": "NoExecute",
            "key": f"node.kubernetes.io/{taint}",
            "operator": "Exists",
            "tolerationSeconds": 300,
        }
        for taint in ("not-ready", "unreachable")
    )
    assert pod["spec"] == {
        "containers": [
            {
                "image": "nginx:1.27",
                "imagePullPolicy": "IfNotPresent",
                "name": "solo",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "tolerations": [not_ready, unreachable],
    }
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_pod_priority_from_its_class(api: httpx.Client) -> None:
    classes = "/apis/scheduling.k8s.io/v1/priorityclasses"
    r = api.post(classes, json={"metadata": {"name": "rules-high"}, "value": 1000})
    assert r.status_code == 201, r.text
    assert r.json()["preemptionPolicy"] == "PreemptLowerPriority"
    pods = f"/api/v1/namespaces/{NS}/pods"
    body = {
        "metadata": {"name": "prio"},
        "spec": {
            "priorityClassName": "rules-high",
            "containers": [{"name": "c", "image": "nginx"}],
        },
    }
    r = api.post(pods, json=body)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["priority"] == 1000
    body["metadata"]["name"], body["spec"]["priorityClassName"] = "orphan", "nope"
    r = api.post(pods, json=body)
    assert r.status_code == 403, r.text
    assert r.json()["message"] == (
        'pods "orphan" is forbidden: no PriorityClass with name nope was found'
    )


def test_kubectl_scale(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "deployment", "scaled", "--image=nginx:1.27")
    kubectl("-n", NS, "scale", "deploy/scaled", "--replicas=3")
    deploy = kubectl.json("-n", NS, "get", "deploy", "scaled")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["metadata"]["generation"] == 2
    scale = kubectl.json("-n", NS, "get", "deploy", "scaled", "--subresource=scale")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"]["selector"] == "app=scaled"


def test_scale_validation(api: httpx.Client, kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "deployment", "negative", "--image=nginx")
    r = api.patch(
        f"/apis/apps/v1/namespaces/{NS}/deployments/negative/scale",
        content=b'{"spec":{"replicas":-1}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["message"] == (
        'Scale.autoscaling "negative" is invalid: spec.replicas: Invalid value: -1: must be '
        "greater than or equal to 0"
    )


def test_scale_put_with_stale_resource_version_conflicts(
    api: httpx.Client, kubectl: Kubectl
) -> None:
    kubectl("-n", NS, "create", "deployment", "stale", "--image=nginx")
    url = f"/apis/apps/v1/namespaces/{NS}/deployments/stale/scale"
    scale = api.get(url).json()
    scale["spec"]["replicas"] = 2
    assert api.put(url, json=scale).status_code == 200
    scale["spec"]["replicas"] = 4  # still the old resourceVersion
    r = api.put(url, json=scale)
    assert r.status_code == 409, r.text
    assert api.get(url).json()["spec"]["replicas"] == 2


def test_expose_gets_a_cluster_ip_in_range(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "deployment", "exposed", "--image=nginx")
    kubectl("-n", NS, "expose", "deploy", "exposed", "--port", "80")
    spec = kubectl.json("-n", NS, "get", "svc", "exposed")["spec"]
    ip = spec["clusterIP"]
    assert ipaddress.ip_address(ip) in SERVICE_RANGE
    assert spec["clusterIPs"] == [ip]
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert (spec["sessionAffinity"], spec["internalTrafficPolicy"]) == ("None", "Cluster")
    held = kubectl.json("get", "ipaddresses", ip)
    assert held["spec"]["parentRef"] == {
        "group": "",
        "resource": "services",
        "namespace": NS,
        "name": "exposed",
    }


def service(name: str, cluster_ip: str | None = None) -> str:
    spec: dict[str, Any] = {"ports": [{"port": 80}], "selector": {"app": name}}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}
    return json.dumps(body)


def test_requested_cluster_ip_is_exclusive_and_released_on_delete(kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "-f", "-", stdin=service("dns", "10.96.0.10"))
    assert kubectl.json("-n", NS, "get", "svc", "dns")["spec"]["clusterIP"] == "10.96.0.10"
    err = refused(kubectl, "-n", NS, "create", "-f", "-", stdin=service("dns2", "10.96.0.10"))
    assert (
        'spec.clusterIPs: Invalid value: []string{"10.96.0.10"}: failed to allocate IP '
        "10.96.0.10: provided IP is already allocated"
    ) in err
    err = refused(kubectl, "-n", NS, "create", "-f", "-", stdin=service("far", "192.168.0.1"))
    assert "is not in the valid range. The range of valid IPs is 10.96.0.0/12" in err
    kubectl("-n", NS, "delete", "svc", "dns")
    assert kubectl.run("get", "ipaddresses", "10.96.0.10").returncode != 0
    kubectl("-n", NS, "create", "-f", "-", stdin=service("dns2", "10.96.0.10"))
    kubectl("-n", NS, "create", "-f", "-", stdin=service("hl", "None"))
    assert kubectl.json("-n", NS, "get", "svc", "hl")["spec"]["clusterIPs"] == ["None"]


def test_node_ports(api: httpx.Client, kubectl: Kubectl) -> None:
    kubectl("-n", NS, "create", "service", "nodeport", "np1", "--tcp=80:8080")
    spec = kubectl.json("-n", NS, "get", "svc", "np1")["spec"]
    port = spec["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    assert spec["externalTrafficPolicy"] == "Cluster"
    body = json.loads(service("np2"))
    body["spec"]["type"] = "NodePort"
    body["spec"]["ports"][0]["nodePort"] = port
    services = f"/api/v1/namespaces/{NS}/services"
    r = api.post(services, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "field": "spec.ports[0].nodePort",
            "message": f"Invalid value: {port}: provided port is already allocated",
        }
    ]
    body["spec"]["ports"][0]["nodePort"] = 80
    assert "The range of valid ports is 30000-32767" in api.post(services, json=body).text
    # An update that leaves nodePort out keeps it; going ClusterIP gives it back.
    current = api.get(f"{services}/np1").json()
    del current["spec"]["ports"][0]["nodePort"]
    r = api.put(f"{services}/np1", json=current)
    assert r.status_code == 200 and r.json()["spec"]["ports"][0]["nodePort"] == port, r.text
    patch = {"spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 8080}]}}
    r = api.patch(
        f"{services}/np1",
        content=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    body["spec"]["ports"][0]["nodePort"] = port
    assert api.post(services, json=body).status_code == 201


def test_invalid_objects_are_refused(kubectl: Kubectl) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "empty"}, "spec": {}}
    err = refused(kubectl, "-n", NS, "create", "-f", "-", stdin=json.dumps(pod))
    assert 'Pod "empty" is invalid: spec.containers: Required value' in err
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "mismatch"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"labels": {"app": "b"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    err = refused(kubectl, "-n", NS, "create", "-f", "-", stdin=json.dumps(deploy))
    assert (
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: '
        "`selector` does not match template `labels`"
    ) in err


def test_immutable_configmap_cannot_be_edited(kubectl: Kubectl) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "frozen"},
        "data": {"a": "1"},
        "immutable": True,
    }
    kubectl("-n", NS, "create", "-f", "-", stdin=json.dumps(cm))
    err = refused(kubectl, "-n", NS, "patch", "configmap", "frozen", "-p", '{"data":{"a":"2"}}')
    assert "data: Forbidden: field is immutable when `immutable` is set" in err
    assert kubectl.json("-n", NS, "get", "configmap", "frozen")["data"] == {"a": "1"}


def running_pod(api: httpx.Client, name: str) -> None:
    body = {
        "metadata": {"name": name, "labels": {"app": "guarded"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    assert api.post(f"/api/v1/namespaces/{NS}/pods", json=body).status_code == 201
    r = api.patch(
        f"/api/v1/namespaces/{NS}/pods/{name}/status",
        content=json.dumps({"status": {"phase": "Running"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text


def evict(api: httpx.Client, name: str) -> httpx.Response:
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}
    return api.post(f"/api/v1/namespaces/{NS}/pods/{name}/eviction", json=body)


def test_eviction_honours_the_disruption_budget(api: httpx.Client) -> None:
    running_pod(api, "free")
    r = evict(api, "free")  # no budget selects it
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "Success"
    assert api.get(f"/api/v1/namespaces/{NS}/pods/free").status_code == 404

    pdb = {
        "metadata": {"name": "budget"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
    }
    pdbs = f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets"
    assert api.post(pdbs, json=pdb).status_code == 201
    running_pod(api, "guarded")
    r = evict(api, "guarded")  # the budget's status says no disruption is allowed
    assert r.status_code == 429, r.text
    assert r.json()["message"] == (
        "Cannot evict pod as it would violate the pod's disruption budget."
    )
    assert r.json()["details"]["causes"][0]["reason"] == "DisruptionBudget"
    assert api.get(f"/api/v1/namespaces/{NS}/pods/guarded").status_code == 200

    status = {"status": {"disruptionsAllowed": 1, "observedGeneration": 1}}
    r = api.patch(
        f"{pdbs}/budget/status",
        content=json.dumps(status),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert evict(api, "guarded").status_code == 201
    assert api.get(f"/api/v1/namespaces/{NS}/pods/guarded").status_code == 404
    after = api.get(f"{pdbs}/budget").json()["status"]
    assert after["disruptionsAllowed"] == 0
    assert "guarded" in after["disruptedPods"]


def test_csr_approval(api: httpx.Client) -> None:
    """PUT .../approval as `kubectl certificate approve` does (in JSON: kubectl's protobuf body
    for a CSR is not decoded by watchproxy yet)."""
    csrs = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": "node-csr"},
        "spec": {
            "request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
            "signerName": "example.com/signer",
            "usages": ["client auth"],
            "username": "forged",
        },
    }
    r = api.post(csrs, json=csr)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["username"] != "forged"
    current = r.json()
    current["spec"]["signerName"] = "example.com/other"  # ignored by the approval strategy
    approved = {"type": "Approved", "status": "True", "reason": "KubectlApprove"}
    current["status"] = {"conditions": [approved]}
    r = api.put(f"{csrs}/node-csr/approval", json=current)
    assert r.status_code == 200, r.text
    stored = api.get(f"{csrs}/node-csr").json()
    assert stored["spec"]["signerName"] == "example.com/signer"
    conditions = stored["status"]["conditions"]
    assert [(c["type"], c["status"]) for c in conditions] == [("Approved", "True")]
    assert conditions[0]["lastUpdateTime"]
    stored["status"]["conditions"].append({"type": "Denied", "status": "True"})
    r = api.put(f"{csrs}/node-csr/approval", json=stored)
    assert r.status_code == 422, r.text
    assert "Approved and Denied conditions are mutually exclusive" in r.json()["message"]


def test_cluster_ips_unique_across_replicas(tmp_path: Path) -> None:
    """50 Services created at once through two replicas, in two tenants on two shards: 50
    addresses."""
    with running_etcd_pair(tmp_path) as servers:
        config = base_config([s.endpoint for s in servers], service_cluster_ip_range="10.0.0.0/26")
        replicas = [ProxyProcess(config, tmp_path, name=f"replica{i}") for i in range(2)]
        try:
            for replica in replicas:
                replica.start()
            with httpx.Client(base_url=replicas[0].url, timeout=30) as api:
                for ns in ("acme-ips", "globex-ips"):
                    api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})

            def create(i: int) -> httpx.Response:
                ns = ("acme-ips", "globex-ips")[i % 2]
                url = f"{replicas[i % 2].url}/api/v1/namespaces/{ns}/services"
                return httpx.post(url, content=service(f"s{i}"), timeout=30)

            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(create, range(50)))
            ips = [r.json()["spec"]["clusterIP"] for r in answers if r.status_code == 201]
            assert len(ips) == 50, [r.text for r in answers if r.status_code != 201]
            assert len(set(ips)) == 50
            network = ipaddress.ip_network("10.0.0.0/26")
            assert all(ipaddress.ip_address(ip) in network for ip in ips)
            assert not {"10.0.0.0", "10.0.0.63"} & set(ips)  # network and broadcast
        finally:
            for replica in replicas:
                replica.stop()


def test_failed_service_creates_hold_no_address(api: httpx.Client) -> None:
    """A create that fails after its ClusterIP was taken gives it back (the allocators'
    txn.Revert): a taken nodePort (422) or a name that exists (409) leaves no IPAddress."""
    services = f"/api/v1/namespaces/{NS}/services"

    def held() -> set[str]:
        items = api.get("/apis/networking.k8s.io/v1/ipaddresses").json()["items"]
        return {i["metadata"]["name"] for i in items}

    first = json.loads(service("leak1"))
    first["spec"]["type"] = "NodePort"
    r = api.post(services, json=first)
    assert r.status_code == 201, r.text
    port = r.json()["spec"]["ports"][0]["nodePort"]
    before = held()
    for i in range(5):
        body = json.loads(service(f"leak-port-{i}"))
        body["spec"]["type"] = "NodePort"
        body["spec"]["ports"][0]["nodePort"] = port
        assert api.post(services, json=body).status_code == 422
        assert api.post(services, json=first).status_code == 409
    assert held() == before


def test_numeric_quantities_are_stored_as_kubes_strings(api: httpx.Client, dev_url: str) -> None:
    """A quantity sent as a JSON number is stored canonical (`500m`), as kube stores it: the
    official Python client refuses numbers there, so one such pod would break every list."""
    from kubernetes import client

    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "qty"},
        "spec": {
            "containers": [
                {"name": "c", "image": "i", "resources": {"requests": {"cpu": 0.5, "memory": 5}}}
            ]
        },
    }
    r = api.post(f"/api/v1/namespaces/{NS}/pods", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "500m",
        "memory": "5",
    }
    config = client.Configuration()
    config.host = dev_url
    with client.ApiClient(config) as python_client:
        pods = client.CoreV1Api(python_client).list_namespaced_pod(NS).items
    mine = next(p for p in pods if p.metadata.name == "qty")
    assert mine.spec.containers[0].resources.requests == {"cpu": "500m", "memory": "5"}


def test_more_kube_type_rules_answer_422(api: httpx.Client) -> None:
    """Review findings, through the HTTP API: each answers kube's 422 with its cause."""
    container = {"name": "c", "image": "i"}

    def causes(path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        r = api.post(path, json=body)
        assert r.status_code == 422, r.text
        status = r.json()
        assert status["kind"] == "Status" and status["reason"] == "Invalid"
        found: list[dict[str, Any]] = status["details"]["causes"]
        return found

    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "over"},
        "spec": {
            "containers": [
                {**container, "resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}
            ]
        },
    }
    assert causes(f"/api/v1/namespaces/{NS}/pods", pod) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "2": must be less than or equal to cpu limit of 1',
            "field": "spec.containers[0].resources.requests",
        }
    ]
    template = {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [container]}}
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "zero-zero"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}},
            "template": template,
        },
    }
    assert causes(f"/apis/apps/v1/namespaces/{NS}/deployments", deploy) == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 0: may not be 0 when `maxSurge` is 0",
            "field": "spec.strategy.rollingUpdate.maxUnavailable",
        }
    ]
    svc = json.loads(service("v6"))
    svc["spec"]["ipFamilies"] = ["IPv6"]
    assert causes(f"/api/v1/namespaces/{NS}/services", svc) == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: []string(nil): ipfamily IPv6 is not configured on cluster",
            "field": "spec.ipFamilies[0]",
        }
    ]
    job_template = {**template, "spec": {"containers": [container], "restartPolicy": "Never"}}
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "mars"},
        "spec": {
            "schedule": "* * * * *",
            "timeZone": "Mars/Olympus",
            "jobTemplate": {"spec": {"template": job_template}},
        },
    }
    assert causes(f"/apis/batch/v1/namespaces/{NS}/cronjobs", cron) == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus',
            "field": "spec.timeZone",
        }
    ]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "manual"},
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": job_template},
    }
    [cause] = causes(f"/apis/batch/v1/namespaces/{NS}/jobs", job)
    assert cause["field"] == "spec.selector"
    assert cause["message"].endswith("`selector` not auto-generated")
