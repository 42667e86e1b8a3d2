"""The rules of a CRD schema that are not JSON Schema: list types and embedded resources.

* `x-kubernetes-list-type: set` items, and `map` items' `x-kubernetes-list-map-keys`, are unique
  (apiextensions-apiserver pkg/apiserver/schema/listtype/validation.go): each later repeat is
  `Duplicate value: <item>` (a set) or `Duplicate value: map[string]interface {}{"name":"a"}`
  (a map: the key fields the item has), at `spec.list[i]`; a map-list item that is not an
  object is `must be an object for an array of list-type map`. Scalars compare as Go compares
  interface values (int64 1 and float64 1.0 differ), compounds by their JSON.
* An `x-kubernetes-embedded-resource` object needs apiVersion and kind (not metadata), each a
  string; kind a DNS-1035 label up to case; metadata valid ObjectMeta (name, generateName,
  namespace, labels, annotations) (schema/objectmeta/validation.go). The resource root's own
  TypeMeta and ObjectMeta are the store's to validate.

Paths are field.Path's: `.name` for properties, `[i]` for items, `[key]` for map values.
"""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy.core.validation import (
    dns1035_label_errors,
    dns1123_label_errors,
    invalid_value,
    label_key_errors,
    label_value_errors,
)
from watchproxy.schema.goformat import go_bad_value

Cause = tuple[str, str, str]
JsonObject = dict[str, Any]


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _scalar_key(value: Any) -> tuple[str, Any]:
    """Go's == on interface values: the dynamic type is part of the value."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, dict | list):
        return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return (type(value).__name__, value)


def _repeats(values: list[Any]) -> list[int]:
    """validateListSet: the index of the second appearance of each repeated value."""
    seen: dict[tuple[str, Any], int] = {}
    out = []
    for i, value in enumerate(values):
        key = _scalar_key(value)
        count = seen.get(key, 0)
        if count == 1:
            out.append(i)
        seen[key] = count + 1
    return out


def _duplicate(path: str, value: Any) -> Cause:
    return ("FieldValueDuplicate", path, f"Duplicate value: {go_bad_value(value)}")


def _list_map(path: str, schema: JsonObject, items: list[Any]) -> list[Cause]:
    for i, item in enumerate(items):
        if item is not None and not isinstance(item, dict):
            detail = "must be an object for an array of list-type map"
            return [
                (
                    "FieldValueInvalid",
                    f"{path}[{i}]",
                    f"Invalid value: {go_bad_value(item)}: {detail}",
                )
            ]
    if len(items) <= 1:
        return []
    key_fields = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
    keys: list[dict[str, Any]] = []
    for item in items:
        item = item or {}
        keys.append({k: item[k] for k in key_fields if k in item})
    if len(key_fields) == 1:
        # One key: an item without it (or null) is "unspecified", equal to other such items.
        singles = [k.get(key_fields[0], _UNSPECIFIED) for k in keys]
        return [_duplicate(f"{path}[{i}]", keys[i]) for i in _repeats(singles)]
    return [_duplicate(f"{path}[{i}]", keys[i]) for i in _repeats(keys)]


class _Unspecified:
    """listtype.go's unspecifiedKeyValue{}: a missing key, distinct from any JSON value."""


_UNSPECIFIED = _Unspecified()


def list_causes(path: str, schema: JsonObject | None, value: Any) -> list[Cause]:
    """ValidateListSetsAndMaps over `value` (any depth)."""
    if schema is None:
        return []
    causes: list[Cause] = []
    if isinstance(value, list):
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "set":
            causes += [_duplicate(f"{path}[{i}]", value[i]) for i in _repeats(value)]
        elif list_type == "map":
            causes += _list_map(path, schema, value)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                causes += list_causes(f"{path}[{i}]", items, item)
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                causes += list_causes(_child(path, key), props[key], item)
            elif isinstance(extra, dict):
                causes += list_causes(f"{path}[{key}]", extra, item)
    return causes


# -- embedded resources -------------------------------------------------------------------------


