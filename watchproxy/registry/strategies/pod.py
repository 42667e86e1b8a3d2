"""Pods (kube: pkg/registry/core/pod/strategy.go, storage/storage.go).

Graceful deletion: a pod bound to a node gets a grace period (the request's, else
`spec.terminationGracePeriodSeconds`, default 30) and stays until its kubelet deletes it again
with grace 0; unbound and finished (Succeeded/Failed) pods go at once. Tenancy: a pod may only be
bound to a node of its own tenant, or to a shared (unlabelled) node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from watchproxy.registry.admission import check_node_tenancy
from watchproxy.registry.decoding import TypedDecode
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.pod_admission import default_tolerations, resolve_priority
from watchproxy.registry.strategies.pod_status import pod_status_update_causes
from watchproxy.registry.strategies.podspec import as_dict, pod_spec_causes, pod_update_causes
from watchproxy.registry.strategy import JsonObject, Strategy, register

if TYPE_CHECKING:
    from watchproxy.registry.store import Store

DEFAULT_TERMINATION_GRACE = 30  # SetDefaults_PodSpec


def qos_class(spec: Any) -> str:
    """qos.GetPodQOS, simplified to the containers' own requests and limits: Guaranteed when
    every container limits cpu and memory with requests equal to limits, BestEffort when none
    asks for anything, else Burstable."""
    containers = []
    for key in ("initContainers", "containers"):
        found = as_dict(spec).get(key)
        containers += [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []
    asked, guaranteed = False, True
    for c in containers:
        resources = as_dict(c.get("resources"))
        requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
        asked = asked or bool(requests) or bool(limits)
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                guaranteed = False
    if not asked:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


@register("pods")
class PodStrategy(Strategy):
    return_deleted_object = True
    kube_validation = True

    def prepare_for_create(self, obj: JsonObject) -> None:
        """PrepareForCreate: status is {phase: Pending, qosClass} whatever the client sent."""
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec"))}
        default_tolerations(obj)

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """podStatusStrategy GetResetFields: /status never sets spec, the deletionTimestamp or
        ownerReferences (pod/strategy.go: old kubelets corrupted them)."""
        if subresource == "status":
            return (("spec",), ("metadata", "deletionTimestamp"), ("metadata", "ownerReferences"))
        return super().reset_fields(subresource)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        if subresource == "binding":
            return  # the binding handler builds the whole new pod from the stored one
        super().prepare_for_update(new, old, subresource)
        if subresource == "status":
            # podStatusStrategy.PrepareForUpdate: the QoS class is set at creation and
            # immutable; old kubelets dropped it from rejected pods, so an empty one is
            # backfilled rather than refused.
            if new.get("status") is None:
                new["status"] = {}
            status, old_status = new.get("status"), old.get("status")
            if (
                isinstance(status, dict)
                and isinstance(old_status, dict)
                and not status.get("qosClass")
                and old_status.get("qosClass")
            ):
                status["qosClass"] = old_status["qosClass"]

    def check_graceful_delete(self, obj: JsonObject, grace: int | None) -> int | None:
        spec: dict[str, Any] = obj.get("spec") or {}
        status: dict[str, Any] = obj.get("status") or {}
        if grace is not None:
            period = grace
        else:
            default = spec.get("terminationGracePeriodSeconds")
            period = (
                default
                if isinstance(default, int) and not isinstance(default, bool)
                else DEFAULT_TERMINATION_GRACE
            )
        if not spec.get("nodeName"):
            period = 0  # never scheduled: nothing runs it
        if status.get("phase") in ("Succeeded", "Failed"):
            period = 0  # already terminated
        return max(period, 1) if period < 0 else period

    def validate(self, obj: JsonObject) -> list[Cause]:
        """The typed decode kube makes first (registry/decoding.py): `spec` and `status` are
        objects, `spec.nodeName` a string (400 otherwise)."""
        decode = TypedDecode("Pod", "v1")
        spec = decode.mapping(obj, "spec", "spec", "v1.PodSpec")
        decode.mapping(obj, "status", "status", "v1.PodStatus")
        decode.string(spec, "nodeName", "spec.nodeName")
        return pod_spec_causes("spec", spec)

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        return self.validate(new) + pod_update_causes(new, old)

    def validate_status_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """podStatusStrategy.ValidateUpdate: the status rules only (pod_status.py)."""
        return pod_status_update_causes(new, old)

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        return False  # pods keep generation 1 except for graceful deletion (kube)

    async def verify_written(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        await self.admit(store, obj, old)  # a node of another tenant created meanwhile

    async def admit(self, store: Store, obj: JsonObject, old: JsonObject | None) -> None:
        if old is None:
            await resolve_priority(store, self.resource, obj)
        node = (obj.get("spec") or {}).get("nodeName")
        if not node or (old is not None and (old.get("spec") or {}).get("nodeName") == node):
            return
        meta = obj.get("metadata") or {}
        await check_node_tenancy(
            store,
            self.resource,
            str(meta.get("namespace", "")),
            str(meta.get("name", "")),
            str(node),
        )
