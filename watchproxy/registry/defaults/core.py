"""Defaults of core/v1 types other than the workloads, and of the small groups (kube:
pkg/apis/core/v1/defaults.go, networking/v1, scheduling/v1, rbac/v1, discovery/v1,
autoscaling/v2 and policy/v1 defaults.go, plus the declarative `+default` markers of k8s.io/api).

ipFamilies / ipFamilyPolicy and clusterIPs of a Service are not defaults in kube but the
Service REST's allocation: see strategies/service.py.
"""

from __future__ import annotations

from collections.abc import Callable

from watchproxy.registry.defaults.podspec import JsonObject, child, items, pod, put

RBAC_GROUP = "rbac.authorization.k8s.io"


def service(obj: JsonObject) -> None:
    """SetDefaults_Service."""
    spec = child(obj, "spec")
    if spec is None:
        return
    put(spec, "sessionAffinity", "None")
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client_ip = child(child(spec, "sessionAffinityConfig"), "clientIP")
        if client_ip is not None and client_ip.get("timeoutSeconds") is None:
            client_ip["timeoutSeconds"] = 10800  # DefaultClientIPServiceAffinitySeconds
    put(spec, "type", "ClusterIP")
    kind = spec["type"]
    for port in items(spec, "ports"):
        put(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    externally_accessible = kind in ("NodePort", "LoadBalancer") or (
        kind == "ClusterIP" and bool(spec.get("externalIPs"))
    )
    if externally_accessible:
        put(spec, "externalTrafficPolicy", "Cluster")
    if spec.get("internalTrafficPolicy") is None and kind in (
        "NodePort",
        "LoadBalancer",
        "ClusterIP",
    ):
        spec["internalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    child(child(obj, "status"), "loadBalancer")


def persistent_volume_claim(obj: JsonObject) -> None:
    spec = child(obj, "spec")
    if spec is not None:
        put(spec, "volumeMode", "Filesystem")
    status = child(obj, "status")
    if status is not None:
        put(status, "phase", "Pending")


def persistent_volume(obj: JsonObject) -> None:
    spec = child(obj, "spec")
    if spec is not None:
        put(spec, "persistentVolumeReclaimPolicy", "Retain")
        put(spec, "volumeMode", "Filesystem")
    status = child(obj, "status")
    if status is not None:
        put(status, "phase", "Pending")


def endpoints(obj: JsonObject) -> None:
    for subset in items(obj, "subsets"):
        for port in items(subset, "ports"):
            put(port, "protocol", "TCP")


def endpoint_slice(obj: JsonObject) -> None:
    for port in items(obj, "ports"):
        put(port, "protocol", "TCP")  # discovery/v1 SetDefaults_EndpointPort (name "" too)
        if port.get("name") is None:
            port["name"] = ""


def namespace(obj: JsonObject) -> None:
    """SetDefaults_Namespace: the kubernetes.io/metadata.name label (named namespaces only)."""
    meta = child(obj, "metadata")
    name = meta.get("name") if meta is not None else None
    if meta is not None and isinstance(name, str) and name:
        labels = child(meta, "labels")
        if labels is not None:
            labels["kubernetes.io/metadata.name"] = name


def node(obj: JsonObject) -> None:
    status = child(obj, "status", create=False)
    if status is not None and status.get("allocatable") is None and status.get("capacity"):
        status["allocatable"] = status["capacity"]


def limit_range(obj: JsonObject) -> None:
    """SetDefaults_LimitRangeItem: a Container item's default from max, defaultRequest from
    default then min."""
    for item in items(child(obj, "spec", create=False), "limits"):
        if item.get("type") != "Container":
            continue
        default, request = child(item, "default"), child(item, "defaultRequest")
        if default is None or request is None:
            continue
        for key, value in (child(item, "max", create=False) or {}).items():
            default.setdefault(key, value)
        for key, value in default.items():
            request.setdefault(key, value)
        for key, value in (child(item, "min", create=False) or {}).items():
            request.setdefault(key, value)


def network_policy(obj: JsonObject) -> None:
    """networking/v1 SetDefaults_NetworkPolicyPort (TCP) and SetDefaults_NetworkPolicy
    (policyTypes: Ingress, and Egress when there are egress rules)."""
    spec = child(obj, "spec")
    if spec is None:
        return
    for direction in ("ingress", "egress"):
        for rule in items(spec, direction):
            for port in items(rule, "ports"):
                put(port, "protocol", "TCP")
    if not spec.get("policyTypes"):
        types = ["Ingress"]
        if spec.get("egress"):
            types.append("Egress")
        spec["policyTypes"] = types


def ingress(obj: JsonObject) -> None:
    child(child(obj, "status"), "loadBalancer")  # structs: always encoded


def priority_class(obj: JsonObject) -> None:
    put(obj, "preemptionPolicy", "PreemptLowerPriority")


def pod_disruption_budget(obj: JsonObject) -> None:
    status = child(obj, "status")
    if status is not None:
        for key in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
            if status.get(key) is None:
                status[key] = 0


def role_binding(obj: JsonObject) -> None:
    """rbac/v1 SetDefaults_*RoleBinding and SetDefaults_Subject."""
    ref = child(obj, "roleRef", create=False)
    if ref is not None:
        put(ref, "apiGroup", RBAC_GROUP)
    for subject in items(obj, "subjects"):
        if subject.get("apiGroup") is None and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


def _scaling_rules(rules: JsonObject | None, defaults: JsonObject) -> JsonObject:
    """copyHPAScalingRules: the given fields over the defaults."""
    out = dict(defaults)
    for key in ("selectPolicy", "stabilizationWindowSeconds", "policies", "tolerance"):
        if rules is not None and rules.get(key) is not None:
            out[key] = rules[key]
    return out


def horizontal_pod_autoscaler(obj: JsonObject) -> None:
    """autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: minReplicas 1, 80% CPU when no
    metric is given, and a given `behavior` completed with the default scaling rules."""
    spec = child(obj, "spec")
    if spec is None:
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        target = {"type": "Utilization", "averageUtilization": 80}
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": target}}]
    status = child(obj, "status")
    if status is not None and status.get("desiredReplicas") is None:
        status["desiredReplicas"] = 0  # int32 without omitempty
    behavior = child(spec, "behavior", create=False)
    if behavior is not None:
        up = [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]
        behavior["scaleUp"] = _scaling_rules(
            child(behavior, "scaleUp", create=False),
            {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": up},
        )
        down = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        behavior["scaleDown"] = _scaling_rules(
            child(behavior, "scaleDown", create=False), {"selectPolicy": "Max", "policies": down}
        )


DEFAULTERS: dict[str, Callable[[JsonObject], None]] = {
    "pods": pod,
    "services": service,
    "persistentvolumeclaims": persistent_volume_claim,
    "persistentvolumes": persistent_volume,
    "endpoints": endpoints,
    "endpointslices.discovery.k8s.io": endpoint_slice,
    "namespaces": namespace,
    "nodes": node,
    "limitranges": limit_range,
    "networkpolicies.networking.k8s.io": network_policy,
    "ingresses.networking.k8s.io": ingress,
    "priorityclasses.scheduling.k8s.io": priority_class,
    "poddisruptionbudgets.policy": pod_disruption_budget,
    "horizontalpodautoscalers.autoscaling": horizontal_pod_autoscaler,
    "rolebindings.rbac.authorization.k8s.io": role_binding,
    "clusterrolebindings.rbac.authorization.k8s.io": role_binding,
}
