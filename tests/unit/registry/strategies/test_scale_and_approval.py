"""registry/scale.py (the Scale view of a parent, built-in and CRD paths) and the CSR approval
strategy (registry/strategies/certificates.py)."""

from __future__ import annotations

import copy
from typing import Any

from watchproxy.registry.scale import (
    ScalePaths,
    apply_scale,
    read_scale,
    scale_causes,
    selector_string,
)
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import ResourceType

CSRS = ResourceType(
    "certificates.k8s.io",
    "v1",
    "CertificateSigningRequest",
    "certificatesigningrequests",
    False,
    "certificatesigningrequests",
    status_subresource=True,
)


def deployment() -> dict[str, Any]:
    return {
        "metadata": {"name": "d", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
        "spec": {
            "replicas": 2,
            "selector": {
                "matchLabels": {"app": "x"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web", "api"]},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            },
        },
        "status": {"replicas": 1},
    }


def test_read_scale_of_a_deployment() -> None:
    assert read_scale(deployment()) == {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": "d", "namespace": "ns", "uid": "u", "resourceVersion": "7"},
        "spec": {"replicas": 2},
        "status": {"replicas": 1, "selector": "app=x,!legacy,tier in (api,web)"},
    }


def test_selector_of_a_replication_controller_map() -> None:
    assert selector_string({"b": "2", "a": "1"}) == "a=1,b=2"


def test_apply_scale_sets_replicas_and_preconditions() -> None:
    obj = deployment()
    apply_scale(obj, {"metadata": {"resourceVersion": "5"}, "spec": {"replicas": 4}})
    assert obj["spec"]["replicas"] == 4
    assert obj["metadata"]["resourceVersion"] == "5"
    obj = deployment()
    apply_scale(obj, {"spec": {"replicas": 0}})
    assert obj["spec"]["replicas"] == 0
    assert "resourceVersion" not in obj["metadata"]  # no precondition asked


def test_scale_validation() -> None:
    assert scale_causes({"spec": {"replicas": 3}}) == []
    assert scale_causes({"spec": {"replicas": -1}}) == [
        (
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        )
    ]


def test_custom_resource_paths() -> None:
    paths = ScalePaths.of_crd(
        {
            "specReplicasPath": ".spec.size",
            "statusReplicasPath": ".status.ready.count",
            "labelSelectorPath": ".status.selector",
        }
    )
    widget: dict[str, Any] = {
        "metadata": {"name": "w"},
        "spec": {"size": 3},
        "status": {"selector": "app=w"},
    }
    scale = read_scale(widget, paths)
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 0, "selector": "app=w"}
    apply_scale(widget, {"spec": {"replicas": 5}}, paths)
    assert widget["spec"]["size"] == 5


def csr() -> dict[str, Any]:
    return {
        "metadata": {"name": "c"},
        "spec": {"request": "cmVx", "signerName": "example.com/s", "username": "forged"},
    }


def test_csr_approval_changes_only_conditions() -> None:
    strategy = strategy_for(CSRS)
    old = csr()
    strategy.prepare_for_create(old)
    assert "username" not in old["spec"]  # no request identity: the forged one is dropped
    new = copy.deepcopy(old)
    new["spec"]["signerName"] = "other"
    new["status"] = {
        "certificate": "Zm9v",
        "conditions": [{"type": "Approved", "status": "True", "reason": "ok"}],
    }
    strategy.prepare_for_update(new, old, "approval")
    assert new["spec"] == old["spec"]
    assert "certificate" not in new["status"]
    assert new["status"]["conditions"][0]["type"] == "Approved"
    assert "lastUpdateTime" in new["status"]["conditions"][0]
    assert strategy.validate_update(new, old) == []


def test_csr_approved_and_denied_are_exclusive_and_permanent() -> None:
    strategy = strategy_for(CSRS)
    old = csr()
    strategy.prepare_for_create(old)
    both = copy.deepcopy(old)
    both["status"] = {
        "conditions": [
            {"type": "Approved", "status": "True"},
            {"type": "Denied", "status": "True"},
        ]
    }
    strategy.prepare_for_update(both, old, "approval")
    assert strategy.validate_update(both, old) == [
        (
            "FieldValueInvalid",
            "status.conditions[1].type",
            'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive',
        )
    ]
    approved = copy.deepcopy(old)
    approved["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    strategy.prepare_for_update(approved, old, "approval")
    cleared = copy.deepcopy(approved)
    cleared["status"] = {"conditions": []}
    strategy.prepare_for_update(cleared, approved, "approval")
    assert strategy.validate_update(cleared, approved) == [
        (
            "FieldValueForbidden",
            "status.conditions",
            'Forbidden: updates may not remove a condition of type "Approved"',
        )
    ]
