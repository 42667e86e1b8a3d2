"""Server-side printing of rbac.authorization.k8s.io/v1 RoleBinding and ClusterRoleBinding, v1
ServiceAccount and certificates.k8s.io/v1 CertificateSigningRequest -- ports of
printRoleBinding (rbac.SubjectsStrings), printServiceAccount and printCertificateSigningRequest
(extractCSRStatus) in kubernetes/pkg/printers/internalversion/printers.go (Wide). Pure.

Role, ClusterRole and LimitRange have no printer in kube: they get rest.defaultTableConvertor's
Name / Created At table (api/table.py), as here.
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printer_cells import JsonObject, _d, _i, _l, _s, human_duration, since
from watchproxy.api.printer_defs import (
    AGE,
    NAME,
    Columns,
    Kinds,
    col,
    wide,
)


def _binding(rb: JsonObject, now: float) -> list[Any]:
    meta, ref = _d(rb.get("metadata")), _d(rb.get("roleRef"))
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for subject in map(_d, _l(rb.get("subjects"))):
        kind, name = subject.get("kind"), _s(subject.get("name"))
        if kind == "ServiceAccount":
            accounts.append(f"{_s(subject.get('namespace'))}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [
        _s(meta.get("name")),
        f"{_s(ref.get('kind'))}/{_s(ref.get('name'))}",
        since(meta.get("creationTimestamp"), now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(accounts),
    ]


def _service_account(sa: JsonObject, now: float) -> list[Any]:
    meta = _d(sa.get("metadata"))
    return [
        _s(meta.get("name")),
        len(_l(sa.get("secrets"))),
        since(meta.get("creationTimestamp"), now),
    ]


def csr_condition(csr: JsonObject) -> str:
    """extractCSRStatus: Denied/Approved/Pending, then `,Failed` and `,Issued`."""
    status = _d(csr.get("status"))
    kinds = {_d(c).get("type") for c in _l(status.get("conditions"))}
    text = "Denied" if "Denied" in kinds else "Approved" if "Approved" in kinds else "Pending"
    if "Failed" in kinds:
        text += ",Failed"
    if status.get("certificate"):
        text += ",Issued"
    return text


def _csr(csr: JsonObject, now: float) -> list[Any]:
    meta, spec = _d(csr.get("metadata")), _d(csr.get("spec"))
    seconds = spec.get("expirationSeconds")
    requested = "<none>" if seconds is None else human_duration(float(_i(seconds)))
    return [
        _s(meta.get("name")),
        since(meta.get("creationTimestamp"), now),
        _s(spec.get("signerName")) or "<none>",
        _s(spec.get("username")),
        requested,
        csr_condition(csr),
    ]


def _binding_columns(kind: str) -> Columns:
    return (
        NAME,
        col("Role", "RoleRef can only reference a Role or ClusterRole."),
        AGE,
        wide("Users", f"Users in the {kind}"),
        wide("Groups", f"Groups in the {kind}"),
        wide("ServiceAccounts", f"ServiceAccounts in the {kind}"),
    )


_RBAC = "rbac.authorization.k8s.io"

KINDS: Kinds = {
    (_RBAC, "RoleBinding"): (_binding_columns("roleBinding"), _binding),
    (_RBAC, "ClusterRoleBinding"): (_binding_columns("clusterRoleBinding"), _binding),
    ("", "ServiceAccount"): (
        (
            NAME,
            col("Secrets", "Secrets is a list of the secrets in the same namespace.", "string"),
            AGE,
        ),
        _service_account,
    ),
    ("certificates.k8s.io", "CertificateSigningRequest"): (
        (
            NAME,
            AGE,
            col("SignerName", "Only one of SignerName."),
            col("Requestor", "Name of the user who made the request."),
            col("RequestedDuration", "The requested duration of the issued certificate."),
            col("Condition", "Condition of the request."),
        ),
        _csr,
    ),
}
