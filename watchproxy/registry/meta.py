"""ObjectMeta validation on create and update (apimachinery
pkg/api/validation/objectmeta.go: ValidateObjectMeta, ValidateObjectMetaUpdate).

Each check returns causes (reason, field, message) so that one 422 names every bad field.
"""

from __future__ import annotations

import re
from typing import Any

from watchproxy.registry.strategy import Cause
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Types whose names are DNS-1123 labels rather than subdomains (their validation.go).
_LABEL_NAMED = frozenset({"namespaces", "services"})


def name_causes(resource: ResourceType, name: str, field: str = "metadata.name") -> list[Cause]:
    """kube's NameIsDNSSubdomain / NameIsDNSLabel (plus the path-segment rule: no '.'/'..')."""
    if name in (".", ".."):
        return [("FieldValueInvalid", field, f"Invalid value: \"{name}\": may not be '{name}'")]
    label_only = resource.plural in _LABEL_NAMED and not resource.group
    pattern = _DNS1123_LABEL if label_only else _DNS1123_SUBDOMAIN
    limit = 63 if label_only else 253
    if len(name) > limit:
        return [
            (
                "FieldValueInvalid",
                field,
                f'Invalid value: "{name}": must be no more than {limit} characters',
            )
        ]
    if not pattern.match(name):
        kind_of = "RFC 1123 label" if label_only else "RFC 1123 subdomain"
        return [
            (
                "FieldValueInvalid",
                field,
                f'Invalid value: "{name}": a lowercase {kind_of} must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )
        ]
    return []


def validate_object_meta(resource: ResourceType, obj: JsonObject) -> list[Cause]:
    """ValidateObjectMeta of a new object (name already set or generated)."""
    meta = obj.get("metadata") or {}
    return name_causes(resource, str(meta.get("name", "")))


def validate_object_meta_update(new: JsonObject, old: JsonObject) -> list[Cause]:
    """ValidateObjectMetaUpdate: finalizers may not be added once deletion has started."""
    new_meta, old_meta = new.get("metadata") or {}, old.get("metadata") or {}
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = [
            f
            for f in new_meta.get("finalizers") or []
            if f not in (old_meta.get("finalizers") or [])
        ]
        if added:
            shown = "[]string{" + ", ".join(f'"{f}"' for f in added) + "}"
            causes.append(
                (
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {shown}",
                )
            )
    return causes
