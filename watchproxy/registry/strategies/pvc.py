"""PersistentVolumeClaims (kube: pkg/registry/core/persistentvolumeclaim/strategy.go;
ValidatePersistentVolumeClaim / ...Update in pkg/apis/core/validation/validation.go): create
clears `status` (the defaults make it `phase: Pending`); at least one supported access mode, a
storage request, a supported volumeMode; after creation only `resources.requests` and
`volumeAttributesClassName` may change in the spec."""

from __future__ import annotations

from watchproxy.core.validation import not_supported
from watchproxy.registry.errors import Cause
from watchproxy.registry.strategies.podspec import as_dict
from watchproxy.registry.strategy import JsonObject, Strategy, register

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")
_MUTABLE = ("resources", "volumeAttributesClassName")


@register("persistentvolumeclaims")
class PersistentVolumeClaimStrategy(Strategy):
    clear_status_on_create = True
    kube_validation = True

    def validate(self, obj: JsonObject) -> list[Cause]:
        spec = as_dict(obj.get("spec"))
        causes: list[Cause] = []
        modes = spec.get("accessModes")
        if not isinstance(modes, list) or not modes:
            causes.append(
                (
                    "FieldValueRequired",
                    "spec.accessModes",
                    "Required value: at least 1 access mode is required",
                )
            )
        else:
            for mode in modes:
                if mode not in ACCESS_MODES:
                    causes.append(not_supported("spec.accessModes", str(mode), ACCESS_MODES))
        requests = as_dict(as_dict(spec.get("resources")).get("requests"))
        if "storage" not in requests and spec.get("dataSourceRef") is None:
            causes.append(("FieldValueRequired", "spec.resources[storage]", "Required value"))
        mode = spec.get("volumeMode")
        if mode is not None and mode not in VOLUME_MODES:
            causes.append(not_supported("spec.volumeMode", str(mode), VOLUME_MODES))
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        causes = self.validate(new)
        new_spec, old_spec = as_dict(new.get("spec")), as_dict(old.get("spec"))
        fixed = (set(new_spec) | set(old_spec)) - set(_MUTABLE)
        if any(new_spec.get(k) != old_spec.get(k) for k in fixed):
            causes.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims",
                )
            )
        return causes
