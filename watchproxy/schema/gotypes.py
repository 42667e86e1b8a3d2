"""JSON values of the wrong type for a built-in type's Go struct: the decode error kube answers.

kube-apiserver decodes a built-in type's body into its Go struct (sigs.k8s.io/json, a fork of
encoding/json); a value of the wrong JSON type fails the whole decode with an
`UnmarshalTypeError`, e.g. `json: cannot unmarshal string into Go struct field
LeaseSpec.spec.leaseDurationSeconds of type int32`, and nothing is stored. The handlers wrap it:
a create or update answers 400 `<Kind> in version "<v>" cannot be handled as a <Kind>: <err>`
(handlers/rest.go transformDecodeError), a patch 422 `patch: Invalid value: "<patched>": <err>`
(handlers/patch.go).

The expected types come from the OpenAPI definitions (schema/builtin.py): `type` and `format`
give the Go type (`integer`/`int32` is `int32`, an array of `#/definitions/io.k8s.api.core.v1.
Container` is `[]v1.Container`). Go's error names the innermost struct and the path of JSON
field names from the root, without list indices or map keys (encoding/json errorContext). null
decodes into anything. Types with their own UnmarshalJSON are checked by what they accept
(IntOrString: string or integer, Quantity: string or number in ParseQuantity's format, whose
own error is the answer, stored as its canonical string, Time: string); opaque ones
(RawExtension, FieldsV1, apiextensions JSON) take anything. Custom resources are not checked
here: their structural schema is validated whole (schema/structural.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from watchproxy.schema.gotypes_compiled import (
    CUSTOM_TYPES,
    INT_RANGES,
    QUANTITY,
    TIMES,
    compiled_for,
    time_error,
)
from watchproxy.schema.pruning import OPAQUE_DEFINITIONS
from watchproxy.schema.quantity import QuantityError, canonical_quantity

Schema = Mapping[str, Any]
Definitions = Mapping[str, Schema]


class _TypeError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _json_kind(value: Any) -> str:
    """encoding/json's name for the JSON value found (UnmarshalTypeError.Value)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(name: str) -> str:
    """`io.k8s.api.core.v1.Container` -> `v1.Container` (Go's package.Type)."""
    parts = name.split(".")
    return ".".join(parts[-2:])


