"""CustomResourceDefinitions (kube: apiextensions-apiserver pkg/registry/customresourcedefinition/
strategy.go, and the common rules of pkg/apis/apiextensions/validation/validation.go).

Create resets `status` (storedVersions starts with the storage version); the main resource
ignores status and the `/status` subresource changes only status (the generic Strategy). A CRD
belongs to no tenant: it is stored once, on the default shard (docs/decisions/0015), so a
`watchproxy.io/tenant` label is refused. The schema checks here are the basic structural ones
(a type at the root and on every property, no `uniqueItems`, no `properties` next to
`additionalProperties`); the schema engine (watchproxy/schema/structural.py) does the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from watchproxy.core.validation import (
    dns1035_label_errors,
    dns1123_subdomain_errors,
    field_invalid,
    go_quote,
    invalid_value,
    not_supported,
)
from watchproxy.registry.deletion import timestamp
from watchproxy.registry.errors import Cause
from watchproxy.registry.options import DeleteOptions
from watchproxy.registry.strategy import JsonObject, Strategy, register
from watchproxy.resources import TENANT_LABEL
from watchproxy.schema.crd import is_condition_true, set_condition, storage_version
from watchproxy.schema.structural import CustomResourceSchema

# apiextensions.CustomResourceCleanupFinalizer: the finalizer controller deletes the instances.
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

SCOPES = ("Cluster", "Namespaced")
# printerColumnDatatypes and customResourceColumnDefinitionFormats of validation.go.
COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
COLUMN_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")


def required(path: str, detail: str = "") -> Cause:
    return ("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def forbidden(path: str, detail: str) -> Cause:
    return ("FieldValueForbidden", path, f"Forbidden: {detail}")


def _complex(value: Any) -> str:
    """A non-string bad value as apimachinery prints it (JSON)."""
    return orjson.dumps(value).decode()


@register("customresourcedefinitions.apiextensions.k8s.io")
class CustomResourceDefinitionStrategy(Strategy):
    kube_validation = True  # apiextensions validation.go's common rules (validate below)

    def prepare_for_create(self, obj: JsonObject) -> None:
        """strategy.go PrepareForCreate: a fresh status whose storedVersions is the storage
        version."""
        version = storage_version(obj)
        stored = [version["name"]] if version and isinstance(version.get("name"), str) else []
        obj["status"] = {
            "acceptedNames": {"plural": "", "kind": ""},
            "storedVersions": stored,
        }
        self.apply_defaults(obj)

    def prepare_for_update(self, new: JsonObject, old: JsonObject, subresource: str) -> None:
        """The generic status split, then PrepareForUpdate's storedVersions: the storage
        version is added when it changes."""
        super().prepare_for_update(new, old, subresource)
        if subresource == "status":
            return
        version = storage_version(new)
        status = new.get("status")
        if version is None or not isinstance(status, dict):
            return
        stored = list(status.get("storedVersions") or [])
        if version.get("name") not in stored:
            status["storedVersions"] = [*stored, version.get("name")]

    def begin_delete(
        self, obj: JsonObject, options: DeleteOptions, now: datetime
    ) -> JsonObject | None:
        """customresourcedefinition/etcd.go Delete: the first DELETE only marks the CRD --
        deletionTimestamp, the cleanup finalizer, Terminating -- and answers it; the finalizer
        controller deletes the instances and removes the finalizer (controllers/crd_status.py)."""
        meta = obj.setdefault("metadata", {})
        if meta.get("deletionTimestamp"):
            return None  # already terminating: the generic path (kept until finalized)
        meta["deletionTimestamp"] = timestamp(now)
        finalizers = list(meta.get("finalizers") or [])
        if CLEANUP_FINALIZER not in finalizers:
            meta["finalizers"] = [*finalizers, CLEANUP_FINALIZER]
        set_condition(
            obj,
            "Terminating",
            "True",
            "InstanceDeletionPending",
            "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
            timestamp(now),
        )
        return obj

    def validate(self, obj: JsonObject) -> list[Cause]:
        """ValidateCustomResourceDefinition's common rules (the object is v1)."""
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        assert isinstance(names, dict)
        causes: list[Cause] = []
        name = str(meta.get("name", ""))
        if name != f"{names.get('plural', '')}.{spec.get('group', '')}":
            causes.append(
                invalid_value("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
            )
        if TENANT_LABEL in (meta.get("labels") or {}):
            causes.append(
                forbidden(
                    f"metadata.labels[{TENANT_LABEL}]",
                    "a CustomResourceDefinition belongs to no tenant: it is stored once, on the "
                    "default shard",
                )
            )
        causes += _spec_causes(spec, names)
        causes += names_causes(_dict((obj.get("status") or {}).get("acceptedNames")), "status")
        return causes

    def validate_update(self, new: JsonObject, old: JsonObject) -> list[Cause]:
        """ValidateCustomResourceDefinitionUpdate: group and plural never change; scope and
        kind not once Established; every stored version stays in spec.versions."""
        causes = self.validate(new)
        spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
        names, old_names = _dict(spec.get("names")), _dict(old_spec.get("names"))
        immutable = [
            ("spec.group", spec.get("group"), old_spec.get("group")),
            ("spec.names.plural", names.get("plural"), old_names.get("plural")),
        ]
        if is_condition_true(old, "Established"):
            immutable += [
                ("spec.scope", spec.get("scope"), old_spec.get("scope")),
                ("spec.names.kind", names.get("kind"), old_names.get("kind")),
            ]
        for path, value, was in immutable:
            if value != was:
                causes.append(field_invalid(path, go_quote(str(value)), "field is immutable"))
        versions = {v.get("name") for v in _versions(spec)}
        for i, stored in enumerate(_dict(new.get("status")).get("storedVersions") or []):
            if stored not in versions:
                causes.append(
                    invalid_value(
                        f"status.storedVersions[{i}]", str(stored), "must appear in spec.versions"
                    )
                )
        return causes


def _dict(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _versions(spec: JsonObject) -> list[JsonObject]:
    return [v for v in spec.get("versions") or [] if isinstance(v, dict)]


def _spec_causes(spec: JsonObject, names: JsonObject) -> list[Cause]:
    causes: list[Cause] = []
    group = str(spec.get("group") or "")
    if not group:
        causes.append(required("spec.group"))
    elif errs := dns1123_subdomain_errors(group):
        causes.append(invalid_value("spec.group", group, ",".join(errs)))
    elif "." not in group:
        causes.append(
            invalid_value("spec.group", group, "should be a domain with at least one dot")
        )
    scope = str(spec.get("scope") or "")
    if not scope:
        causes.append(required("spec.scope"))
    elif scope not in SCOPES:
        causes.append(not_supported("spec.scope", scope, SCOPES))
    causes += _versions_causes(spec)
    for field in ("plural", "singular", "kind", "listKind"):
        if not names.get(field):
            causes.append(required(f"spec.names.{field}"))
    causes += names_causes(names, "spec")
    if spec.get("preserveUnknownFields") is True:
        causes.append(
            invalid_value(
                "spec.preserveUnknownFields",
                "true",
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
                "spec.versions[*].schema instead",
            )
        )
    return causes


def names_causes(names: JsonObject, at: str) -> list[Cause]:
    """ValidateCustomResourceDefinitionNames (spec.names and status.acceptedNames)."""
    path = f"{at}.{'names' if at == 'spec' else 'acceptedNames'}"
    causes: list[Cause] = []
    for field in ("plural", "singular"):
        value = str(names.get(field) or "")
        if value and (errs := dns1035_label_errors(value)):
            causes.append(invalid_value(f"{path}.{field}", value, ",".join(errs)))
    for field in ("kind", "listKind"):
        value = str(names.get(field) or "")
        if value and (errs := dns1035_label_errors(value.lower())):
            detail = "may have mixed case, but should otherwise match: " + ",".join(errs)
            causes.append(invalid_value(f"{path}.{field}", value, detail))
    for field in ("shortNames", "categories"):
        for i, value in enumerate(names.get(field) or []):
            if errs := dns1035_label_errors(str(value)):
                causes.append(invalid_value(f"{path}.{field}[{i}]", str(value), ",".join(errs)))
    kind = names.get("kind")
    if kind and kind == names.get("listKind"):
        causes.append(
            invalid_value(f"{path}.listKind", str(kind), "kind and listKind may not be the same")
        )
    return causes


def _versions_causes(spec: JsonObject) -> list[Cause]:
    versions = _versions(spec)
    raw = spec.get("versions") or []
    causes: list[Cause] = []
    if not versions:
        return [
            required("spec.versions", "must have exactly one version marked as storage version")
        ]
    seen: set[str] = set()
    for i, version in enumerate(versions):
        at = f"spec.versions[{i}]"
        name = str(version.get("name") or "")
        if errs := dns1035_label_errors(name):
            causes.append(invalid_value(f"{at}.name", name, ",".join(errs)))
        if name in seen:
            causes.append(
                ("FieldValueDuplicate", f"{at}.name", f"Duplicate value: {go_quote(name)}")
            )
        seen.add(name)
        schema = _dict(version.get("schema")).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            causes.append(required(f"{at}.schema.openAPIV3Schema", "schemas are required"))
        else:
            causes += _schema_all_causes(schema, f"{at}.schema.openAPIV3Schema")
        causes += _subresources_causes(_dict(version.get("subresources")), f"{at}.subresources")
        for j, column in enumerate(version.get("additionalPrinterColumns") or []):
            causes += _column_causes(_dict(column), f"{at}.additionalPrinterColumns[{j}]")
    if sum(1 for v in versions if v.get("storage") is True) != 1:
        causes.append(
            field_invalid(
                "spec.versions",
                _complex(raw),
                "must have exactly one version marked as storage version",
            )
        )
    if not any(v.get("served") is True for v in versions):
        causes.append(
            field_invalid(
                "spec.versions", _complex(raw), "must have at least one version marked as served"
            )
        )
    return causes


def schema_causes(schema: JsonObject, path: str, *, root: bool = False) -> list[Cause]:
    """The basic structural rules (apiextensions pkg/apiserver/schema/validation.go): a type at
    the root and on every property and item unless x-kubernetes-int-or-string or
    x-kubernetes-preserve-unknown-fields says otherwise; no uniqueItems; properties and
    additionalProperties exclusive."""
    causes: list[Cause] = []
    free = schema.get("x-kubernetes-int-or-string") or schema.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if not schema.get("type") and not free:
        where = "at the root" if root else "for specified object fields"
        causes.append(required(f"{path}.type", f"must not be empty {where}"))
    if root and schema.get("type") not in (None, "object"):
        causes.append(
            invalid_value(f"{path}.type", str(schema["type"]), "must be object at the root")
        )
    if schema.get("uniqueItems") is True:
        causes.append(
            forbidden(
                f"{path}.uniqueItems",
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        )
    additional = schema.get("additionalProperties")
    if schema.get("properties") and (additional is False or isinstance(additional, dict)):
        causes.append(
            forbidden(
                f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive",
            )
        )
    for key, child in _dict(schema.get("properties")).items():
        if isinstance(child, dict):
            causes += schema_causes(child, f"{path}.properties[{key}]")
    if isinstance(additional, dict):
        causes += schema_causes(additional, f"{path}.additionalProperties")
    if isinstance(schema.get("items"), dict):
        causes += schema_causes(schema["items"], f"{path}.items")
    return causes


def _schema_all_causes(schema: JsonObject, path: str) -> list[Cause]:
    """The structural basics, then -- if they hold -- what the schema engine cannot compile:
    a pattern that is no regular expression, CEL rules that do not compile (kube:
    "error building validator", and the CEL compilation errors of the CRD's validation), and
    defaults the schema refuses (defaulting/validation.go)."""
    causes = schema_causes(schema, path, root=True)
    if causes:
        return causes
    try:
        engine = CustomResourceSchema(schema)
    except ValueError as exc:
        return [field_invalid(path, '""', f"error building validator: {exc}")]
    return engine.compile_errors(path) + engine.default_causes(path)


def _subresources_causes(subresources: JsonObject, path: str) -> list[Cause]:
    """ValidateCustomResourceDefinitionSubresources: scale's paths."""
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return []
    causes: list[Cause] = []
    for field, under in (("specReplicasPath", ".spec"), ("statusReplicasPath", ".status")):
        value = str(scale.get(field) or "")
        if not value:
            causes.append(required(f"{path}.scale.{field}"))
        elif not value.startswith(under + "."):
            causes.append(
                invalid_value(
                    f"{path}.scale.{field}", value, f"should be a json path under {under}"
                )
            )
    selector = scale.get("labelSelectorPath")
    if selector and not str(selector).startswith((".spec.", ".status.")):
        causes.append(
            invalid_value(
                f"{path}.scale.labelSelectorPath",
                str(selector),
                "should be a json path under either .spec or .status",
            )
        )
    return causes


def _column_causes(column: JsonObject, path: str) -> list[Cause]:
    """ValidateCustomResourceColumnDefinition."""
    causes: list[Cause] = []
    if not column.get("name"):
        causes.append(required(f"{path}.name"))
    kind = str(column.get("type") or "")
    if not kind:
        causes.append(required(f"{path}.type", f"must be one of {', '.join(COLUMN_TYPES)}"))
    elif kind not in COLUMN_TYPES:
        causes.append(not_supported(f"{path}.type", kind, COLUMN_TYPES))
    fmt = str(column.get("format") or "")
    if fmt and fmt not in COLUMN_FORMATS:
        causes.append(not_supported(f"{path}.format", fmt, COLUMN_FORMATS))
    json_path = str(column.get("jsonPath") or "")
    if not json_path:
        causes.append(required(f"{path}.JSONPath"))
    elif not json_path.startswith("."):
        causes.append(
            invalid_value(
                f"{path}.JSONPath", json_path, "must be a simple json path starting with ."
            )
        )
    return causes
