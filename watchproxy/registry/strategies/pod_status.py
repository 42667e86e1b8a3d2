"""What an update of `pods/NAME/status` validates (kube: pkg/registry/core/pod/strategy.go
podStatusStrategy.ValidateUpdate -> pkg/apis/core/validation ValidatePodStatusUpdate): the
status a kubelet may write, never the spec (the status strategy carried the stored spec over,
so kube does not validate it again). ObjectMeta's update rules are the store's
(registry/meta.py), as kube's rest.BeforeUpdate runs them for every update.

Ported: the typed decode of `status`, custom condition types (qualified names),
`status.nodeName` (a status write never moves the pod), `status.nominatedNodeName` (a DNS
subdomain when it changes), `status.qosClass` (immutable; the strategy backfills it when a
write leaves it empty), container state transitions
(a terminated container that will not restart stays terminated; sidecar init containers, whose
own restartPolicy is Always, may restart), and the pod's and host's IPs (valid, at most one per
family, no duplicates; `podIP` wins over a `podIPs` that disagrees, as the v1 conversion does),
and `status.resourceClaimStatuses` (each names an entry of `spec.resourceClaims`, once).

Not checked, as kube does not check them either (validation.go says so): container statuses
naming no container of the spec, or repeating one; the phase (Succeeded -> Running is taken).
Not ported: the feature-gated user and allocated-resources checks of container statuses.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from watchproxy.core.validation import (
    dns1123_subdomain_errors,
    go_quote,
    invalid_value,
    label_key_errors,
)
from watchproxy.registry.decoding import TypedDecode
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.podspec import as_dict

JsonObject = dict[str, Any]

# validation.IsValidIP's message (apimachinery/pkg/util/validation/ip.go).
INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
NOT_TERMINATED = "Forbidden: may not be transitioned to non-terminated state"
# validatePodConditions: kube's own condition types are not checked, any other must be a
# qualified name.
SYSTEM_CONDITIONS = frozenset({"PodScheduled", "Ready", "Initialized"})
UNKNOWN_CLAIM = "must match the name of an entry in `spec.resourceClaims`"


def pod_status_update_causes(new: JsonObject, old: JsonObject) -> list[Cause]:
    """ValidatePodStatusUpdate's causes for `new` replacing `old` (both whole pods, `new` as
    the status strategy left it), in kube's order. Raises the typed decode's 400 when `status`
    is not an object."""
    TypedDecode("Pod", "v1").mapping(new, "status", "status", "v1.PodStatus")
    spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    status, old_status = as_dict(new.get("status")), as_dict(old.get("status"))
    causes = _condition_types(status.get("conditions"))
    if spec.get("nodeName") != old_spec.get("nodeName"):
        causes.append(
            ("FieldValueForbidden", "status.nodeName", "Forbidden: may not be changed directly")
        )
    nominated = status.get("nominatedNodeName")
    if nominated and nominated != old_status.get("nominatedNodeName"):
        causes += [
            invalid_value("status.nominatedNodeName", str(nominated), msg)
            for msg in dns1123_subdomain_errors(str(nominated))
        ]
    qos, old_qos = status.get("qosClass") or "", old_status.get("qosClass") or ""
    if qos != old_qos:  # ValidateImmutableField
        causes.append(invalid_value("status.qosClass", str(qos), "field is immutable"))
    policy = old_spec.get("restartPolicy") or "Always"
    sidecars = {
        c.get("name")
        for c in old_spec.get("initContainers") or []
        if isinstance(c, dict) and c.get("restartPolicy") == "Always"
    }
    for key, skipped in (
        ("containerStatuses", set()),
        ("initContainerStatuses", sidecars),
        ("ephemeralContainerStatuses", set()),
    ):
        causes += _state_transitions(status.get(key), old_status.get(key), key, policy, skipped)
    causes += _claim_statuses(status.get("resourceClaimStatuses"), spec.get("resourceClaims"))
    causes += _ips(status, "podIP", "podIPs")
    causes += _ips(status, "hostIP", "hostIPs")
    return causes


def _condition_types(conditions: Any) -> list[Cause]:
    """validatePodConditions: a condition type other than kube's own is a qualified name. The
    path is kube's as it is: ValidatePodStatusUpdate passes the `metadata` path, so a cause
    reads `metadata.conditions[0].Type`."""
    causes: list[Cause] = []
    for i, condition in enumerate(conditions if isinstance(conditions, list) else ()):
        kind = str(as_dict(condition).get("type") or "")
        if kind in SYSTEM_CONDITIONS:
            continue
        causes += [
            invalid_value(f"metadata.conditions[{i}].Type", kind, msg)
            for msg in label_key_errors(kind)
        ]
    return causes


def _claim_statuses(statuses: Any, claims: Any) -> list[Cause]:
    """validatePodResourceClaimStatuses: each status names an entry of spec.resourceClaims,
    no name twice, and a claim name (when set) is a DNS subdomain."""
    names = {as_dict(c).get("name") for c in claims} if isinstance(claims, list) else set()
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, entry in enumerate(statuses if isinstance(statuses, list) else ()):
        path = f"status.resourceClaimStatuses[{i}].name"
        name = str(as_dict(entry).get("name") or "")
        if name not in names:
            causes.append(invalid_value(path, name, UNKNOWN_CLAIM))
        if name in seen:
            causes.append(("FieldValueDuplicate", path, f"Duplicate value: {go_quote(name)}"))
        seen.add(name)
        claim = as_dict(entry).get("resourceClaimName")
        if claim is not None:
            errors = dns1123_subdomain_errors(str(claim))
            causes += [invalid_value(path, str(claim), msg) for msg in errors]
    return causes


def _state_transitions(new: Any, old: Any, key: str, policy: str, skipped: set[Any]) -> list[Cause]:
    """ValidateContainerStateTransition: with restartPolicy Never (or OnFailure after exit code
    0) a terminated container may not leave that state; the path is the old status' index."""
    if policy == "Always" or not isinstance(old, list) or not isinstance(new, list):
        return []
    causes: list[Cause] = []
    for i, before in enumerate(old):
        terminated = as_dict(as_dict(as_dict(before).get("state")).get("terminated"))
        if not terminated or before.get("name") in skipped:
            continue
        if terminated.get("exitCode", 0) != 0 and policy == "OnFailure":
            continue
        for after in new:
            if as_dict(after).get("name") == before.get("name") and not as_dict(
                as_dict(after).get("state")
            ).get("terminated"):
                causes.append(("FieldValueForbidden", f"status.{key}[{i}].state", NOT_TERMINATED))
    return causes


