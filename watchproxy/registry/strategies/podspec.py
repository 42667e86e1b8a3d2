"""PodSpec validation shared by Pods and every pod template (kube:
pkg/apis/core/validation/validation.go ValidatePodSpec, validateContainers,
validateContainerPorts, validateRestartPolicy, validateDNSPolicy, ValidateVolumes; per-container
resources, probes, volumeMounts and env sources in containers.py) -- the rules
controllers and kubectl flows hit, not all of ValidatePodSpec. Field paths and messages are
kube's; `path` is where the spec sits ("spec", "spec.template.spec", ...). Also
ValidatePodUpdate's spec rule: what an update of a Pod may change (`pod_update_causes`).
"""

from __future__ import annotations

from typing import Any

from watchproxy.core.validation import (
    dns1123_label_errors,
    field_invalid,
    go_quote,
    invalid_value,
    not_supported,
)
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.containers import container_rule_causes

JsonObject = dict[str, Any]

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
INT32_MAX = 2**31 - 1
PORT_RANGE = "must be between 1 and 65535, inclusive"


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one (a wrong type is refused elsewhere)."""
    return value if isinstance(value, dict) else {}


def required(path: str) -> Cause:
    return ("FieldValueRequired", path, "Required value")


def duplicate(path: str, value: str) -> Cause:
    return ("FieldValueDuplicate", path, f"Duplicate value: {go_quote(value)}")


def port_causes(path: str, value: Any) -> list[Cause]:
    """validation.IsValidPortNum of an int field (1-65535)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return []
    return [field_invalid(path, str(value), PORT_RANGE)]


def _name_causes(path: str, name: Any) -> list[Cause]:
    if not name:
        return [required(path)]
    return [invalid_value(path, str(name), m) for m in dns1123_label_errors(str(name))]


def container_causes(
    path: str, c: Any, seen: set[str], volumes: set[str] | None = None
) -> list[Cause]:
    """validateContainers (one entry): name (a unique DNS-1123 label), image, pull policy,
    ports, and (containers.py) env sources, volumeMounts naming one of `volumes`, probes,
    resources."""
    if not isinstance(c, dict):
        return [field_invalid(path, "null", "must be an object")]
    causes = _name_causes(f"{path}.name", c.get("name"))
    name = str(c.get("name") or "")
    if name and name in seen:
        causes.append(duplicate(f"{path}.name", name))
    seen.add(name)
    image = c.get("image")
    if not isinstance(image, str) or not image.strip():
        causes.append(required(f"{path}.image"))
    policy = c.get("imagePullPolicy")
    if policy not in (None, *PULL_POLICIES):
        causes.append(not_supported(f"{path}.imagePullPolicy", str(policy), PULL_POLICIES))
    ports = c.get("ports")
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        if not isinstance(port, dict):
            continue
        where = f"{path}.ports[{i}]"
        causes += port_causes(f"{where}.containerPort", port.get("containerPort"))
        if port.get("hostPort") not in (None, 0):
            causes += port_causes(f"{where}.hostPort", port.get("hostPort"))
        protocol = port.get("protocol")
        if protocol not in (None, *PROTOCOLS):
            causes.append(not_supported(f"{where}.protocol", str(protocol), PROTOCOLS))
    return causes + container_rule_causes(path, c, volumes or set())


