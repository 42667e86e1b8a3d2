"""One HPA metric between autoscaling/v2's shape and the autoscaling/v1 shape kube keeps in the
`autoscaling.alpha.kubernetes.io/metrics` and `.../current-metrics` annotations (v1's MetricSpec
and MetricStatus, the v2beta1 layout: `targetAverageUtilization`, `metricName`, ...).

The rules are kube's pkg/apis/autoscaling/v1/conversion.go (Convert_*_ObjectMetricSource_*,
*_PodsMetricSource_*, *_ResourceMetricSource_*, *_ExternalMetricSource_* and their Status
counterparts); a quantity v1 holds as a non-pointer is "0" when v2 has none (Go's zero
resource.Quantity). Every function takes and returns JSON dicts and copies nothing it keeps.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

# kube's internal HPA behavior types have no json tags: Go marshals their field names.
BEHAVIOR_TO_INTERNAL = {
    "scaleUp": "ScaleUp",
    "scaleDown": "ScaleDown",
    "stabilizationWindowSeconds": "StabilizationWindowSeconds",
    "selectPolicy": "SelectPolicy",
    "policies": "Policies",
    "tolerance": "Tolerance",
    "type": "Type",
    "value": "Value",
    "periodSeconds": "PeriodSeconds",
}

_ZERO = "0"
_SOURCES = ("object", "pods", "resource", "containerResource", "external")


def rename_keys(obj: JsonObject, names: dict[str, str]) -> JsonObject:
    return {names.get(k, k): v for k, v in obj.items()}


def _put(out: JsonObject, key: str, value: Any) -> None:
    """`omitempty`: a None is left out."""
    if value is not None:
        out[key] = value


def _d(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _each(metric: JsonObject, convert: dict[str, Any]) -> JsonObject:
    out: JsonObject = {"type": metric.get("type")}
    for source in _SOURCES:
        if isinstance(metric.get(source), dict):
            out[source] = convert[source](metric[source])
    return out


# -- spec: v2 -> v1 ----------------------------------------------------------------------------


def _object_to_v1(src: JsonObject) -> JsonObject:
    target, metric = _d(src.get("target")), _d(src.get("metric"))
    out: JsonObject = {"target": src.get("describedObject") or {}, "metricName": metric.get("name")}
    out["targetValue"] = target.get("value") or _ZERO
    _put(out, "selector", metric.get("selector"))
    _put(out, "averageValue", target.get("averageValue"))
    return out


def _pods_to_v1(src: JsonObject) -> JsonObject:
    target, metric = _d(src.get("target")), _d(src.get("metric"))
    out: JsonObject = {"metricName": metric.get("name")}
    out["targetAverageValue"] = target.get("averageValue") or _ZERO
    _put(out, "selector", metric.get("selector"))
    return out


def _resource_to_v1(src: JsonObject) -> JsonObject:
    target = _d(src.get("target"))
    out: JsonObject = {"name": src.get("name")}
    _put(out, "targetAverageUtilization", target.get("averageUtilization"))
    _put(out, "targetAverageValue", target.get("averageValue"))
    return out


def _container_to_v1(src: JsonObject) -> JsonObject:
    return _resource_to_v1(src) | {"container": src.get("container")}


def _external_to_v1(src: JsonObject) -> JsonObject:
    target, metric = _d(src.get("target")), _d(src.get("metric"))
    out: JsonObject = {"metricName": metric.get("name")}
    _put(out, "metricSelector", metric.get("selector"))
    _put(out, "targetValue", target.get("value"))
    _put(out, "targetAverageValue", target.get("averageValue"))
    return out


def metric_spec_to_v1(metric: JsonObject) -> JsonObject:
    """A v2 MetricSpec as v1's MetricSpec (Convert_autoscaling_MetricSpec_To_v1_MetricSpec)."""
    return _each(
        metric,
        {
            "object": _object_to_v1,
            "pods": _pods_to_v1,
            "resource": _resource_to_v1,
            "containerResource": _container_to_v1,
            "external": _external_to_v1,
        },
    )


# -- spec: v1 -> v2 ----------------------------------------------------------------------------


def _identifier(name: Any, selector: Any) -> JsonObject:
    out: JsonObject = {"name": name}
    _put(out, "selector", selector)
    return out


def _target(kind: str, **values: Any) -> JsonObject:
    out: JsonObject = {"type": kind}
    for key, value in values.items():
        _put(out, key, value)
    return out


def _object_to_v2(src: JsonObject) -> JsonObject:
    average = src.get("averageValue")
    kind = "Value" if average is None else "AverageValue"
    return {
        "describedObject": src.get("target") or {},
        "target": _target(kind, value=src.get("targetValue") or _ZERO, averageValue=average),
        "metric": _identifier(src.get("metricName"), src.get("selector")),
    }


def _pods_to_v2(src: JsonObject) -> JsonObject:
    average = src.get("targetAverageValue") or _ZERO
    return {
        "metric": _identifier(src.get("metricName"), src.get("selector")),
        "target": _target("AverageValue", averageValue=average),
    }


