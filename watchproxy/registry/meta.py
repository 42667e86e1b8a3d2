"""ObjectMeta validation on create and update, as kube-apiserver does it for the built-in types.

Sources (kubernetes master, apimachinery and pkg/apis/core):

* apimachinery pkg/api/validation/objectmeta.go: ValidateObjectMetaAccessor (generateName, name,
  labels, annotations, ownerReferences, finalizers), ValidateObjectMetaAccessorUpdate,
  ValidateAnnotations (+ TotalAnnotationSizeLimitB), ValidateOwnerReferences, ValidateFinalizers;
* apimachinery pkg/api/validation/generic.go: NameIsDNSSubdomain / NameIsDNSLabel /
  NameIsDNS1035Label and maskTrailingDash (for generateName);
* apimachinery pkg/apis/meta/v1/validation: ValidateLabels (key: IsQualifiedName, value:
  IsValidLabelValue, both at field `metadata.labels`);
* pkg/apis/core/validation/validation.go: ValidateObjectMeta / ValidateObjectMetaUpdate add
  validateKubeFinalizerName (`metadata.finalizers[i]`: standard name or fully qualified);
  ValidateSecretName etc. pick the name rule per type.

The value rules themselves (IsQualifiedName, IsDNS1123Subdomain, ... with their messages) are
core/validation.py's, shared with the selector parser and the per-type strategies.

Every failed rule is one cause (reason, field, message), as kube's field.ErrorList is: one 422
names every bad field. A field of the wrong JSON type is not a validation failure in kube but a
decoding one, answered 400 BadRequest with Go's message (`Pod in version "v1" cannot be handled
as a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type
string`); so it is here, raised as ApiError by registry/decoding.py's decode_object_meta. A JSON
`null` inside labels or annotations decodes to "" in kube, and is normalised to "" there.

The whole-object limits of core/json_limits.py (nesting depth, int64) are not checked here: a
request body, JSON or protobuf, obeys them once decoded (api/decoding.py), and only a patch can
build an object that breaks them, so api/writes.py checks the patched object.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from watchproxy.core.validation import (
    byte_len,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    field_invalid,
    go_string_slice,
    invalid_value,
    label_key_errors,
    label_value_errors,
)
from watchproxy.registry.decoding import decode_object_meta
from watchproxy.registry.errors import Cause
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * (1 << 10)  # objectmeta.go TotalAnnotationSizeLimitB
# pkg/apis/core/helper standardFinalizers: kubernetes, orphan, foregroundDeletion.
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


# -- names -------------------------------------------------------------------------------------


def _name_rule(resource: ResourceType) -> Callable[[str], list[str]]:
    """The type's ValidateNameFunc: namespaces are DNS-1123 labels (ValidateNamespaceName),
    services DNS-1035 labels (ValidateServiceName), every other built-in a DNS-1123 subdomain."""
    if not resource.group and resource.plural == "namespaces":
        return dns1123_label_errors
    if not resource.group and resource.plural == "services":
        return dns1035_label_errors
    if resource.group == "rbac.authorization.k8s.io":
        # pkg/apis/rbac/validation: ValidateRBACName = path.IsValidPathSegmentName
        # (`system:node`, `system:kube-scheduler` are valid role names).
        return path_segment_errors
    return dns1123_subdomain_errors


def path_segment_errors(name: str) -> list[str]:
    """apimachinery/pkg/api/validation/path/name.go IsValidPathSegmentName."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _mask_trailing_dash(name: str) -> str:
    """generic.go maskTrailingDash, byte for byte (it drops two characters, not one)."""
    return name[:-2] + "a" if name.endswith("-") else name


def name_causes(resource: ResourceType, name: str) -> list[Cause]:
    """The type's name rule on `name`: one `Invalid value` cause per failed check (length,
    format), e.g. `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain
    must consist of ... (e.g. 'example.com', regex used for validation is '...')`.
    '.' and '..' fail every rule's format check, so no name walks the URL space."""
    return [invalid_value("metadata.name", name, msg) for msg in _name_rule(resource)(name)]


