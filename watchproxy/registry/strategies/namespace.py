"""Namespaces (kube: pkg/registry/core/namespace/strategy.go and storage/storage.go).

DELETE does not remove a namespace: it sets `deletionTimestamp` and `status.phase: Terminating`
(watchers see MODIFIED). The namespace controller empties it, then removes the `kubernetes`
finalizer from `spec.finalizers` through `/finalize`, and deletes it again; only then, with
`spec.finalizers` and `metadata.finalizers` both empty, is the key removed.
"""

from __future__ import annotations

from datetime import datetime

from watchproxy.api.status import ApiError
from watchproxy.core.validation import field_invalid, go_quote
from watchproxy.registry.deletion import gc_finalizers, timestamp
from watchproxy.registry.errors import Cause, forbidden, precondition_conflict
from watchproxy.registry.meta import finalizer_name_causes
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.strategy import JsonObject, Strategy, register

FINALIZER_KUBERNETES = "kubernetes"  # v1.FinalizerKubernetes
# NamespaceLifecycle admission refuses to delete these (plugin/pkg/admission/namespace/lifecycle);
# the built-in controllers keep their Leases in kube-system.
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


@register("namespaces")
class NamespaceStrategy(Strategy):
    kube_validation = True
    return_deleted_object = True  # namespace/storage/storage.go: ReturnDeletedObject

    def prepare_for_create(self, obj: JsonObject) -> None:
        self.apply_defaults(obj)  # the kubernetes.io/metadata.name label
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            spec = obj["spec"] = {}
        finalizers = [f for f in spec.get("finalizers") or [] if f != FINALIZER_KUBERNETES]
        spec["finalizers"] = [*finalizers, FINALIZER_KUBERNETES]
        obj["status"] = {"phase": "Active"}

    def reset_fields(self, subresource: str) -> tuple[tuple[str, ...], ...]:
        """namespaceFinalizeStrategy GetResetFields: /finalize never sets status."""
        if subresource == "finalize":
            return (("status",),)
        return super().reset_fields(subresource)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        self.apply_defaults(new)
        old_spec = old.get("spec") or {}
        if subresource == "finalize":
            # The finalize strategy: only spec.finalizers come from the request.
            finalizers = (new.get("spec") or {}).get("finalizers") or []
            new.clear()
            new.update({k: v for k, v in old.items() if k != "metadata"})
            new["metadata"] = dict(old.get("metadata") or {})
            new["spec"] = {**old_spec, "finalizers": finalizers}
            return
        if subresource == "status":
            status = new.get("status")
            meta = new.get("metadata") or {}
            new.clear()
            new.update({k: v for k, v in old.items() if k not in ("status", "metadata")})
            new["metadata"] = meta
            if status is not None:
                new["status"] = status
            return
        spec = new.get("spec")
        if not isinstance(spec, dict):
            spec = new["spec"] = {}
        spec["finalizers"] = old_spec.get("finalizers") or []
        if "status" in old:
            new["status"] = old["status"]

    def generation_changes(self, new: JsonObject, old: JsonObject) -> bool:
        return False

    def validate(self, obj: JsonObject) -> list[Cause]:
        """ValidateNamespace's spec: every `spec.finalizers[i]` a valid finalizer name."""
        finalizers = (obj.get("spec") or {}).get("finalizers") or []
        causes: list[Cause] = []
        for i, name in enumerate(finalizers):
            causes += finalizer_name_causes(f"spec.finalizers[{i}]", str(name))
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """ValidateNamespaceUpdate / StatusUpdate / FinalizeUpdate: the finalizer names, and a
        phase that matches the deletion state -- `Active` until deletionTimestamp is set,
        `Terminating` after (else a PATCH of /status could lock the namespace forever)."""
        causes = self.validate(new)
        deleting = bool((new.get("metadata") or {}).get("deletionTimestamp"))
        phase = (new.get("status") or {}).get("phase")
        if phase and not deleting and phase != "Active":
            causes.append(
                field_invalid(
                    "status.Phase",
                    go_quote(str(phase)),
                    "may only be 'Active' if `deletionTimestamp` is empty",
                )
            )
        elif phase and deleting and phase != "Terminating":
            causes.append(
                field_invalid(
                    "status.Phase",
                    go_quote(str(phase)),
                    "may only be in terminating phase if `deletionTimestamp` is not empty",
                )
            )
        return causes

    def begin_delete(
        self, obj: JsonObject, options: DeleteOptions, now: datetime
    ) -> JsonObject | None:
        meta = obj.setdefault("metadata", {})
        name = str(meta.get("name", ""))
        if name in IMMORTAL_NAMESPACES:
            raise forbidden(self.resource, name, "this namespace may not be deleted")
        if meta.get("deletionTimestamp"):
            return None  # already terminating: the generic path (blocked until finalized)
        meta["deletionTimestamp"] = timestamp(now)
        obj["status"] = {**(obj.get("status") or {}), "phase": "Terminating"}
        changed, finalizers = gc_finalizers(obj, options)
        if changed:
            meta["finalizers"] = finalizers
        return obj

    def precondition_failed(self, name: str, field: str, wanted: str, actual: str) -> ApiError:
        """namespace storage.go's own Delete checks the preconditions, with storage's words."""
        return precondition_conflict(
            self.resource.plural,
            self.resource.group,
            name,
            f"Precondition failed: {field} in precondition: {wanted}, {field} in object meta: "
            f"{actual}",
        )

    def delete_blocked(self, obj: JsonObject) -> bool:
        return bool((obj.get("spec") or {}).get("finalizers"))
