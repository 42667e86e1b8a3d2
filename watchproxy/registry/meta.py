"""ObjectMeta validation on create and update, as kube-apiserver does it for the built-in types.

Sources (kubernetes master, apimachinery and pkg/apis/core):

* apimachinery pkg/api/validation/objectmeta.go: ValidateObjectMetaAccessor (generateName, name,
  labels, annotations, ownerReferences, finalizers), ValidateObjectMetaAccessorUpdate,
  ValidateAnnotations (+ TotalAnnotationSizeLimitB), ValidateOwnerReferences, ValidateFinalizers;
* apimachinery pkg/api/validation/generic.go: NameIsDNSSubdomain / NameIsDNSLabel /
  NameIsDNS1035Label and maskTrailingDash (for generateName);
* apimachinery pkg/apis/meta/v1/validation: ValidateLabels (key: IsQualifiedName, value:
  IsValidLabelValue, both at field `metadata.labels`);
* apimachinery pkg/util/validation/validation.go and pkg/api/validate/content (IsQualifiedName =
  content.IsLabelKey, IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label; the label helpers are
  shared with the selector parser, watchproxy/core/selectors.py);
* pkg/apis/core/validation/validation.go: ValidateObjectMeta / ValidateObjectMetaUpdate add
  validateKubeFinalizerName (`metadata.finalizers[i]`: standard name or fully qualified);
  ValidateSecretName etc. pick the name rule per type.

Every failed rule is one cause (reason, field, message), as kube's field.ErrorList is: one 422
names every bad field. A field of the wrong JSON type is not a validation failure in kube but a
decoding one, answered 400 BadRequest with Go's message (`Pod in version "v1" cannot be handled
as a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type
string`); so it is here, raised as ApiError. A JSON `null` inside labels or annotations decodes
to "" in kube, and is normalised to "" here.

The store has no other hook on every write, so the two entry points also run the whole-object
limits of core/json_limits.py (nesting depth, int64) on the object about to be stored: a patch can
build an object deeper than any request body was (JSON patch `add` at a deep path).
"""

from __future__ import annotations

from typing import Any, NoReturn

import orjson

from watchproxy.api.status import bad_request
from watchproxy.core.json_limits import object_problems
from watchproxy.core.selectors import (
    _byte_len,
    _go_quote,
    _go_string_slice,
    _is_dns1123_subdomain,
    _label_key_errors,
    _label_value_errors,
    _regex_error,
)
from watchproxy.registry.strategy import Cause
from watchproxy.resources import ResourceType

JsonObject = dict[str, Any]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * (1 << 10)  # objectmeta.go TotalAnnotationSizeLimitB
# pkg/apis/core/helper standardFinalizers: kubernetes, orphan, foregroundDeletion.
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL_ERROR = _regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
_DNS1123_SUBDOMAIN_ERROR = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character",
    _DNS1123_SUBDOMAIN_FMT,
    "example.com",
)
_DNS1035_LABEL_ERROR = _regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character",
    _DNS1035_LABEL_FMT,
    "my-name",
    "abc-123",
)
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_LOWER_ALNUM_DASH = _LOWER_ALNUM | frozenset("-")
_LOWER_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyz")


# -- names -------------------------------------------------------------------------------------


def _is_dns_label(s: str, first: frozenset[str]) -> bool:
    """`^[first]([-a-z0-9]*[a-z0-9])?$` in linear time (names come from request bodies)."""
    if not s or s[0] not in first or s[-1] not in _LOWER_ALNUM:
        return False
    return all(c in _LOWER_ALNUM_DASH for c in s[1:-1])


def _max_len(length: int) -> str:
    """util/validation MaxLenError (names count characters there; label keys count bytes)."""
    return f"must be no more than {length} characters"


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errs = [_max_len(253)] if len(value) > 253 else []
    if not _is_dns1123_subdomain(value):
        errs.append(_DNS1123_SUBDOMAIN_ERROR)
    return errs


