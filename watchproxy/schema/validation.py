"""OpenAPI v3 schema validation of a custom resource with jsonschema-rs, answered in kube's words.

kube-apiserver validates a custom resource with kube-openapi's validator
(apiextensions-apiserver pkg/apiserver/validation/validation.go: ConvertJSONSchemaProps,
kubeOpenAPIResultToFieldErrors; kube-openapi pkg/validation/validate and .../errors). Here the
CRD's openAPIV3Schema is converted once to a JSON Schema (draft 7) that jsonschema-rs compiles,
and each error jsonschema-rs finds is mapped back to the cause kube gives, e.g.

    ("FieldValueTypeInvalid", "spec.replicas",
     'Invalid value: "string": spec.replicas in body must be of type integer: "string"')
    ("FieldValueRequired", "spec.name", "Required value")
    ("FieldValueNotSupported", "spec.mode", 'Unsupported value: "x": supported values: "a", "b"')

Conversion: `nullable` adds "null" to the type; `x-kubernetes-int-or-string` is
["integer", "string"]; OpenAPI's boolean exclusiveMaximum/Minimum become draft 7's numeric
ones; formats kube checks are renamed `kube-<name>` and checked by formats.py (others are
dropped, as kube strips them); patterns run on jsonschema-rs's linear-time regex engine (kube
uses Go's RE2) so a hostile pattern cannot stall the server; `integer`/int32 and `number`/float
values must fit their format (a custom keyword, as kube-openapi's IsValueValidAgainstRange).
The `x-kubernetes-*` rules that are not JSON Schema (list types, embedded resources, CEL) are
checked elsewhere (invariants.py, cel.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs

from watchproxy.core.validation import go_quote
from watchproxy.schema.formats import KUBE_FORMATS, checked_format
from watchproxy.schema.goformat import enum_values, go_bad_value, go_float

Cause = tuple[str, str, str]  # registry.errors.Cause: (reason, field, message)
JsonObject = dict[str, Any]

_FORMAT_PREFIX = "kube-"
# JSON Schema keywords copied as they are.
_COPIED = (
    "enum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems",
    "minProperties", "maxProperties", "required", "multipleOf",
)  # fmt: skip


def to_json_schema(node: JsonObject) -> JsonObject:
    """One OpenAPI v3 schema node (a CRD's JSONSchemaProps) as a draft 7 JSON Schema node."""
    out: JsonObject = {}
    types: list[str] = []
    if node.get("x-kubernetes-int-or-string"):
        types = ["integer", "string"]
    elif isinstance(node.get("type"), str):
        types = [node["type"]]
    if types:
        out["type"] = [*types, "null"] if node.get("nullable") else types
    for key in _COPIED:
        if key in node:
            out[key] = node[key]
    for bound, exclusive in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if bound in node:
            out[exclusive if node.get(exclusive) else bound] = node[bound]
    if isinstance(node.get("format"), str):
        name = checked_format(node.get("type"), node["format"])
        if name is not None:
            out["format"] = _FORMAT_PREFIX + name
            out["x-kube-format"] = node["format"]  # the name kube's message shows
    if (node.get("type"), node.get("format")) in _RANGED:
        out[_RANGE] = node["format"]
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = to_json_schema(extra)
    elif isinstance(extra, bool):
        out["additionalProperties"] = extra
    if isinstance(node.get("items"), dict):
        out["items"] = to_json_schema(node["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            out[key] = [to_json_schema(sub) for sub in node[key]]
    if isinstance(node.get("not"), dict):
        out["not"] = to_json_schema(node["not"])
    return out


_RANGE = "x-kube-range"
_RANGED = {("integer", "int32"), ("number", "float")}
_FLOAT32_MAX = 3.4028234663852886e38


class _Range:
    """kube-openapi's IsValueValidAgainstRange: an int32 / float value must fit its format."""

    def __init__(self, parent: JsonObject, value: str, path: list[str | int]) -> None:
        self.format = value

    def validate(self, instance: Any) -> None:
        if isinstance(instance, bool) or not isinstance(instance, int | float):
            return
        if self.format == "int32":
            fits = float(instance).is_integer() and -(2**31) <= instance < 2**31
        else:
            fits = abs(instance) <= _FLOAT32_MAX
        if not fits:
            raise ValueError(self.format)


def compile_validator(openapi_schema: JsonObject) -> tuple[jsonschema_rs.Validator, JsonObject]:
    """The compiled validator and the JSON Schema it was compiled from. Raises ValueError
    (jsonschema_rs.ValidationError) for a schema jsonschema-rs refuses, e.g. a bad pattern."""
    schema = to_json_schema(openapi_schema)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    formats = {_FORMAT_PREFIX + name: check for name, check in KUBE_FORMATS.items()}
    validator = jsonschema_rs.validator_for(
        schema,
        formats=formats,
        validate_formats=True,
        pattern_options=jsonschema_rs.RegexOptions(),
        keywords={_RANGE: _Range},
    )
    return validator, schema


# -- errors -> causes ---------------------------------------------------------------------------


def kube_name(path: list[str | int]) -> str:
    """kube-openapi's error Name: properties joined with '.', list indices as `[i]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


def field_of(name: str) -> str:
    """field.Path.String() of the error's path: a nil path (the root) prints `<nil>`."""
    return name or "<nil>"


def json_type(value: Any) -> str:
    """The JSON type kube-openapi's type validator names for a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _node_at(schema: JsonObject, path: list[str | int]) -> JsonObject:
    node: Any = schema
    for part in path:
        node = node[part]
    return node if isinstance(node, dict) else {}


def _bound(limit: Any, instance: Any) -> str:
    """How kube prints a numeric bound: converted to int64 (truncated) for an integer value
    (values.go MaximumNativeType), else float64 `%v`."""
    if isinstance(instance, int) and not isinstance(instance, bool):
        return str(int(limit))
    return go_float(float(limit))


def _invalid(field: str, value: Any, detail: str) -> Cause:
    return ("FieldValueInvalid", field, f"Invalid value: {go_bad_value(value)}: {detail}")


def _type_invalid(field: str, shown: str, detail: str) -> Cause:
    """field.TypeInvalid: reason FieldValueTypeInvalid, worded "Invalid value"."""
    return ("FieldValueTypeInvalid", field, f"Invalid value: {go_quote(shown)}: {detail}")


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def error_causes(error: jsonschema_rs.ValidationError, schema: JsonObject) -> list[Cause]:
    """The kube causes of one jsonschema-rs error (kubeOpenAPIResultToFieldErrors)."""
    kind = error.kind.name
    name = kube_name(error.instance_path)
    field = field_of(name)
    node = _node_at(schema, error.schema_path[:-1])
    value: Any = error.instance
    where = f"{name} in body"
    if kind == "type":
        wanted = ",".join(t for t in node.get("type", []) if t != "null")
        got = json_type(value)
        return [_type_invalid(field, got, f"{where} must be of type {wanted}: {go_quote(got)}")]
    if kind == "required":
        prop = str(error.kind.as_dict().get("property", ""))
        return [("FieldValueRequired", f"{name}.{prop}" if name else prop, "Required value")]
    if kind == "enum":
        supported = ", ".join(go_quote(v) for v in enum_values(node.get("enum") or []))
        detail = f": supported values: {supported}" if supported else ""
        message = f"Unsupported value: {go_bad_value(value)}{detail}"
        return [("FieldValueNotSupported", field, message)]
    if kind == "maxLength":
        limit = int(node["maxLength"])
        unit = _plural(limit, "byte", "bytes")
        return [("FieldValueTooLong", field, f"Too long: may not be more than {limit} {unit}")]
    if kind == "minLength":
        detail = f"{where} should be at least {node['minLength']} chars long"
        return [_invalid(field, value, detail)]
    if kind == "pattern":
        return [_invalid(field, value, f"{where} should match '{node['pattern']}'")]
    if kind == "format":
        fmt = node.get("x-kube-format", "")
        return [_type_invalid(field, value, f"{where} must be of type {fmt}: {go_quote(value)}")]
    if kind in ("maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum"):
        words = {
            "maximum": "less than or equal to",
            "exclusiveMaximum": "less than",
            "minimum": "greater than or equal to",
            "exclusiveMinimum": "greater than",
        }[kind]
        return [_invalid(field, value, f"{where} should be {words} {_bound(node[kind], value)}")]
    if kind == "multipleOf":
        detail = f"{where} should be a multiple of {_bound(node['multipleOf'], value)}"
        return [_invalid(field, value, detail)]
    if kind in ("maxItems", "maxProperties"):
        limit = int(node[kind])
        items = _plural(limit, "item", "items")
        message = f"Too many: {len(value)}: must have at most {limit} {items}"
        return [("FieldValueTooMany", field, message)]
    if kind == "minItems":
        detail = f"{where} should have at least {node['minItems']} items"
        return [_invalid(field, len(value), detail)]
    if kind == "minProperties":
        detail = f"{where} should have at least {node['minProperties']} properties"
        return [_invalid(field, len(value), detail)]
    if kind == "uniqueItems":
        return [_invalid(field, "", f"{where} shouldn't contain duplicates")]
    if kind == "additionalProperties":
        unexpected = error.kind.as_dict().get("unexpected") or []
        forbidden = "in body is a forbidden property"
        return [_invalid(field, key, f"{name}.{key} {forbidden}") for key in unexpected]
    if kind == _RANGE:
        # A plain error in kube-openapi, so kube reports it with no path and an empty value.
        kind_name = "integer" if node.get(_RANGE) == "int32" else "number"
        detail = (
            f"Checked value must be of type {kind_name} with format {node.get(_RANGE)} in {name}"
        )
        return [_invalid("<nil>", "", detail)]
    return _combinator_causes(error, kind, name, schema)


def _combinator_causes(
    error: jsonschema_rs.ValidationError, kind: str, name: str, schema: JsonObject
) -> list[Cause]:
    """anyOf / oneOf / not: kube reports a path-less error (schema_props.go's messages are not
    *errors.Validation, so kube answers field `<nil>`), then for anyOf/oneOf the failures of
    the alternative that came closest (here: the one with the fewest errors)."""
    if kind == "anyOf":
        text = f"{go_quote(name)} must validate at least one schema (anyOf)"
        head = [_invalid("<nil>", "", text)]
    elif kind == "oneOf":
        if type(error.kind).__name__ == "OneOfMultipleValid":
            branches = getattr(error.kind, "context", None) or []
            valid = sum(1 for branch in branches if not branch) or 2
            found = f"Found {valid} valid alternatives"
        else:
            found = "Found none valid"
        text = f"{go_quote(name)} must validate one and only one schema (oneOf). {found}"
        head = [_invalid("<nil>", "", text)]
    elif kind == "not":
        return [_invalid("<nil>", "", f"{go_quote(name)} must not validate the schema (not)")]
    else:
        return [_invalid(field_of(name), "", str(error.message))]
    context: list[list[jsonschema_rs.ValidationError]] = getattr(error.kind, "context", []) or []
    failing = [branch for branch in context if branch]
    if kind == "anyOf" or type(error.kind).__name__ == "OneOfNotValid":
        if failing:
            best = min(failing, key=len)
            return head + [c for sub in best for c in error_causes(sub, schema)]
    return head


def _allof_causes(error: jsonschema_rs.ValidationError) -> Iterator[Cause]:
    """kube adds `must validate all the schemas (allOf)` beside an allOf branch's own errors."""
    if "allOf" in error.schema_path:
        text = f"{go_quote(kube_name(error.instance_path))} must validate all the schemas (allOf)"
        yield _invalid("<nil>", "", text)


def schema_causes(
    validator: jsonschema_rs.Validator,
    schema: JsonObject,
    obj: JsonObject,
    ratcheted: Callable[[list[str | int]], bool] | None = None,
) -> list[Cause]:
    """Every cause the schema finds in `obj`, each once, in jsonschema-rs's order (kube's order
    follows Go map iteration and is not stable); errors at an instance path `ratcheted` says
    the update did not change are left out."""
    causes: list[Cause] = []
    seen: set[Cause] = set()
    if validator.is_valid(obj):
        return causes
    for error in validator.iter_errors(obj):
        if ratcheted is not None and ratcheted(error.instance_path):
            continue
        for cause in [*error_causes(error, schema), *_allof_causes(error)]:
            if cause not in seen:
                seen.add(cause)
                causes.append(cause)
    return causes
