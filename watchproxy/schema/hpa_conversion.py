"""autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscaler, as kube-apiserver converts them.

kube stores HPAs as autoscaling/v2 (its storage version) and serves v1 by converting through its
internal type, whose shape is v2's (pkg/apis/autoscaling/v1/conversion.go, v2/conversion.go):

- v1 `spec.targetCPUUtilizationPercentage` <-> the first v2 Resource `cpu` metric with an
  `averageUtilization` target; `status.currentCPUUtilizationPercentage` <-> its current value.
- Everything else v1 cannot hold rides in annotations of the v1 object: the other metrics
  (`autoscaling.alpha.kubernetes.io/metrics`, in v1's v2beta1-like MetricSpec shape), the
  current metrics (`.../current-metrics`), `behavior` (`.../behavior`, marshalled from kube's
  internal Go type, which has no json tags: `{"ScaleUp":{"StabilizationWindowSeconds":..}}`) and
  the conditions (`.../conditions`). Going back to v2 reads them and drops them; v2 objects never
  keep them (v2 conversion.go drops them both ways).
- A v1 object without a CPU target and without other metrics gets the controller's implicit
  80% CPU metric in v2 (DefaultCPUUtilization).

Shapes: objects are JSON dicts; `to_v1(obj)` / `to_v2(obj)` return new dicts (metadata is
copied, nothing of `obj` is mutated); `convert(obj, version)` dispatches on `version` ("v1" or
"v2"). An annotation that is no valid JSON is ignored, as kube ignores a failed Unmarshal.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from watchproxy.schema.hpa_metrics import (
    BEHAVIOR_TO_INTERNAL,
    metric_spec_to_v1,
    metric_spec_to_v2,
    metric_status_to_v1,
    metric_status_to_v2,
    rename_keys,
)

JsonObject = dict[str, Any]

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
ROUND_TRIP = (METRICS, CURRENT_METRICS, BEHAVIOR, CONDITIONS)
DEFAULT_CPU_UTILIZATION = 80  # pkg/apis/autoscaling DefaultCPUUtilization
_BEHAVIOR_FROM_INTERNAL = {v: k for k, v in BEHAVIOR_TO_INTERNAL.items()}


def convert(obj: JsonObject, version: str) -> JsonObject:
    """`obj` (an HPA at any served version) as autoscaling/`version`."""
    return to_v1(obj) if version == "v1" else to_v2(obj)


def _is_cpu_utilization(metric: Any) -> bool:
    resource = metric.get("resource") if isinstance(metric, dict) else None
    return bool(
        metric.get("type") == "Resource"
        and isinstance(resource, dict)
        and resource.get("name") == "cpu"
        and (resource.get("target") or {}).get("averageUtilization") is not None
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # Go's json.Marshal: no spaces


def _loads(text: Any) -> Any:
    """An annotation's JSON, None when it is not (too deep for the interpreter included: Go's
    decoder refuses past 10,000 levels, and conversion ignores an annotation it cannot read)."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None


def _head(obj: JsonObject, api_version: str) -> tuple[JsonObject, JsonObject]:
    """The converted object's kind, apiVersion and metadata (a copy; round-trip annotations
    dropped, DropRoundTripHorizontalPodAutoscalerAnnotations); and its annotations."""
    meta = copy.deepcopy(obj.get("metadata") or {})
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations = {k: v for k, v in annotations.items() if k not in ROUND_TRIP}
    else:
        annotations = {}
    out = {"kind": obj.get("kind", "HorizontalPodAutoscaler"), "apiVersion": api_version}
    out["metadata"] = meta
    return out, annotations


def _set_annotations(out: JsonObject, annotations: JsonObject) -> None:
    if annotations:
        out["metadata"]["annotations"] = annotations
    else:
        out["metadata"].pop("annotations", None)


def to_v1(obj: JsonObject) -> JsonObject:
    """Convert_autoscaling_HorizontalPodAutoscaler_To_v1_HorizontalPodAutoscaler."""
    if obj.get("apiVersion") == "autoscaling/v1":
        return copy.deepcopy(obj)
    out, annotations = _head(obj, "autoscaling/v1")
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    v1_spec: JsonObject = {}
    for key in ("scaleTargetRef", "minReplicas", "maxReplicas"):
        if key in spec:
            v1_spec[key] = copy.deepcopy(spec[key])
    # The first CPU metric with a utilization target (kube#101370: not merely the first CPU).
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    if cpu is not None:
        v1_spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    v1_status: JsonObject = {}
    for key in ("observedGeneration", "lastScaleTime"):
        if status.get(key) is not None:
            v1_status[key] = copy.deepcopy(status[key])
    v1_status["currentReplicas"] = status.get("currentReplicas", 0)
    v1_status["desiredReplicas"] = status.get("desiredReplicas", 0)
    current = [m for m in status.get("currentMetrics") or [] if isinstance(m, dict)]
    for metric in current:
        resource = metric.get("resource")
        if metric.get("type") == "Resource" and isinstance(resource, dict):
            if resource.get("name") == "cpu":
                utilization = (resource.get("current") or {}).get("averageUtilization")
                if utilization is not None:
                    v1_status["currentCPUUtilizationPercentage"] = utilization
    others = [metric_spec_to_v1(m) for m in metrics if not _is_cpu_utilization(m)]
    if others:
        annotations[METRICS] = _dumps(others)
    if current:
        annotations[CURRENT_METRICS] = _dumps([metric_status_to_v1(m) for m in current])
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        annotations[BEHAVIOR] = _dumps(_behavior_to_internal(behavior))
    conditions = status.get("conditions")
    if conditions:
        annotations[CONDITIONS] = _dumps(conditions)
    _set_annotations(out, annotations)
    out["spec"] = v1_spec
    out["status"] = v1_status
    return out