def _dns1123_label_errors(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _is_dns_label(value, _LOWER_ALNUM):
        # A valid subdomain that is not a label: the length is checked, so it has dots.
        errs.append(
            "must not contain dots" if _is_dns1123_subdomain(value) else _DNS1123_LABEL_ERROR
        )
    return errs


def _dns1035_label_errors(value: str) -> list[str]:
    errs = [_max_len(63)] if len(value) > 63 else []
    if not _is_dns_label(value, _LOWER_ALPHA):
        errs.append(_DNS1035_LABEL_ERROR)
    return errs


def _name_rule(resource: ResourceType) -> Any:
    """The type's ValidateNameFunc: namespaces are DNS-1123 labels (ValidateNamespaceName),
    services DNS-1035 labels (ValidateServiceName), every other built-in a DNS-1123 subdomain."""
    if not resource.group and resource.plural == "namespaces":
        return _dns1123_label_errors
    if not resource.group and resource.plural == "services":
        return _dns1035_label_errors
    return _dns1123_subdomain_errors


def _mask_trailing_dash(name: str) -> str:
    """generic.go maskTrailingDash, byte for byte (it drops two characters, not one)."""
    return name[:-2] + "a" if name.endswith("-") else name


def name_causes(resource: ResourceType, name: str, field: str = "metadata.name") -> list[Cause]:
    """The type's name rule on `name`: one `Invalid value` cause per failed check (length,
    format), e.g. `metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain
    must consist of ... (e.g. 'example.com', regex used for validation is '...')`.
    '.' and '..' fail every rule's format check, so no name walks the URL space."""
    return [
        ("FieldValueInvalid", field, f"Invalid value: {_go_quote(name)}: {msg}")
        for msg in _name_rule(resource)(name)
    ]


def _generate_name_causes(resource: ResourceType, prefix: str) -> list[Cause]:
    """nameFn(generateName, prefix=true): the name rule on the prefix, a trailing '-' masked."""
    return [
        ("FieldValueInvalid", "metadata.generateName", f"Invalid value: {_go_quote(prefix)}: {m}")
        for m in _name_rule(resource)(_mask_trailing_dash(prefix))
    ]


# -- types (decoding errors, 400) ---------------------------------------------------------------


def _json_type(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _cannot_decode(obj: JsonObject, value: Any, field: str, go_type: str, struct: str) -> NoReturn:
    """Raise the 400 kube's handlers answer when the body does not decode into the Go type
    (handlers/rest.go transformDecodeError + Go's UnmarshalTypeError)."""
    kind = str(obj.get("kind") or "")
    version = str(obj.get("apiVersion") or "").rsplit("/", 1)[-1]
    raise bad_request(
        f"{kind} in version {_go_quote(version)} cannot be handled as a {kind}: json: cannot "
        f"unmarshal {_json_type(value)} into Go struct field {struct}.{field} of type {go_type}"
    )


def _string_map(obj: JsonObject, meta: JsonObject, key: str) -> dict[str, str]:
    """metadata.labels / annotations as map[string]string (null values become "")."""
    value = meta.get(key)
    if value is None:
        meta.pop(key, None)
        return {}
    if not isinstance(value, dict):
        _cannot_decode(obj, value, f"metadata.{key}", "map[string]string", "ObjectMeta")
    for k, v in value.items():
        if v is None:
            value[k] = ""
        elif not isinstance(v, str):
            _cannot_decode(obj, v, f"metadata.{key}", "string", "ObjectMeta")
    return value


def _string_list(obj: JsonObject, meta: JsonObject, key: str) -> list[str]:
    value = meta.get(key)
    if value is None:
        meta.pop(key, None)
        return []
    if not isinstance(value, list):
        _cannot_decode(obj, value, f"metadata.{key}", "[]string", "ObjectMeta")
    for i, item in enumerate(value):
        if item is None:
            value[i] = ""
        elif not isinstance(item, str):
            _cannot_decode(obj, item, f"metadata.{key}", "string", "ObjectMeta")
    return value


_OWNER_STRINGS = ("apiVersion", "kind", "name", "uid")
_OWNER_BOOLS = ("controller", "blockOwnerDeletion")


def _owner_references(obj: JsonObject, meta: JsonObject) -> list[JsonObject]:
    refs = meta.get("ownerReferences")
    if refs is None:
        return []
    field = "metadata.ownerReferences"
    if not isinstance(refs, list):
        _cannot_decode(obj, refs, field, "[]v1.OwnerReference", "ObjectMeta")
    for ref in refs:
        if ref is None:
            continue
        if not isinstance(ref, dict):
            _cannot_decode(obj, ref, field, "v1.OwnerReference", "ObjectMeta")
        for key in _OWNER_STRINGS:
            if ref.get(key) is not None and not isinstance(ref[key], str):
                go_type = "types.UID" if key == "uid" else "string"
                _cannot_decode(obj, ref[key], f"{field}.{key}", go_type, "OwnerReference")
        for key in _OWNER_BOOLS:
            if ref.get(key) is not None and not isinstance(ref[key], bool):
                _cannot_decode(obj, ref[key], f"{field}.{key}", "bool", "OwnerReference")
    return [ref if isinstance(ref, dict) else {} for ref in refs]


def _decoded_meta(
    obj: JsonObject, meta: JsonObject
) -> tuple[dict[str, str], dict[str, str], list[str], list[JsonObject]]:
    """labels, annotations, finalizers and ownerReferences, type-checked as Go decodes them
    (400 on a mismatch); generateName must be a string too."""
    generate_name = meta.get("generateName")
    if generate_name is not None and not isinstance(generate_name, str):
        _cannot_decode(obj, generate_name, "metadata.generateName", "string", "ObjectMeta")
    return (
        _string_map(obj, meta, "labels"),
        _string_map(obj, meta, "annotations"),
        _string_list(obj, meta, "finalizers"),
        _owner_references(obj, meta),
    )


def _meta_of(obj: JsonObject) -> JsonObject:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


# -- the rules ---------------------------------------------------------------------------------


def _label_causes(labels: dict[str, str]) -> list[Cause]:
    """v1validation.ValidateLabels: key and value rules, both at `metadata.labels`."""
    causes: list[Cause] = []
    for key, value in labels.items():
        for msg in _label_key_errors(key):
            causes.append(
                ("FieldValueInvalid", "metadata.labels", f"Invalid value: {_go_quote(key)}: {msg}")
            )
        for msg in _label_value_errors(value):
            causes.append(
                (
                    "FieldValueInvalid",
                    "metadata.labels",
                    f"Invalid value: {_go_quote(value)}: {msg}",
                )
            )
    return causes


def _annotation_causes(annotations: dict[str, str]) -> list[Cause]:
    """ValidateAnnotations: keys are qualified names compared in lower case; keys and values
    together at most 256 KiB (`Too long: may not be more than 262144 bytes`)."""
    causes: list[Cause] = []
    total = 0
    for key, value in annotations.items():
        for msg in _label_key_errors(key.lower()):
            causes.append(
                (
                    "FieldValueInvalid",
                    "metadata.annotations",
                    f"Invalid value: {_go_quote(key)}: {msg}",
                )
            )
        total += _byte_len(key) + _byte_len(value)
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
    if not api_version:
        return "", ""
    if api_version == "v1":
        return "", "v1"
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
                (
                    "FieldValueInvalid",
                    f"{field}.apiVersion",
                    f"Invalid value: {_go_quote(api_version)}: version must not be empty",
                )
            )
        for key in ("kind", "name", "uid"):
            if not ref.get(key):
                causes.append(
                    (
                        "FieldValueInvalid",
                        f"{field}.{key}",
                        f"Invalid value: {_go_quote(str(ref.get(key) or ''))}: must not be empty",
                    )
                )
        if gv == ("", "v1") and kind == "Event":
            causes.append(
                (
                    "FieldValueInvalid",
                    field,
                    f"Invalid value: {_owner_string(ref)}: /v1, Kind=Event is disallowed from "
                    "being an owner",
                )
            )
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                shown = orjson.dumps(refs).decode()
                causes.append(
                    (
                        "FieldValueInvalid",
                        field,
                        f"Invalid value: {shown}: Only one reference can have Controller set to "
                        f'true. Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return causes


def _finalizer_causes(finalizers: list[str], *, create: bool) -> list[Cause]:
    """On create, apimachinery's ValidateFinalizers (`metadata.finalizers`: qualified names,
    not both orphan and foregroundDeletion); on create and update, core's
    validateKubeFinalizerName (`metadata.finalizers[i]`: a name without '/' must be standard)."""
    causes: list[Cause] = []
    if create:
        for name in finalizers:
            for msg in _label_key_errors(name):
                causes.append(
                    (
                        "FieldValueInvalid",
                        "metadata.finalizers",
                        f"Invalid value: {_go_quote(name)}: {msg}",
                    )
                )
        if "orphan" in finalizers and "foregroundDeletion" in finalizers:
            causes.append(
                (
                    "FieldValueInvalid",
                    "metadata.finalizers",
                    f"Invalid value: {_go_string_slice(finalizers)}: finalizer orphan and "
                    "foregroundDeletion cannot be both set",
                )
            )
    for i, name in enumerate(finalizers):
        if "/" not in name and name not in STANDARD_FINALIZERS:
            causes.append(
                (
                    "FieldValueInvalid",
                    f"metadata.finalizers[{i}]",
                    f"Invalid value: {_go_quote(name)}: name is neither a standard finalizer "
                    "name nor is it fully qualified",
                )
            )
    return causes


def _storable_causes(obj: JsonObject) -> list[Cause]:
    """The decoding limits (core/json_limits.py) on the object to be stored."""
    return [
        ("FieldValueInvalid", field, f"Invalid value: {message}")
        for field, message in object_problems(obj)
    ]


def validate_object_meta(resource: ResourceType, obj: JsonObject) -> list[Cause]:
    """ValidateObjectMeta of a new object (name already set or generated), in kube's order:
    generateName, name, labels, annotations, ownerReferences, finalizers; then the limits every
    stored object obeys. Raises ApiError 400 for a metadata field of the wrong JSON type."""
    meta = _meta_of(obj)
    labels, annotations, finalizers, refs = _decoded_meta(obj, meta)
    generate_name = meta.get("generateName")
    causes: list[Cause] = []
    if generate_name:
        causes += _generate_name_causes(resource, generate_name)
    causes += name_causes(resource, str(meta.get("name", "")))
    causes += _label_causes(labels)
    causes += _annotation_causes(annotations)
    causes += _owner_reference_causes(refs)
    causes += _finalizer_causes(finalizers, create=True)
    return causes + _storable_causes(obj)


def validate_object_meta_update(new: JsonObject, old: JsonObject) -> list[Cause]:
    """ValidateObjectMetaUpdate: no finalizer added once deletion has started; labels,
    annotations, ownerReferences and the standard-finalizer rule as on create (kube does not
    re-run the qualified-name rule on finalizers here); then the limits every stored object
    obeys. Raises ApiError 400 for a metadata field of the wrong JSON type."""
    new_meta, old_meta = _meta_of(new), _meta_of(old)
    labels, annotations, finalizers, refs = _decoded_meta(new, new_meta)
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = [f for f in finalizers if f not in (old_meta.get("finalizers") or [])]
        if added:
            causes.append(
                (
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                    f"found new finalizers {_go_string_slice(sorted(set(added)))}",
                )
            )
    causes += _label_causes(labels)
    causes += _annotation_causes(annotations)
    causes += _owner_reference_causes(refs)
    causes += _finalizer_causes(finalizers, create=False)
    return causes + _storable_causes(new)