def pod_spec_causes(
    path: str,
    spec: Any,
    restart_policies: tuple[str, ...] = RESTART_POLICIES,
    claim_volumes: frozenset[str] = frozenset(),
) -> list[Cause]:
    """ValidatePodSpec's common rules: at least one container, valid containers and init
    containers (names unique across both), a supported restartPolicy and dnsPolicy, unique
    DNS-1123 volume names. `claim_volumes` are the names a StatefulSet's volumeClaimTemplates
    add (volumeMounts may name them; kube does not validate that pod spec at all)."""
    if not isinstance(spec, dict):
        return [required(f"{path}.containers")]
    causes: list[Cause] = []
    seen: set[str] = set()
    volumes = spec.get("volumes")
    volume_names = {
        str(v.get("name"))
        for v in (volumes if isinstance(volumes, list) else [])
        if isinstance(v, dict) and v.get("name")
    } | claim_volumes
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append(required(f"{path}.containers"))
    for key in ("initContainers", "containers"):
        entries = spec.get(key)
        for i, c in enumerate(entries if isinstance(entries, list) else []):
            causes += container_causes(f"{path}.{key}[{i}]", c, seen, volume_names)
    restart = spec.get("restartPolicy")
    if restart not in (None, "") and restart not in restart_policies:
        causes.append(not_supported(f"{path}.restartPolicy", str(restart), restart_policies))
    elif restart in (None, "") and restart_policies != RESTART_POLICIES:
        causes.append(required(f"{path}.restartPolicy"))
    dns = spec.get("dnsPolicy")
    if dns not in (None, "", *DNS_POLICIES):
        causes.append(not_supported(f"{path}.dnsPolicy", str(dns), DNS_POLICIES))
    names: set[str] = set()
    for i, v in enumerate(volumes if isinstance(volumes, list) else []):
        name = v.get("name") if isinstance(v, dict) else None
        causes += _name_causes(f"{path}.volumes[{i}].name", name)
        if name and name in names:
            causes.append(duplicate(f"{path}.volumes[{i}].name", str(name)))
        names.add(str(name or ""))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and not isinstance(grace, bool) and grace < 0:
        causes.append(
            field_invalid(
                f"{path}.terminationGracePeriodSeconds",
                str(grace),
                "must be greater than or equal to 0",
            )
        )
    active = spec.get("activeDeadlineSeconds")
    if isinstance(active, int) and not isinstance(active, bool) and not 1 <= active <= INT32_MAX:
        causes.append(
            field_invalid(
                f"{path}.activeDeadlineSeconds",
                str(active),
                f"must be between 1 and {INT32_MAX}, inclusive",
            )
        )
    return causes


POD_UPDATE_FORBIDDEN = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
    "set to 1 if it was previously negative)"
)


def _frozen_spec(spec: JsonObject, old: JsonObject) -> JsonObject:
    """`spec` with what an update may change replaced by `old`'s values (ValidatePodUpdate's
    mungedPodSpec)."""
    out = dict(spec)
    for key in ("containers", "initContainers"):
        new_list, old_list = spec.get(key), old.get(key)
        if isinstance(new_list, list) and isinstance(old_list, list):
            if len(new_list) == len(old_list):
                out[key] = [
                    {**n, "image": o.get("image")}
                    if isinstance(n, dict) and isinstance(o, dict)
                    else n
                    for n, o in zip(new_list, old_list, strict=True)
                ]
    active, old_active = spec.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if isinstance(active, int) and (old_active is None or active <= old_active):
        out["activeDeadlineSeconds"] = old_active
    tolerations, old_tolerations = spec.get("tolerations") or [], old.get("tolerations") or []
    if isinstance(tolerations, list) and all(t in tolerations for t in old_tolerations):
        out["tolerations"] = old.get("tolerations")  # additions only
    grace, old_grace = (
        spec.get("terminationGracePeriodSeconds"),
        old.get("terminationGracePeriodSeconds"),
    )
    if grace == 1 and isinstance(old_grace, int) and old_grace < 0:
        out["terminationGracePeriodSeconds"] = old_grace
    gates, old_gates = spec.get("schedulingGates") or [], old.get("schedulingGates") or []
    if isinstance(gates, list) and all(g in old_gates for g in gates):
        out["schedulingGates"] = old.get("schedulingGates")  # removals only
    if not old.get("nodeName"):
        out["nodeName"] = old.get("nodeName")  # the binding subresource's one assignment
    return {k: v for k, v in out.items() if v is not None}


def pod_update_causes(new: JsonObject, old: JsonObject) -> list[Cause]:
    """ValidatePodUpdate's spec rule: only images, activeDeadlineSeconds, added tolerations,
    removed scheduling gates (and, through pods/binding, the first nodeName) may change."""
    spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    active, old_active = spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    where = "spec.activeDeadlineSeconds"
    # kube returns at once after any of these three.
    if isinstance(active, int) and not 0 <= active <= INT32_MAX:
        return [field_invalid(where, str(active), f"must be between 0 and {INT32_MAX}, inclusive")]
    if isinstance(active, int) and isinstance(old_active, int) and active > old_active:
        return [field_invalid(where, str(active), "must be less than or equal to previous value")]
    if active is None and old_active is not None:
        return [
            field_invalid(where, "null", "must not update from a positive integer to nil value")
        ]
    frozen = _frozen_spec(spec, old_spec)
    if frozen != {k: v for k, v in old_spec.items() if v is not None}:
        return [("FieldValueForbidden", "spec", POD_UPDATE_FORBIDDEN)]
    return []
