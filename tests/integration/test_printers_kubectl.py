"""`kubectl get` (1.32) against `watchproxy dev`: the server-side printed columns of the kinds
api/printers_more.py prints -- csr, pdb, sa, hpa, sts, jobs, cronjobs, ingress, pvc and
rolebindings -- as kubectl shows them, with and without `-o wide`.

Expected headers and cells are what kube-apiserver's printers.go gives for the same objects.
Ages are normalised (`<age>`); a row is compared as kubectl lays it out, split on runs of 2+
spaces, so an empty cell drops out of the list.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.devserver import Kubectl, dev_server

pytestmark = [pytest.mark.etcd, pytest.mark.clients]

NS = "printers"
AGE = re.compile(r"^\d+s$")  # every object here is seconds old


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    with dev_server(tmp_path_factory.mktemp("printers")) as url:
        k = Kubectl(url, tmp_path_factory.mktemp("kubectl-cache"))
        k("create", "namespace", NS)
        yield k


def table(kubectl: Kubectl, *args: str) -> list[list[str]]:
    """`kubectl get ARGS -n NS` as rows of cells, the header first, ages as `<age>`."""
    out = kubectl("get", *args, "-n", NS)
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]
    return [["<age>" if AGE.match(cell) else cell for cell in row] for row in rows]


def csr_request() -> str:
    """A base64 PEM certificate request for CN=alice."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alice")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()


def apply(kubectl: Kubectl, obj: dict[str, object]) -> None:
    kubectl("apply", "-n", NS, "-f", "-", stdin=json.dumps(obj))


def test_service_accounts_and_role_bindings(kubectl: Kubectl) -> None:
    kubectl("create", "serviceaccount", "bot", "-n", NS)
    assert table(kubectl, "sa", "bot") == [["NAME", "SECRETS", "AGE"], ["bot", "0", "<age>"]]
    kubectl("create", "rolebinding", "rb", "--clusterrole=view", "--user=alice", "--user=bob",
            "--group=devs", f"--serviceaccount={NS}:bot", "-n", NS)  # fmt: skip
    assert table(kubectl, "rolebindings", "rb") == [
        ["NAME", "ROLE", "AGE"], ["rb", "ClusterRole/view", "<age>"]
    ]  # fmt: skip
    assert table(kubectl, "rolebindings", "rb", "-o", "wide") == [
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
        ["rb", "ClusterRole/view", "<age>", "alice, bob", "devs", f"{NS}/bot"],
    ]


def test_pdb_hpa_and_statefulset(kubectl: Kubectl) -> None:
    kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=50%", "-n", NS)
    assert table(kubectl, "pdb", "web") == [
        ["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"],
        ["web", "50%", "N/A", "0", "<age>"],
    ]
    apply(kubectl, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 0, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "pg", "image": "postgres:17"}]}}},
    })  # fmt: skip
    assert table(kubectl, "sts", "db", "-o", "wide") == [
        ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"],
        ["db", "0/0", "<age>", "pg", "postgres:17"],
    ]
    kubectl("autoscale", "statefulset", "db", "--min=2", "--max=5", "--cpu-percent=50", "-n", NS)
    assert table(kubectl, "hpa", "db") == [
        ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"],
        ["db", "StatefulSet/db", "cpu: <unknown>/50%", "2", "5", "0", "<age>"],
    ]


def test_jobs_and_cronjobs(kubectl: Kubectl) -> None:
    kubectl("create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *",
            "-n", NS)  # fmt: skip
    rows = table(kubectl, "cronjobs", "tick", "-o", "wide")
    assert rows[0] == [
        "NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE",
        "CONTAINERS", "IMAGES", "SELECTOR",
    ]  # fmt: skip
    assert rows[1] == [
        "tick", "*/5 * * * *", "<none>", "False", "0", "<none>", "<age>", "tick", "busybox:1.36",
        "<none>",
    ]  # fmt: skip
    apply(kubectl, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
        "spec": {"suspend": True, "completions": 3, "template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5"}]}}},
    })  # fmt: skip
    rows = table(kubectl, "jobs", "pi")
    assert rows[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    # the job controller marks a suspended job Suspended (or has not seen it yet: Running)
    assert rows[1][0] == "pi" and rows[1][1] in ("Suspended", "Running")
    assert rows[1][2:] == ["0/3", "<age>"]  # no startTime: an empty DURATION


def test_ingress_pvc_and_csr(kubectl: Kubectl) -> None:
    kubectl("create", "ingress", "site", "--class=nginx", "--rule=a.example.com/*=web:80,tls",
            "-n", NS)  # fmt: skip
    assert table(kubectl, "ingress", "site") == [
        ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"],
        ["site", "nginx", "a.example.com", "80, 443", "<age>"],
    ]
    apply(kubectl, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                 "resources": {"requests": {"storage": "1Gi"}}},
    })  # fmt: skip
    rows = table(kubectl, "pvc", "data", "-o", "wide")
    assert rows[0] == [
        "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
        "VOLUMEATTRIBUTESCLASS", "AGE", "VOLUMEMODE",
    ]  # fmt: skip
    assert rows[1] == ["data", "Pending", "fast", "<unset>", "<age>", "Filesystem"]
    kubectl("create", "-f", "-", stdin=json.dumps({
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        "metadata": {"name": "alice"},
        "spec": {"signerName": "example.com/signer", "expirationSeconds": 3600,
                 "usages": ["client auth"], "request": csr_request()},
    }))  # fmt: skip
    rows = table(kubectl, "csr", "alice")
    assert rows[0] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    requestor = kubectl.json("get", "csr", "alice")["spec"]["username"]
    assert requestor  # the dev server's user, set by the CSR strategy
    assert rows[1] == ["alice", "<age>", "example.com/signer", requestor, "60m", "Pending"]
    kubectl("certificate", "approve", "alice")
    assert table(kubectl, "csr", "alice")[1][-1] == "Approved"