def _group_version_error(api_version: str) -> str | None:
    """schema.ParseGroupVersion: at most one '/'."""
    if api_version.count("/") > 1:
        return f"unexpected GroupVersion string: {api_version}"
    return None


def _path_segment_errors(name: str, prefix: bool) -> list[str]:
    """path.IsValidPathSegmentName (prefix: IsValidPathSegmentPrefix, which allows . and ..)."""
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _meta_causes(path: str, meta: Any) -> list[Cause]:
    if not isinstance(meta, dict):
        return [
            ("FieldValueInvalid", path, f"Invalid value: {go_bad_value(meta)}: must be an object")
        ]
    causes: list[Cause] = []
    generate = meta.get("generateName")
    if isinstance(generate, str) and generate:
        causes += [
            invalid_value(f"{path}.generateName", generate, m)
            for m in _path_segment_errors(generate, True)
        ]
    name = meta.get("name") or "fakename"  # objectmeta/validation.go: "we have to set something"
    if isinstance(name, str):
        causes += [
            invalid_value(f"{path}.name", name, m) for m in _path_segment_errors(name, False)
        ]
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        causes += [
            invalid_value(f"{path}.namespace", namespace, m)
            for m in dns1123_label_errors(namespace)
        ]
    for key, value in (meta.get("labels") or {}).items():
        causes += [invalid_value(f"{path}.labels", key, m) for m in label_key_errors(key)]
        if isinstance(value, str):
            causes += [invalid_value(f"{path}.labels", value, m) for m in label_value_errors(value)]
    for key in meta.get("annotations") or {}:
        causes += [
            invalid_value(f"{path}.annotations", key, m) for m in label_key_errors(key.lower())
        ]
    return causes


def _embedded_causes(path: str, obj: JsonObject) -> list[Cause]:
    causes: list[Cause] = []
    for key in ("apiVersion", "kind"):
        value = obj.get(key)
        where = _child(path, key)
        if key not in obj or value == "":
            causes.append(("FieldValueRequired", where, "Required value"))
        elif not isinstance(value, str):
            causes.append(
                (
                    "FieldValueInvalid",
                    where,
                    f"Invalid value: {go_bad_value(value)}: must be a string",
                )
            )
        elif key == "apiVersion":
            error = _group_version_error(value)
            if error:
                causes.append(invalid_value(where, value, error))
        else:
            errs = dns1035_label_errors(value.lower())
            if errs:
                detail = "may have mixed case, but should otherwise match: " + ",".join(errs)
                causes.append(invalid_value(where, value, detail))
    if "metadata" in obj:
        causes += _meta_causes(_child(path, "metadata"), obj["metadata"])
    return causes


def embedded_causes(path: str, schema: JsonObject | None, value: Any) -> list[Cause]:
    """objectmeta.Validate(path, value, schema, isResourceRoot=false) over `value`."""
    if schema is None:
        return []
    causes: list[Cause] = []
    if isinstance(value, dict):
        if schema.get("x-kubernetes-embedded-resource"):
            causes += _embedded_causes(path, value)
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                causes += embedded_causes(_child(path, key), props[key], item)
            elif isinstance(extra, dict):
                causes += embedded_causes(f"{path}[{key}]", extra, item)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                causes += embedded_causes(f"{path}[{i}]", items, item)
    return causes


def spine(schema: Any, key: str, values: tuple[Any, ...] = (True,)) -> JsonObject | None:
    """The part of `schema` that leads to nodes whose `key` is one of `values`: those nodes'
    own keywords plus only the properties / additionalProperties / items below which such a
    node lies; None when there is none. The walks above then visit only that much of an object
    (a whole-object walk in Python costs more than jsonschema-rs's whole validation)."""
    if not isinstance(schema, dict):
        return None
    out: JsonObject = {}
    props = {
        k: s for k, v in (schema.get("properties") or {}).items() if (s := spine(v, key, values))
    }
    if props:
        out["properties"] = props
    for sub in ("additionalProperties", "items"):
        below = spine(schema.get(sub), key, values)
        if below is not None:
            out[sub] = below
    if schema.get(key) in values:
        out.update({k: v for k, v in schema.items() if k.startswith("x-kubernetes-")})
    return out or None