def _ips(status: JsonObject, single: str, plural: str) -> list[Cause]:
    """validatePodIPs / validateHostIPs over the list the v1 conversion makes: `podIPs`, or
    `[podIP]` when it is missing or disagrees with `podIP`."""
    items = status.get(plural)
    ips = [as_dict(i).get("ip") for i in items] if isinstance(items, list) else []
    first = status.get(single)
    if first and (not ips or ips[0] != first):
        ips = [first]
    path = f"status.{plural}"
    causes: list[Cause] = []
    families: list[int] = []
    for i, ip in enumerate(ips):
        family = ip_family(str(ip or ""))
        if family is None:
            causes.append(invalid_value(f"{path}[{i}]", str(ip or ""), INVALID_IP))
        else:
            families.append(family)
    if len(ips) > 1:
        go_type = "core.HostIP" if plural == "hostIPs" else "core.PodIP"
        shown = [f"{go_type}{{IP:{go_quote(str(ip or ''))}}}" for ip in ips]
        if len(ips) > 2 or len(families) != len(ips) or families[0] == families[1]:
            causes.append(
                (
                    "FieldValueInvalid",
                    path,
                    f"Invalid value: []{go_type}{{{', '.join(shown)}}}: may specify no more "
                    "than one IP for each IP family",
                )
            )
        seen: set[Any] = set()
        for i, ip in enumerate(ips):
            if ip in seen:
                causes.append(
                    ("FieldValueDuplicate", f"{path}[{i}]", f"Duplicate value: {shown[i]}")
                )
            seen.add(ip)
    return causes


@lru_cache(maxsize=4096)
def ip_family(text: str) -> int | None:
    """4 or 6 for an IP address (IsValidIP), None for anything else. Cached: a node's pods
    report the same few host IPs on every status write."""
    if "%" in text:
        return None  # an IPv6 zone: Python takes it, Go's net.ParseIP does not
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return None
