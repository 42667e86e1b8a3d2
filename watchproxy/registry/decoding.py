"""The 400 BadRequest kube-apiserver answers when a body does not decode into the Go type.

kube decodes a request body into the typed Go struct before any validation runs; a field of the
wrong JSON type (or a []byte that is not base64) fails there, and the handlers answer 400 with
`<Kind> in version "<version>" cannot be handled as a <Kind>: <Go's error>` (handlers/rest.go
transformDecodeError). watchproxy keeps objects as JSON, so the registry re-checks the fields
whose Go type it knows -- ObjectMeta here (decode_object_meta, run by registry/meta.py), the
per-type fields in registry/strategies/ -- and raises the same error with cannot_decode.

Decoding into the Go type also drops the fields it does not know: registry/field_validation.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from watchproxy.api.status import bad_request
from watchproxy.core.validation import go_json_type, go_quote

JsonObject = dict[str, Any]


def cannot_decode(kind: str, api_version: str, detail: str) -> NoReturn:
    """Raise ApiError 400: `<kind> in version "<version>" cannot be handled as a <kind>:
    <detail>`, the version being `api_version` without its group."""
    version = api_version.rsplit("/", 1)[-1]
    raise bad_request(
        f"{kind} in version {go_quote(version)} cannot be handled as a {kind}: {detail}"
    )


def unmarshal_type_error(value: Any, struct: str, field: str, go_type: str) -> str:
    """Go's UnmarshalTypeError for a struct field: `json: cannot unmarshal number into Go struct
    field ObjectMeta.metadata.name of type string` (`field` is the JSON path from the top)."""
    return (
        f"json: cannot unmarshal {go_json_type(value)} into Go struct field {struct}.{field} of "
        f"type {go_type}"
    )


class TypedDecode:
    """kube's typed decode of a body's fields, as far as a handler reads them: a value of the
    wrong JSON type raises the 400 `<Kind> in version "<v>" cannot be handled as a <Kind>:
    json: cannot unmarshal ...` instead of being guessed at (handlers/rest.go). `field` names
    are the JSON paths Go prints (`rules.verbs`, `spec.audiences`)."""

    def __init__(self, kind: str, api_version: str) -> None:
        self.kind, self.api_version = kind, api_version

    def wrong(self, value: Any, field: str, go_type: str) -> NoReturn:
        cannot_decode(
            self.kind, self.api_version, unmarshal_type_error(value, self.kind, field, go_type)
        )

    def string(self, holder: JsonObject, key: str, field: str) -> None:
        value = holder.get(key)
        if value is not None and not isinstance(value, str):
            self.wrong(value, field, "string")

    def strings(self, holder: JsonObject, key: str, field: str) -> None:
        value = holder.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.wrong(value, field, "[]string")
        for item in value:
            if not isinstance(item, str):
                self.wrong(item, field, "string")

    def mapping(self, holder: JsonObject, key: str, field: str, go_type: str) -> JsonObject:
        """The object at `key` ({} when absent)."""
        value = holder.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.wrong(value, field, go_type)
        return value

    def mappings(self, holder: JsonObject, key: str, field: str, go_type: str) -> list[JsonObject]:
        """The list of objects at `key` ([] when absent); `go_type` is the element's type."""
        value = holder.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.wrong(value, field, f"[]{go_type}")
        for item in value:
            if not isinstance(item, dict):
                self.wrong(item, field, go_type)
        return value


# -- ObjectMeta ----------------------------------------------------------------------------------


def _wrong_type(obj: JsonObject, value: Any, field: str, go_type: str, struct: str) -> NoReturn:
    """Raise the 400 kube answers for `value` at `field` (a field of Go struct `struct`)."""
    kind = str(obj.get("kind") or "")
    api_version = str(obj.get("apiVersion") or "")
    cannot_decode(kind, api_version, unmarshal_type_error(value, struct, field, go_type))


# ObjectMeta's collections of strings: the JSON container and the Go type of each.
_STRING_COLLECTIONS: dict[str, tuple[type[dict[str, Any]] | type[list[Any]], str]] = {
    "labels": (dict, "map[string]string"),
    "annotations": (dict, "map[string]string"),
    "finalizers": (list, "[]string"),
}
_META_STRINGS = ("name", "generateName", "namespace")


def _strings(obj: JsonObject, meta: JsonObject, key: str) -> Any:
    """metadata.labels / annotations (map[string]string) or finalizers ([]string), type-checked;
    a null collection is dropped (empty), a null item becomes "" as Go decodes it."""
    container, go_type = _STRING_COLLECTIONS[key]
    value = meta.get(key)
    if value is None:
        meta.pop(key, None)
        return container()
    if not isinstance(value, container):
        _wrong_type(obj, value, f"metadata.{key}", go_type, "ObjectMeta")
    items: Iterable[tuple[Any, Any]] = (
        value.items() if isinstance(value, dict) else enumerate(value)
    )
    for index, item in items:
        if item is None:
            value[index] = ""
        elif not isinstance(item, str):
            _wrong_type(obj, item, f"metadata.{key}", "string", "ObjectMeta")
    return value


_OWNER_STRINGS = ("apiVersion", "kind", "name", "uid")
_OWNER_BOOLS = ("controller", "blockOwnerDeletion")


def _owner_references(obj: JsonObject, meta: JsonObject) -> list[JsonObject]:
    refs = meta.get("ownerReferences")
    if refs is None:
        return []
    field = "metadata.ownerReferences"
    if not isinstance(refs, list):
        _wrong_type(obj, refs, field, "[]v1.OwnerReference", "ObjectMeta")
    for ref in refs:
        if ref is None:
            continue
        if not isinstance(ref, dict):
            _wrong_type(obj, ref, field, "v1.OwnerReference", "ObjectMeta")
        for key in _OWNER_STRINGS:
            if ref.get(key) is not None and not isinstance(ref[key], str):
                go_type = "types.UID" if key == "uid" else "string"
                _wrong_type(obj, ref[key], f"{field}.{key}", go_type, "OwnerReference")
        for key in _OWNER_BOOLS:
            if ref.get(key) is not None and not isinstance(ref[key], bool):
                _wrong_type(obj, ref[key], f"{field}.{key}", "bool", "OwnerReference")
    return [ref if isinstance(ref, dict) else {} for ref in refs]


def decode_object_meta(
    obj: JsonObject, meta: JsonObject
) -> tuple[dict[str, str], dict[str, str], list[str], list[JsonObject]]:
    """metadata (`meta`, of `obj`) type-checked as Go decodes it into ObjectMeta: raises ApiError
    400 on a mismatch (`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal
    number into Go struct field ObjectMeta.metadata.name of type string`). Answers labels,
    annotations, finalizers and ownerReferences; a null one is removed from `meta`, a null item
    of labels, annotations or finalizers becomes "" (as Go decodes it)."""
    for key in _META_STRINGS:
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            _wrong_type(obj, value, f"metadata.{key}", "string", "ObjectMeta")
    return (
        _strings(obj, meta, "labels"),
        _strings(obj, meta, "annotations"),
        _strings(obj, meta, "finalizers"),
        _owner_references(obj, meta),
    )
