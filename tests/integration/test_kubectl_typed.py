"""kubectl's typed commands against `watchproxy dev`: their protobuf bodies round-trip as JSON.

`kubectl create namespace|configmap|secret|deployment|service|job|cronjob|poddisruptionbudget|
priorityclass|quota|ingress` post `application/vnd.kubernetes.protobuf` bodies (`kubectl run` and
`kubectl delete` send JSON); each object is read back with `kubectl get -o json` and compared with
what the same command prints with `--dry-run=client -o json`, i.e. what it would have sent as
JSON. `kubectl drain` (a policy/v1 Eviction to pods/NAME/eviction) and `kubectl certificate
approve|deny` (a CertificateSigningRequest to .../approval) send protobuf too, as does any
client-go typed client: the HorizontalPodAutoscaler case posts an autoscaling/v2 body built from
the generated classes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.devserver import Kubectl, dev_server
from watchproxy.kubeproto._generated import k8s_autoscaling_v2_pb2 as autoscaling_v2
from watchproxy.kubeproto._generated import k8s_runtime_pb2 as runtime
from watchproxy.kubeproto.decode import MAGIC, MEDIA_TYPE

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
        assert contains(stored.get(key), value), key
    return stored


def contains(stored: Any, sent: Any) -> bool:
    """Everything kubectl sent is stored; the server adds kube's defaults (registry/defaults),
    and a null it was sent (a zero creationTimestamp) may be left out."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            (v is None and k not in stored) or contains(stored.get(k), v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(contains(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return bool(stored == sent)


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
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]  # kube's default
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
        {
            "name": "nginx",
            "image": "nginx",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "resources": {},
            # kube's defaults (registry/defaults/podspec.py)
            "imagePullPolicy": "Always",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
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


# -- the kinds of the named groups ----------------------------------------------------------------


def test_create_job(kubectl: Kubectl) -> None:
    job = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "job", "j1", "--image=busybox:1.36"],
        ["-n", NS, "job", "j1"],
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["image"]) == ("j1", "busybox:1.36")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_create_cronjob_and_a_job_from_it(kubectl: Kubectl) -> None:
    cronjob = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *"],
        ["-n", NS, "cronjob", "cj1"],
    )
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    job = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "job", "j-from-cj1", "--from=cronjob/cj1"],
        ["-n", NS, "job", "j-from-cj1"],
    )
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    [owner] = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "CronJob",
        "cj1",
        cronjob["metadata"]["uid"],
    )


def test_create_poddisruptionbudget(kubectl: Kubectl) -> None:
    pdb = assert_round_trip(
        kubectl,
        [
            "-n",
            NS,
            "create",
            "poddisruptionbudget",
            "pdb1",
            "--selector=app=x",
            "--min-available=1",
        ],
        ["-n", NS, "pdb", "pdb1"],
        server_set=("status",),  # kube's PrepareForCreate resets it (observedGeneration...)
    )
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}


def test_create_priorityclass(kubectl: Kubectl) -> None:
    pc = assert_round_trip(
        kubectl,
        ["create", "priorityclass", "pc1", "--value=0", "--description=low"],
        ["priorityclass", "pc1"],
    )
    # `value` has no omitempty: a zero is sent and stored, as kube-apiserver stores it.
    assert (pc["value"], pc["description"]) == (0, "low")
    assert pc["preemptionPolicy"] == "PreemptLowerPriority"  # kube's default


def test_create_quota(kubectl: Kubectl) -> None:
    quota = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "quota", "q1", "--hard=cpu=1,memory=1G,pods=2", "--scopes=BestEffort"],
        ["-n", NS, "quota", "q1"],
        # kube-apiserver resets it to an empty ResourceQuotaStatus; the proxy leaves it out.
        server_set=("status",),
    )
    assert quota["spec"] == {
        "hard": {"cpu": "1", "memory": "1G", "pods": "2"},
        "scopes": ["BestEffort"],
    }