def _resource_to_v2(src: JsonObject) -> JsonObject:
    utilization = src.get("targetAverageUtilization")
    kind = "AverageValue" if utilization is None else "Utilization"
    target = _target(
        kind, averageValue=src.get("targetAverageValue"), averageUtilization=utilization
    )
    return {"name": src.get("name"), "target": target}


def _container_to_v2(src: JsonObject) -> JsonObject:
    return _resource_to_v2(src) | {"container": src.get("container")}


def _external_to_v2(src: JsonObject) -> JsonObject:
    value = src.get("targetValue")
    kind = "AverageValue" if value is None else "Value"
    return {
        "metric": _identifier(src.get("metricName"), src.get("metricSelector")),
        "target": _target(kind, value=value, averageValue=src.get("targetAverageValue")),
    }


def metric_spec_to_v2(metric: JsonObject) -> JsonObject:
    """A v1 MetricSpec (from the annotation) as v2's."""
    return _each(
        metric,
        {
            "object": _object_to_v2,
            "pods": _pods_to_v2,
            "resource": _resource_to_v2,
            "containerResource": _container_to_v2,
            "external": _external_to_v2,
        },
    )


# -- status ------------------------------------------------------------------------------------


def _object_status_to_v1(src: JsonObject) -> JsonObject:
    current, metric = _d(src.get("current")), _d(src.get("metric"))
    out: JsonObject = {"target": src.get("describedObject") or {}, "metricName": metric.get("name")}
    out["currentValue"] = current.get("value") or _ZERO
    _put(out, "selector", metric.get("selector"))
    _put(out, "averageValue", current.get("averageValue"))
    return out


def _pods_status_to_v1(src: JsonObject) -> JsonObject:
    current, metric = _d(src.get("current")), _d(src.get("metric"))
    out: JsonObject = {"metricName": metric.get("name")}
    out["currentAverageValue"] = current.get("averageValue") or _ZERO
    _put(out, "selector", metric.get("selector"))
    return out


def _resource_status_to_v1(src: JsonObject) -> JsonObject:
    current = _d(src.get("current"))
    out: JsonObject = {"name": src.get("name")}
    _put(out, "currentAverageUtilization", current.get("averageUtilization"))
    out["currentAverageValue"] = current.get("averageValue") or _ZERO
    return out


def _container_status_to_v1(src: JsonObject) -> JsonObject:
    return _resource_status_to_v1(src) | {"container": src.get("container")}


def _external_status_to_v1(src: JsonObject) -> JsonObject:
    current, metric = _d(src.get("current")), _d(src.get("metric"))
    out: JsonObject = {"metricName": metric.get("name")}
    _put(out, "metricSelector", metric.get("selector"))
    out["currentValue"] = current.get("value") or _ZERO
    _put(out, "currentAverageValue", current.get("averageValue"))
    return out


def metric_status_to_v1(metric: JsonObject) -> JsonObject:
    """A v2 MetricStatus as v1's (Convert_autoscaling_MetricStatus_To_v1_MetricStatus)."""
    return _each(
        metric,
        {
            "object": _object_status_to_v1,
            "pods": _pods_status_to_v1,
            "resource": _resource_status_to_v1,
            "containerResource": _container_status_to_v1,
            "external": _external_status_to_v1,
        },
    )


def _current(**values: Any) -> JsonObject:
    out: JsonObject = {}
    for key, value in values.items():
        _put(out, key, value)
    return out


def _object_status_to_v2(src: JsonObject) -> JsonObject:
    value, average = src.get("currentValue") or _ZERO, src.get("averageValue")
    return {
        "metric": _identifier(src.get("metricName"), src.get("selector")),
        "current": _current(value=value, averageValue=average),
        "describedObject": src.get("target") or {},
    }


def _pods_status_to_v2(src: JsonObject) -> JsonObject:
    return {
        "metric": _identifier(src.get("metricName"), src.get("selector")),
        "current": _current(averageValue=src.get("currentAverageValue") or _ZERO),
    }


def _resource_status_to_v2(src: JsonObject) -> JsonObject:
    current = _current(
        averageValue=src.get("currentAverageValue") or _ZERO,
        averageUtilization=src.get("currentAverageUtilization"),
    )
    return {"name": src.get("name"), "current": current}


def _container_status_to_v2(src: JsonObject) -> JsonObject:
    return _resource_status_to_v2(src) | {"container": src.get("container")}


def _external_status_to_v2(src: JsonObject) -> JsonObject:
    current = _current(
        value=src.get("currentValue") or _ZERO, averageValue=src.get("currentAverageValue")
    )
    return {
        "metric": _identifier(src.get("metricName"), src.get("metricSelector")),
        "current": current,
    }


def metric_status_to_v2(metric: JsonObject) -> JsonObject:
    """A v1 MetricStatus (from the annotation) as v2's."""
    return _each(
        metric,
        {
            "object": _object_status_to_v2,
            "pods": _pods_status_to_v2,
            "resource": _resource_status_to_v2,
            "containerResource": _container_status_to_v2,
            "external": _external_status_to_v2,
        },
    )
