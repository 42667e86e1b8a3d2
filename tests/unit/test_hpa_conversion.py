"""autoscaling/v1 <-> v2 HorizontalPodAutoscaler conversion (schema/hpa_conversion.py), after
kube's pkg/apis/autoscaling/v1/conversion.go and conversion_test.go; and how the built-in types
carry it (resources.Conversion, schema/types.py, core/objects.build_from_dict)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from watchproxy.core.objects import build_from_dict
from watchproxy.proxy import served_key
from watchproxy.resources import Registry
from watchproxy.schema.hpa_conversion import (
    BEHAVIOR,
    CONDITIONS,
    CURRENT_METRICS,
    METRICS,
    convert,
    to_v1,
    to_v2,
)


def cpu(kind: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": kind, **target}}}


def v2(spec: dict[str, Any], status: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    obj = {
        "kind": "HorizontalPodAutoscaler",
        "apiVersion": "autoscaling/v2",
        "metadata": {"name": "h", "namespace": "ns", **meta},
        "spec": spec,
    }
    if status is not None:
        obj["status"] = status
    return obj


REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}


# kube's TestConvert_autoscaling_HorizontalPodAutoscalerSpec_To_v1_HorizontalPodAutoscalerSpec
@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        # ...CPUAverageValueAndUtilizationBoth1/2: the utilization one, not the first CPU one
        ([cpu("AverageValue", averageValue="300m"), cpu("Utilization", averageUtilization=70)], 70),
        ([], None),  # ...WithoutMetrics
        ([cpu("Utilization", averageUtilization=60)], 60),  # ...WithCPUUtilizationOnly
    ],
)
def test_spec_to_v1_takes_the_cpu_utilization(metrics: list[Any], expected: int | None) -> None:
    out = to_v1(v2({"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 3, "metrics": metrics}))
    assert out["apiVersion"] == "autoscaling/v1"
    assert out["spec"].get("targetCPUUtilizationPercentage") == expected
    assert out["spec"]["minReplicas"] == 1 and out["spec"]["maxReplicas"] == 3
    assert "metrics" not in out["spec"]


def test_the_average_value_cpu_metric_is_kept_in_the_metrics_annotation() -> None:
    metrics = [cpu("AverageValue", averageValue="300m"), cpu("Utilization", averageUtilization=70)]
    out = to_v1(v2({"maxReplicas": 3, "metrics": metrics}))
    kept = json.loads(out["metadata"]["annotations"][METRICS])
    assert kept == [{"type": "Resource", "resource": {"name": "cpu", "targetAverageValue": "300m"}}]
    # Back to v2: the annotation's metrics first, then the CPU utilization one (kube's order).
    assert to_v2(out)["spec"]["metrics"] == metrics


def test_v1_to_v2_cpu_target_and_the_implicit_default() -> None:
    v1: dict[str, Any] = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
    }
    out = to_v2(v1)
    assert out["apiVersion"] == "autoscaling/v2"
    assert out["spec"] == {
        "scaleTargetRef": REF,
        "maxReplicas": 3,
        "metrics": [cpu("Utilization", averageUtilization=50)],
    }
    del v1["spec"]["targetCPUUtilizationPercentage"]
    # autoscaling/v1's implicit default, made explicit (DefaultCPUUtilization).
    assert to_v2(v1)["spec"]["metrics"] == [cpu("Utilization", averageUtilization=80)]


def test_an_annotation_nested_too_deep_is_ignored() -> None:
    """Deeper than the interpreter's stack: read as no annotation, as Go's decoder's depth
    error is, never an exception (a 500 on every read of the HPA)."""
    deep = "[" * 20000 + "]" * 20000
    v1: dict[str, Any] = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "annotations": {METRICS: deep, BEHAVIOR: deep}},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
    }
    out = to_v2(v1)
    assert out["spec"]["metrics"] == [cpu("Utilization", averageUtilization=50)]


FULL_METRICS = [
    {
        "type": "Pods",
        "pods": {
            "metric": {"name": "qps", "selector": {"matchLabels": {"a": "b"}}},
            "target": {"type": "AverageValue", "averageValue": "10"},
        },
    },
    {
        "type": "External",
        "external": {
            "metric": {"name": "queue"},
            "target": {"type": "Value", "value": "5"},
        },
    },
    {
        "type": "Object",
        "object": {
            "describedObject": {"apiVersion": "v1", "kind": "Service", "name": "s"},
            "target": {"type": "Value", "value": "2"},
            "metric": {"name": "hits"},
        },
    },
    {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}},
    },
    {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "container": "app",
            "target": {"type": "Utilization", "averageUtilization": 40},
        },
    },
    cpu("Utilization", averageUtilization=60),
]
CURRENT = [
    {
        "type": "Resource",
        "resource": {"name": "cpu", "current": {"averageValue": "120m", "averageUtilization": 55}},
    },
    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "7"}}},
]
CONDITION = {
    "type": "AbleToScale",
    "status": "True",
    "lastTransitionTime": "2026-01-01T00:00:00Z",
    "reason": "SucceededRescale",
    "message": "ok",
}
BEHAVIOR_V2 = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Min",
        "policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}],
    },
}


def full_v2() -> dict[str, Any]:
    return v2(
        {
            "scaleTargetRef": REF,
            "minReplicas": 2,
            "maxReplicas": 9,
            "metrics": copy.deepcopy(FULL_METRICS),
            "behavior": copy.deepcopy(BEHAVIOR_V2),
        },
        {
            "observedGeneration": 3,
            "currentReplicas": 4,
            "desiredReplicas": 5,
            "currentMetrics": copy.deepcopy(CURRENT),
            "conditions": [dict(CONDITION)],
        },
        annotations={"keep": "me"},
    )


def test_v2_to_v1_keeps_what_v1_cannot_hold_in_annotations() -> None:
    out = to_v1(full_v2())
    assert out["spec"] == {
        "scaleTargetRef": REF,
        "minReplicas": 2,
        "maxReplicas": 9,
        "targetCPUUtilizationPercentage": 60,
    }
    assert out["status"] == {
        "observedGeneration": 3,
        "currentReplicas": 4,
        "desiredReplicas": 5,
        "currentCPUUtilizationPercentage": 55,
    }
    annotations = out["metadata"]["annotations"]
    assert annotations["keep"] == "me"
    assert json.loads(annotations[METRICS]) == [
        {
            "type": "Pods",
            "pods": {
                "metricName": "qps",
                "targetAverageValue": "10",
                "selector": {"matchLabels": {"a": "b"}},
            },
        },
        {"type": "External", "external": {"metricName": "queue", "targetValue": "5"}},
        {
            "type": "Object",
            "object": {
                "target": {"apiVersion": "v1", "kind": "Service", "name": "s"},
                "metricName": "hits",
                "targetValue": "2",
            },
        },
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "1Gi"}},
        {
            "type": "ContainerResource",
            "containerResource": {
                "name": "cpu",
                "targetAverageUtilization": 40,
                "container": "app",
            },
        },
    ]
    assert json.loads(annotations[CURRENT_METRICS]) == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "currentAverageUtilization": 55,
                "currentAverageValue": "120m",
            },
        },
        {"type": "Pods", "pods": {"metricName": "qps", "currentAverageValue": "7"}},
    ]
    assert json.loads(annotations[CONDITIONS]) == [CONDITION]
    # kube marshals its internal behavior type, which has no json tags.
    assert json.loads(annotations[BEHAVIOR]) == {
        "ScaleUp": {
            "StabilizationWindowSeconds": 0,
            "SelectPolicy": "Max",
            "Policies": [{"Type": "Pods", "Value": 4, "PeriodSeconds": 15}],
            "Tolerance": None,
        },
        "ScaleDown": {
            "StabilizationWindowSeconds": 300,
            "SelectPolicy": "Min",
            "Policies": [{"Type": "Percent", "Value": 10, "PeriodSeconds": 60}],
            "Tolerance": None,
        },
    }


def test_round_trip_v2_v1_v2_is_lossless() -> None:
    original = full_v2()
    back = to_v2(to_v1(original))
    # The CPU utilization metric comes back last; everything else in its place.
    assert back == original
    assert full_v2() == original  # nothing of the input was mutated


def test_round_trip_annotations_never_reach_v2() -> None:
    """v2/conversion.go drops them both ways; a v1 write consumes them."""
    stale = {METRICS: "[]", BEHAVIOR: "{}", CONDITIONS: "[]", CURRENT_METRICS: "[]", "x": "y"}
    out = convert(v2({"maxReplicas": 1}, annotations=dict(stale)), "v2")
    assert out["metadata"]["annotations"] == {"x": "y"}
    v1 = to_v1(full_v2())
    assert set(to_v2(v1)["metadata"]["annotations"]) == {"keep"}


def test_v1_annotations_that_are_no_json_are_ignored() -> None:
    v1 = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "annotations": {METRICS: "{not json", BEHAVIOR: "[]"}},
        "spec": {"maxReplicas": 2, "targetCPUUtilizationPercentage": 30},
    }
    out = to_v2(v1)
    assert out["spec"]["metrics"] == [cpu("Utilization", averageUtilization=30)]
    assert "behavior" not in out["spec"]
    assert "annotations" not in out["metadata"]


def test_v1_status_current_cpu_becomes_a_current_metric() -> None:
    v1 = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h"},
        "spec": {"maxReplicas": 2},
        "status": {
            "currentReplicas": 1,
            "desiredReplicas": 2,
            "currentCPUUtilizationPercentage": 33,
        },
    }
    status = to_v2(v1)["status"]
    assert status["currentMetrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 33}}}
    ]
    assert status["currentReplicas"] == 1 and status["desiredReplicas"] == 2


def test_registry_serves_both_versions_v2_first() -> None:
    registry = Registry()
    v2_type = registry.lookup("autoscaling", "v2", "horizontalpodautoscalers")
    v1_type = registry.lookup("autoscaling", "v1", "horizontalpodautoscalers")
    assert v2_type is not None and v1_type is not None
    assert registry.groups()["autoscaling"] == ["v2", "v1"]
    assert registry.by_group_kind("autoscaling", "HorizontalPodAutoscaler") is v2_type
    assert registry.by_key("horizontalpodautoscalers.autoscaling") is v2_type
    assert v1_type.storage_version == v2_type.storage_version == "v2"
    assert v1_type.storage_prefix == v2_type.storage_prefix
    # One cache per version: the storage version keeps the plain key.
    assert served_key(v2_type) == "horizontalpodautoscalers.autoscaling"
    assert served_key(v1_type) == "horizontalpodautoscalers.v1.autoscaling"


def test_the_v1_cache_encodes_the_stored_v2_object_as_v1() -> None:
    registry = Registry()
    v1_type = registry.lookup("autoscaling", "v1", "horizontalpodautoscalers")
    v2_type = registry.lookup("autoscaling", "v2", "horizontalpodautoscalers")
    assert v1_type is not None and v2_type is not None
    stored = full_v2()
    as_v1 = json.loads(build_from_dict(v1_type, "k", copy.deepcopy(stored), 7).raw)
    assert as_v1["apiVersion"] == "autoscaling/v1"
    assert as_v1["spec"]["targetCPUUtilizationPercentage"] == 60
    assert as_v1["metadata"]["resourceVersion"] == "7"
    as_v2 = json.loads(build_from_dict(v2_type, "k", copy.deepcopy(stored), 7).raw)
    assert as_v2["spec"] == stored["spec"]
    # Writes through v1 are stored at v2.
    assert v1_type.stored_form(as_v1)["spec"]["metrics"][-1] == cpu(
        "Utilization", averageUtilization=60
    )
    assert v2_type.stored_form(stored) is stored