def to_v2(obj: JsonObject) -> JsonObject:
    """Convert_v1_HorizontalPodAutoscaler_To_autoscaling_HorizontalPodAutoscaler (then to v2,
    which keeps no round-trip annotation)."""
    given = (obj.get("metadata") or {}).get("annotations")
    given = given if isinstance(given, dict) else {}
    out, annotations = _head(obj, "autoscaling/v2")
    if obj.get("apiVersion") != "autoscaling/v1":
        out.update({k: copy.deepcopy(v) for k, v in obj.items() if k not in out})
        _set_annotations(out, annotations)
        return out
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    v2_spec: JsonObject = {}
    for key in ("scaleTargetRef", "minReplicas", "maxReplicas"):
        if key in spec:
            v2_spec[key] = copy.deepcopy(spec[key])
    metrics: list[JsonObject] = []
    cpu = spec.get("targetCPUUtilizationPercentage")
    if cpu is not None:
        target = {"type": "Utilization", "averageUtilization": cpu}
        metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": target}})
    others = _loads(given.get(METRICS))
    if isinstance(others, list):
        # The annotation's metrics first, then the CPU one (kube's outMetrics order).
        metrics = [metric_spec_to_v2(m) for m in others if isinstance(m, dict)] + metrics
    behavior = _loads(given.get(BEHAVIOR))
    if isinstance(behavior, dict) and any(v is not None for v in behavior.values()):
        v2_spec["behavior"] = _behavior_from_internal(behavior)
    if not metrics:
        # v1's implicit default, made explicit where the full set of metrics is known.
        target = {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}
        metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    v2_spec["metrics"] = metrics
    v2_status: JsonObject = {}
    for key in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"):
        if status.get(key) is not None:
            v2_status[key] = copy.deepcopy(status[key])
    current = status.get("currentCPUUtilizationPercentage")
    if current is not None:
        value = {"averageUtilization": current}
        resource = {"name": "cpu", "current": value}
        v2_status["currentMetrics"] = [{"type": "Resource", "resource": resource}]
    current_metrics = _loads(given.get(CURRENT_METRICS))
    if isinstance(current_metrics, list):  # "the ones here have more information"
        v2_status["currentMetrics"] = [
            metric_status_to_v2(m) for m in current_metrics if isinstance(m, dict)
        ]
    conditions = _loads(given.get(CONDITIONS))
    if isinstance(conditions, list):
        v2_status["conditions"] = conditions
    _set_annotations(out, annotations)
    out["spec"] = v2_spec
    if "status" in obj or v2_status:
        out["status"] = v2_status
    return out


def _behavior_to_internal(behavior: JsonObject) -> JsonObject:
    """`behavior` as Go marshals kube's internal HorizontalPodAutoscalerBehavior (no json tags:
    field names, every field, nil as null)."""
    out: JsonObject = {}
    for direction in ("scaleUp", "scaleDown"):
        rules = behavior.get(direction)
        if not isinstance(rules, dict):
            out[BEHAVIOR_TO_INTERNAL[direction]] = None
            continue
        entry: JsonObject = {}
        for key in ("stabilizationWindowSeconds", "selectPolicy"):
            entry[BEHAVIOR_TO_INTERNAL[key]] = rules.get(key)
        policies = rules.get("policies")
        entry["Policies"] = (
            [rename_keys(p, BEHAVIOR_TO_INTERNAL) for p in policies if isinstance(p, dict)]
            if isinstance(policies, list)
            else None
        )
        entry["Tolerance"] = rules.get("tolerance")
        out[BEHAVIOR_TO_INTERNAL[direction]] = entry
    return out


def _behavior_from_internal(behavior: JsonObject) -> JsonObject:
    out: JsonObject = {}
    for direction in ("ScaleUp", "ScaleDown"):
        rules = behavior.get(direction)
        if not isinstance(rules, dict):
            continue
        entry = {
            _BEHAVIOR_FROM_INTERNAL.get(k, k): v
            for k, v in rules.items()
            if v is not None and k != "Policies"
        }
        policies = rules.get("Policies")
        if isinstance(policies, list):
            entry["policies"] = [
                rename_keys(p, _BEHAVIOR_FROM_INTERNAL) for p in policies if isinstance(p, dict)
            ]
        out[_BEHAVIOR_FROM_INTERNAL[direction]] = entry
    return out