def test_create_ingress(kubectl: Kubectl) -> None:
    ingress = assert_round_trip(
        kubectl,
        ["-n", NS, "create", "ingress", "ing1", "--class=nginx", "--rule=foo.com/bar*=svc1:8080"],
        ["-n", NS, "ingress", "ing1"],
    )
    assert ingress["spec"]["ingressClassName"] == "nginx"
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == "foo.com"
    # pathType has no omitempty and the backend port is a struct value (IntOrString-free).
    assert rule["http"]["paths"] == [
        {
            "path": "/bar",
            "pathType": "Prefix",
            "backend": {"service": {"name": "svc1", "port": {"number": 8080}}},
        }
    ]


def test_drain_evicts_with_a_protobuf_eviction(kubectl: Kubectl) -> None:
    kubectl("create", "-f", "-", stdin='{"apiVersion":"v1","kind":"Node","metadata":{"name":"n9"}}')
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "done", "namespace": NS},
        "spec": {"nodeName": "n9", "containers": [{"name": "c", "image": "busybox"}]},
    }
    kubectl("create", "-f", "-", stdin=json.dumps(pod))
    # A finished pod is deleted at once (kube's pod CheckGracefulDelete): no kubelet needed.
    kubectl(
        "-n", NS, "patch", "pod", "done", "--subresource=status", "--type=merge",
        "-p", '{"status":{"phase":"Succeeded"}}',
    )  # fmt: skip
    out = kubectl("drain", "n9", "--force", "--timeout=30s")
    assert "pod/done evicted" in out
    assert kubectl.json("get", "node", "n9")["spec"]["unschedulable"] is True
    pods = kubectl.json("-n", NS, "get", "pods")["items"]
    assert "done" not in {p["metadata"]["name"] for p in pods}


def csr_pem(common_name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(("verb", "condition"), [("approve", "Approved"), ("deny", "Denied")])
def test_certificate_approve_and_deny(kubectl: Kubectl, verb: str, condition: str) -> None:
    name = f"csr-{verb}"
    csr = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {
            "request": base64.b64encode(csr_pem("alice")).decode(),
            "signerName": "example.com/signer",
            "usages": ["client auth"],
        },
    }
    kubectl("create", "-f", "-", stdin=json.dumps(csr))
    kubectl("certificate", verb, name)
    [cond] = kubectl.json("get", "csr", name)["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        condition,
        "True",
        "Kubectl" + verb.capitalize(),
    )
    # kubectl sends a zero lastTransitionTime (null); the strategy fills it, as kube's does.
    assert cond["lastUpdateTime"].startswith("20")
    assert cond["lastTransitionTime"].startswith("20")


def test_horizontalpodautoscaler_v2_protobuf(dev_url: str, kubectl: Kubectl) -> None:
    # kubectl 1.32's `autoscale` still posts autoscaling/v1, which is not served; client-go's
    # typed autoscaling/v2 client sends this body.
    hpa = autoscaling_v2.HorizontalPodAutoscaler()
    hpa.metadata.name, hpa.metadata.namespace = "hpa1", NS
    hpa.metadata.generateName = ""  # written by Go clients, zero or not
    ref = hpa.spec.scaleTargetRef
    ref.apiVersion, ref.kind, ref.name = "apps/v1", "Deployment", "d1"
    hpa.spec.minReplicas, hpa.spec.maxReplicas = 1, 3
    metric = hpa.spec.metrics.add(type="Resource")
    metric.resource.name = "cpu"
    metric.resource.target.type = "Utilization"
    metric.resource.target.averageUtilization = 50
    hpa.status.SetInParent()
    unknown = runtime.Unknown(raw=hpa.SerializeToString())
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = "autoscaling/v2", "HorizontalPodAutoscaler"
    r = httpx.post(
        f"{dev_url}/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers",
        content=MAGIC + unknown.SerializeToString(),
        headers={"Content-Type": MEDIA_TYPE},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    stored = kubectl.json("-n", NS, "get", "hpa.v2.autoscaling", "hpa1")
    assert stored["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "d1",
    }
    assert (stored["spec"]["minReplicas"], stored["spec"]["maxReplicas"]) == (1, 3)
    assert stored["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50},
            },
        }
    ]
    assert "generateName" not in stored["metadata"]