class _Checker:
    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions

    def resolve(self, schema: Schema) -> tuple[str | None, Schema | None]:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return name, self.definitions.get(name)
        return None, schema

    def go_type(self, schema: Schema) -> str:
        name, resolved = self.resolve(schema)
        if name is not None:
            custom = CUSTOM_TYPES.get(name)
            return custom[1] if custom else _short(name)
        if resolved is None:
            return "interface {}"
        kind = resolved.get("type")
        fmt = resolved.get("format")
        if kind == "integer":
            return str(fmt) if fmt in INT_RANGES else "int"
        if kind == "number":
            return "float32" if fmt == "float" else "float64"
        if kind == "boolean":
            return "bool"
        if kind == "string":
            return "[]uint8" if fmt == "byte" else "string"
        if kind == "array":
            items = resolved.get("items")
            return "[]" + (self.go_type(items) if isinstance(items, Mapping) else "interface {}")
        extra = resolved.get("additionalProperties")
        if isinstance(extra, Mapping):
            return "map[string]" + self.go_type(extra)
        return "map[string]interface {}"

    def check(self, value: Any, schema: Schema, struct: str, path: list[str]) -> Any:
        """Raise _TypeError at the first value `schema` cannot decode (document order); answer
        the value as kube re-encodes it (a quantity's canonical string), else `value` itself."""
        if value is None:
            return value
        name, resolved = self.resolve(schema)
        if name is not None:
            if name in OPAQUE_DEFINITIONS or resolved is None:
                return value
            custom = CUSTOM_TYPES.get(name)
            if custom is not None:
                ok = isinstance(value, custom[0]) and not isinstance(value, bool)
                if not ok:
                    self.fail(value, struct, path, custom[1])
                if name == QUANTITY:
                    try:
                        return canonical_quantity(value)
                    except QuantityError as exc:
                        raise _TypeError(str(exc)) from exc  # UnmarshalJSON's error, as is
                if name in TIMES and (error := time_error(value)) is not None:
                    raise _TypeError(error)  # UnmarshalJSON's error, as is
                return value
        if resolved is None:
            return value
        kind = resolved.get("type")
        if kind is None:
            return value  # untyped: any JSON (e.g. apiextensions JSON)
        if kind == "object":
            if not isinstance(value, dict):
                self.fail(value, struct, path, self.go_type(schema))
            properties = resolved.get("properties")
            inner = _short(name) if name is not None else struct
            if isinstance(properties, Mapping) and properties:
                inner = inner.rsplit(".", 1)[-1]
                for key, item in value.items():
                    sub = properties.get(key)
                    if isinstance(sub, Mapping):
                        new = self.check(item, sub, inner, [*path, key])
                        if new is not item:
                            value[key] = new
                return value
            extra = resolved.get("additionalProperties")
            if isinstance(extra, Mapping):
                for key, item in value.items():
                    new = self.check(item, extra, struct, path)
                    if new is not item:
                        value[key] = new
            return value
        if kind == "array":
            if not isinstance(value, list):
                self.fail(value, struct, path, self.go_type(schema))
            items = resolved.get("items")
            if isinstance(items, Mapping):
                for index, item in enumerate(value):
                    new = self.check(item, items, struct, path)
                    if new is not item:
                        value[index] = new
            return value
        self.scalar(value, resolved, struct, path, schema)
        return value

    def scalar(
        self, value: Any, resolved: Schema, struct: str, path: list[str], schema: Schema
    ) -> None:
        kind = resolved.get("type")
        if kind == "string":
            ok = isinstance(value, str)
        elif kind == "boolean":
            ok = isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif kind == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                low, high = INT_RANGES.get(str(resolved.get("format")), INT_RANGES["int64"])
                if not low <= value <= high:
                    self.fail(value, struct, path, self.go_type(schema), literal=True)
                return
            if isinstance(value, float):
                self.fail(value, struct, path, self.go_type(schema), literal=True)
            ok = False
        else:
            return
        if not ok:
            self.fail(value, struct, path, self.go_type(schema))

    def fail(
        self, value: Any, struct: str, path: list[str], go_type: str, *, literal: bool = False
    ) -> None:
        found = _json_kind(value)
        if literal:  # a number that does not fit: Go quotes its literal
            found = f"number {orjson.dumps(value).decode()}"
        where = f"Go struct field {struct}.{'.'.join(path)}" if path else "Go value"
        raise _TypeError(f"json: cannot unmarshal {found} into {where} of type {go_type}")


def type_error(obj: Any, schema: Schema, definitions: Definitions) -> str | None:
    """Go's decode error for the first value of `obj` whose JSON type `schema` (a built-in
    definition, resolved against `definitions`) cannot decode, or None when every value fits.
    Quantities in `obj` are replaced by their canonical strings (schema/quantity.py), as kube
    stores them. The root's apiVersion, kind and metadata are checked like any field.

    Every write runs this: the schema compiled once (`_Compiled`) answers whether anything is
    wrong; only then does the reference walk below (`_Checker`) find the error's words."""
    if compiled_for(definitions).fits(obj, schema):
        return None
    return reference_type_error(obj, schema, definitions)


def reference_type_error(obj: Any, schema: Schema, definitions: Definitions) -> str | None:
    """type_error by the reference walk: schema resolved as it goes, Go's words kept."""
    checker = _Checker(definitions)
    name, resolved = checker.resolve(schema)
    root = _short(name).rsplit(".", 1)[-1] if name else "Object"
    if resolved is not None and "x-kubernetes-group-version-kind" in resolved:
        gvk = resolved["x-kubernetes-group-version-kind"]
        if isinstance(gvk, list) and gvk and isinstance(gvk[0], Mapping):
            root = str(gvk[0].get("kind") or root)
    try:
        checker.check(obj, schema, root, [])
    except _TypeError as exc:
        return exc.message
    return None
