"""Tests for api/printers_rbac.py: printRole, printRoleBinding, printServiceAccount and
printCertificateSigningRequest of kube's printers.go (Wide), as printers_test.go expects them.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printers_rbac import KINDS, csr_condition

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"
RBAC = "rbac.authorization.k8s.io"


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def test_bindings_split_subjects() -> None:
    rb = {
        "metadata": {"name": "rb", "creationTimestamp": CREATED},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "admin"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "devs"},
            {"kind": "ServiceAccount", "namespace": "ns", "name": "bot"},
            {"kind": "User", "name": "bob"},
        ],
    }
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        assert [(c["name"], c["priority"]) for c in KINDS[(RBAC, kind)][0]] == [
            ("Name", 0), ("Role", 0), ("Age", 0), ("Users", 1), ("Groups", 1),
            ("ServiceAccounts", 1),
        ]  # fmt: skip
        assert row(RBAC, kind, rb) == [
            "rb", "ClusterRole/admin", "60m", "alice, bob", "devs", "ns/bot"
        ]  # fmt: skip


def test_service_account_counts_secrets() -> None:
    sa = {"metadata": {"name": "default", "creationTimestamp": CREATED}, "secrets": [{"name": "t"}]}
    assert [c["name"] for c in KINDS[("", "ServiceAccount")][0]] == ["Name", "Secrets", "Age"]
    assert row("", "ServiceAccount", sa) == ["default", 1, "60m"]
    assert row("", "ServiceAccount", {})[1] == 0


def test_csr_condition() -> None:
    def csr(*kinds: str, cert: str = "") -> dict[str, Any]:
        conditions = [{"type": k, "status": "True"} for k in kinds]
        return {"status": {"conditions": conditions, "certificate": cert}}

    assert csr_condition(csr()) == "Pending"
    assert csr_condition(csr("Approved")) == "Approved"
    assert csr_condition(csr("Approved", cert="Y2VydA==")) == "Approved,Issued"
    assert csr_condition(csr("Approved", "Denied")) == "Denied"
    assert csr_condition(csr("Approved", "Failed")) == "Approved,Failed"
    assert csr_condition(csr("Failed", cert="eA==")) == "Pending,Failed,Issued"


def test_csr_row() -> None:
    key = ("certificates.k8s.io", "CertificateSigningRequest")
    assert [c["name"] for c in KINDS[key][0]] == [
        "Name", "Age", "SignerName", "Requestor", "RequestedDuration", "Condition"
    ]  # fmt: skip
    obj = {
        "metadata": {"name": "csr-1", "creationTimestamp": CREATED},
        "spec": {
            "signerName": "kubernetes.io/kube-apiserver-client",
            "username": "alice",
            "expirationSeconds": 86400,
        },
    }
    assert KINDS[key][1](obj, T0) == [
        "csr-1", "60m", "kubernetes.io/kube-apiserver-client", "alice", "24h", "Pending"
    ]  # fmt: skip
    del obj["spec"]["expirationSeconds"]
    assert KINDS[key][1](obj, T0)[4] == "<none>"
