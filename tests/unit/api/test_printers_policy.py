"""Tests for api/printers_policy.py: printPodDisruptionBudget, printResourceQuota,
printLimitRange, printPriorityClass, printRuntimeClass, printFlowSchema and
printPriorityLevelConfiguration of kube's printers.go (Wide).
"""

from __future__ import annotations

from typing import Any

from watchproxy.api.printers_policy import KINDS

T0 = 1767323045.0  # 2026-01-02T03:04:05Z
CREATED = "2026-01-02T02:04:05Z"
META = {"name": "x", "creationTimestamp": CREATED}
FC = "flowcontrol.apiserver.k8s.io"


def row(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return KINDS[(group, kind)][1](obj, T0)


def columns(group: str, kind: str) -> list[str]:
    return [c["name"] for c in KINDS[(group, kind)][0]]


def test_pdb() -> None:
    assert columns("policy", "PodDisruptionBudget") == [
        "Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"
    ]  # fmt: skip
    pdb = {"metadata": META, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}}
    assert row("policy", "PodDisruptionBudget", pdb) == ["x", "50%", "N/A", 1, "60m"]
    pdb["spec"] = {"maxUnavailable": 2}
    assert row("policy", "PodDisruptionBudget", pdb)[1:3] == ["N/A", "2"]


def test_resource_quota_splits_requests_and_limits() -> None:
    assert columns("", "ResourceQuota") == ["Name", "Request", "Limit", "Age"]
    rq = {
        "metadata": META,
        "status": {
            "hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "1Gi", "limits.cpu": "4"},
            "used": {"pods": "3", "limits.cpu": "500m"},
        },
    }
    assert row("", "ResourceQuota", rq) == [
        "x", "pods: 3/10, requests.cpu: 0/2", "limits.cpu: 500m/4, limits.memory: 0/1Gi", "60m"
    ]  # fmt: skip
    assert row("", "ResourceQuota", {"metadata": META})[1:3] == ["", ""]


def test_priority_class_and_runtime_class() -> None:
    assert columns("scheduling.k8s.io", "PriorityClass") == [
        "Name", "Value", "Global-Default", "Age", "PreemptionPolicy"
    ]  # fmt: skip
    pc = {"metadata": META, "value": 1000, "globalDefault": True,
          "preemptionPolicy": "PreemptLowerPriority"}  # fmt: skip
    assert row("scheduling.k8s.io", "PriorityClass", pc) == [
        "x", 1000, True, "60m", "PreemptLowerPriority"
    ]  # fmt: skip
    assert row("scheduling.k8s.io", "PriorityClass", {})[2] is False
    assert row("scheduling.k8s.io", "PriorityClass", {})[4] == ""
    rc = {"metadata": META, "handler": "runc"}
    assert row("node.k8s.io", "RuntimeClass", rc) == ["x", "runc", "60m"]


def test_flow_schema() -> None:
    assert columns(FC, "FlowSchema") == [
        "Name", "PriorityLevel", "MatchingPrecedence", "DistinguisherMethod", "Age", "MissingPL"
    ]  # fmt: skip
    fs = {
        "metadata": META,
        "spec": {
            "priorityLevelConfiguration": {"name": "workload-low"},
            "matchingPrecedence": 9000,
            "distinguisherMethod": {"type": "ByUser"},
        },
        "status": {"conditions": [{"type": "Dangling", "status": "False"}]},
    }
    assert row(FC, "FlowSchema", fs) == ["x", "workload-low", 9000, "ByUser", "60m", "False"]
    assert row(FC, "FlowSchema", {})[3:] == ["<none>", "<unknown>", "?"]


def test_priority_level_configuration() -> None:
    assert columns(FC, "PriorityLevelConfiguration") == [
        "Name", "Type", "NominalConcurrencyShares", "Queues", "HandSize", "QueueLengthLimit",
        "Age",
    ]  # fmt: skip
    limited = {
        "metadata": META,
        "spec": {
            "type": "Limited",
            "limited": {
                "nominalConcurrencyShares": 30,
                "limitResponse": {
                    "type": "Queue",
                    "queuing": {"queues": 64, "handSize": 6, "queueLengthLimit": 50},
                },
            },
        },
    }
    assert row(FC, "PriorityLevelConfiguration", limited) == [
        "x", "Limited", 30, 64, 6, 50, "60m"
    ]  # fmt: skip
    exempt = {"metadata": META, "spec": {"type": "Exempt", "exempt": {}}}
    assert row(FC, "PriorityLevelConfiguration", exempt)[1:6] == ["Exempt"] + ["<none>"] * 4
    reject = {"spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5,
              "limitResponse": {"type": "Reject"}}}}  # fmt: skip
    assert row(FC, "PriorityLevelConfiguration", reject)[2:6] == [5, "<none>", "<none>", "<none>"]