def _generate_name_causes(resource: ResourceType, prefix: str) -> list[Cause]:
    """nameFn(generateName, prefix=true): the name rule on the prefix, a trailing '-' masked."""
    return [
        invalid_value("metadata.generateName", prefix, msg)
        for msg in _name_rule(resource)(_mask_trailing_dash(prefix))
    ]


def _meta_of(obj: JsonObject) -> JsonObject:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


# -- the rules ---------------------------------------------------------------------------------


def _label_causes(labels: dict[str, str]) -> list[Cause]:
    """v1validation.ValidateLabels: key and value rules, both at `metadata.labels`."""
    causes: list[Cause] = []
    for key, value in labels.items():
        causes += [invalid_value("metadata.labels", key, msg) for msg in label_key_errors(key)]
        causes += [
            invalid_value("metadata.labels", value, msg) for msg in label_value_errors(value)
        ]
    return causes


def _annotation_causes(annotations: dict[str, str]) -> list[Cause]:
    """ValidateAnnotations: keys are qualified names compared in lower case; keys and values
    together at most 256 KiB (`Too long: may not be more than 262144 bytes`)."""
    causes: list[Cause] = []
    total = 0
    for key, value in annotations.items():
        causes += [
            invalid_value("metadata.annotations", key, msg) for msg in label_key_errors(key.lower())
        ]
        total += byte_len(key) + byte_len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(
            (
                "FieldValueTooLong",
                "metadata.annotations",
                f"Too long: may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT} bytes",
            )
        )
    return causes


def _owner_string(ref: JsonObject) -> str:
    """The gogo-generated `(*OwnerReference).String()` kube prints for a banned owner."""

    def flag(key: str) -> str:
        value = ref.get(key)
        return "nil" if value is None else f"*{'true' if value else 'false'}"

    return (
        f"&OwnerReference{{Kind:{ref.get('kind') or ''},Name:{ref.get('name') or ''},"
        f"UID:{ref.get('uid') or ''},APIVersion:{ref.get('apiVersion') or ''},"
        f"Controller:{flag('controller')},BlockOwnerDeletion:{flag('blockOwnerDeletion')},}}"
    )


def _group_version(api_version: str) -> tuple[str, str] | None:
    """schema.ParseGroupVersion: (group, version), or None when it does not parse."""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return None


def _owner_reference_causes(refs: list[JsonObject]) -> list[Cause]:
    """ValidateOwnerReferences: apiVersion (its version part), kind, name and uid non-empty;
    no Event as owner; at most one controller. Fields are kube's: `metadata.ownerReferences.kind`
    (no index). The controller rule prints the list as JSON where kube prints Go's %#v."""
    field = "metadata.ownerReferences"
    causes: list[Cause] = []
    first_controller = ""
    for ref in refs:
        api_version = str(ref.get("apiVersion") or "")
        kind = str(ref.get("kind") or "")
        gv = _group_version(api_version)
        if gv is None or not gv[1]:
            causes.append(
                invalid_value(f"{field}.apiVersion", api_version, "version must not be empty")
            )
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                causes.append(
                    invalid_value(f"{field}.{key}", str(ref.get(key) or ""), "must not be empty")
                )
        if gv == ("", "v1") and kind == "Event":
            causes.append(
                field_invalid(
                    field, _owner_string(ref), "/v1, Kind=Event is disallowed from being an owner"
                )
            )
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                causes.append(
                    field_invalid(
                        field,
                        orjson.dumps(refs).decode(),
                        'Only one reference can have Controller set to true. Found "true" in '
                        f"references for {first_controller} and {current}",
                    )
                )
            else:
                first_controller = current
    return causes


def kube_meta_rules(resource: ResourceType | None) -> bool:
    """Whether core's ValidateObjectMeta applies (its standard-finalizer rule): every built-in
    type but CustomResourceDefinitions and custom resources, which apiextensions validates
    with apimachinery's ValidateObjectMeta (so `customresourcecleanup.apiextensions.k8s.io`)."""
    return resource is None or (
        resource.custom is None and resource.group != "apiextensions.k8s.io"
    )


def _finalizer_causes(finalizers: list[str], *, create: bool, kube: bool = True) -> list[Cause]:
    """On create, apimachinery's ValidateFinalizers (`metadata.finalizers`: qualified names,
    not both orphan and foregroundDeletion); on create and update, core's
    validateKubeFinalizerName (`metadata.finalizers[i]`: a name without '/' must be standard)."""
    causes: list[Cause] = []
    if create:
        for name in finalizers:
            causes += [
                invalid_value("metadata.finalizers", name, msg) for msg in label_key_errors(name)
            ]
        if "orphan" in finalizers and "foregroundDeletion" in finalizers:
            causes.append(
                field_invalid(
                    "metadata.finalizers",
                    go_string_slice(finalizers),
                    "finalizer orphan and foregroundDeletion cannot be both set",
                )
            )
    for i, name in enumerate(finalizers if kube else ()):
        causes += kube_finalizer_causes(f"metadata.finalizers[{i}]", name)
    return causes


def kube_finalizer_causes(path: str, name: str) -> list[Cause]:
    """core's validateKubeFinalizerName: a name without '/' must be a standard finalizer."""
    if "/" in name or name in STANDARD_FINALIZERS:
        return []
    return [
        invalid_value(
            path, name, "name is neither a standard finalizer name nor is it fully qualified"
        )
    ]


def finalizer_name_causes(path: str, name: str) -> list[Cause]:
    """core's validateFinalizerName (a Namespace's `spec.finalizers[i]`): a qualified name
    (apimachinery ValidateFinalizerName) that is standard or fully qualified."""
    causes = [invalid_value(path, name, msg) for msg in label_key_errors(name)]
    return causes + kube_finalizer_causes(path, name)


def validate_object_meta(resource: ResourceType, obj: JsonObject) -> list[Cause]:
    """ValidateObjectMeta of a new object (name already set or generated), in kube's order:
    generateName, name, labels, annotations, ownerReferences, finalizers. Raises ApiError 400
    for a metadata field of the wrong JSON type."""
    meta = _meta_of(obj)
    labels, annotations, finalizers, refs = decode_object_meta(obj, meta)
    generate_name = meta.get("generateName")
    causes: list[Cause] = []
    if generate_name:
        causes += _generate_name_causes(resource, generate_name)
    causes += name_causes(resource, meta.get("name") or "")
    causes += _label_causes(labels)
    causes += _annotation_causes(annotations)
    causes += _owner_reference_causes(refs)
    causes += _finalizer_causes(finalizers, create=True, kube=kube_meta_rules(resource))
    return causes


def validate_object_meta_update(
    new: JsonObject, old: JsonObject, resource: ResourceType | None = None
) -> list[Cause]:
    """ValidateObjectMetaUpdate: no finalizer added once deletion has started; labels,
    annotations, ownerReferences and the standard-finalizer rule as on create (kube does not
    re-run the qualified-name rule on finalizers here). Raises ApiError 400 for a metadata field
    of the wrong JSON type."""
    new_meta, old_meta = _meta_of(new), _meta_of(old)
    labels, annotations, finalizers, refs = decode_object_meta(new, new_meta)
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = [f for f in finalizers if f not in (old_meta.get("finalizers") or [])]
        if added:
            causes.append(
                (
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {go_string_slice(sorted(set(added)))}",
                )
            )
    causes += _label_causes(labels)
    causes += _annotation_causes(annotations)
    causes += _owner_reference_causes(refs)
    causes += _finalizer_causes(finalizers, create=False, kube=kube_meta_rules(resource))
    return causes
