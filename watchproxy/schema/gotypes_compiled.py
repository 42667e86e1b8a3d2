"""The compiled form of schema/gotypes.py's check: does every value of an object fit its
built-in type's Go struct? The same decisions as gotypes._Checker.check, in the same order
(quantities canonicalized up to the first misfit), without Go's names or paths: one closure per
schema node, built once per definition, and None for a node that takes anything (opaque,
untyped), so it is never called. gotypes.type_error asks here first and runs its reference walk
only for an object that does not fit, to find Go's words (`json: cannot unmarshal ...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from watchproxy.schema.pruning import OPAQUE_DEFINITIONS
from watchproxy.schema.quantity import QuantityError, canonical_quantity

Schema = Mapping[str, Any]
Definitions = Mapping[str, Schema]

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
# Definitions with their own UnmarshalJSON: the JSON types each accepts, and its Go name.
CUSTOM_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": ((str, int), "intstr.IntOrString"),
    "io.k8s.apimachinery.pkg.api.resource.Quantity": ((str, int, float), "resource.Quantity"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": ((str,), "v1.Time"),
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": ((str,), "v1.MicroTime"),
}


QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIMES = frozenset(
    {"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"}
)
# time.RFC3339 as Go's time.Parse takes it: fractional seconds are accepted after the seconds
# even though the layout has none (MicroTime's RFC3339Micro layout takes them too).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\Z")


def time_error(value: str) -> str | None:
    """None if metav1.Time / MicroTime's UnmarshalJSON takes `value` (time.Parse with
    time.RFC3339), else its error, worded as Go's ParseError for the usual case (types/time.go,
    micro_time.go)."""
    if _RFC3339.match(value):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return None
        except ValueError:
            pass
    return (
        f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as '
        '"2006"'
    )

# -- the compiled check -------------------------------------------------------------------------
# The same decisions as _Checker.check, in the same order (quantities canonicalized up to the
# first failure), without names or paths: one closure per schema node, built once per
# definition. None for a node that takes anything (opaque, untyped), so it is never called.

Check = Callable[[Any], Any]


class _Misfit(Exception):
    """A value its schema cannot decode (the reference walk then finds the words)."""


class _Compiled:
    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.named: dict[str, Check | None] = {}
        self.compiling: set[str] = set()
        self.roots: dict[int, tuple[Schema, Check | None]] = {}

    def fits(self, obj: Any, schema: Schema) -> bool:
        root = self.roots.get(id(schema))
        if root is None or root[0] is not schema:
            root = (schema, self.node(schema))
            self.roots[id(schema)] = root
        check = root[1]
        if check is None or obj is None:
            return True
        try:
            check(obj)
        except _Misfit:
            return False
        except QuantityError:
            return False
        return True

    def node(self, schema: Schema) -> Check | None:
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self.named_node(ref.rsplit("/", 1)[-1])
        return self.body(schema)

    def named_node(self, name: str) -> Check | None:
        if name in self.named:
            return self.named[name]
        if name in self.compiling:  # a recursive type: look it up when called
            named = self.named

            def later(value: Any) -> Any:
                check = named[name]
                return value if check is None else check(value)

            return later
        resolved = self.definitions.get(name)
        check: Check | None
        if name in OPAQUE_DEFINITIONS or resolved is None:
            check = None
        elif name in CUSTOM_TYPES:
            check = _custom_check(name)
        else:
            self.compiling.add(name)
            try:
                check = self.body(resolved)
            finally:
                self.compiling.discard(name)
        self.named[name] = check
        return check

    def body(self, resolved: Schema) -> Check | None:
        kind = resolved.get("type")
        if kind == "object":
            return self.object_body(resolved)
        if kind == "array":
            items = resolved.get("items")
            each = self.node(items) if isinstance(items, Mapping) else None
            return _list_check(each)
        if kind == "string":
            return _typed_check(str)
        if kind == "boolean":
            return _typed_check(bool)
        if kind == "number":
            return _number_check
        if kind == "integer":
            low, high = INT_RANGES.get(str(resolved.get("format")), INT_RANGES["int64"])
            return _integer_check(low, high)
        return None  # untyped, or a type _Checker.scalar does not check

    def object_body(self, resolved: Schema) -> Check:
        properties = resolved.get("properties")
        if isinstance(properties, Mapping) and properties:
            fields = {}
            for key, sub in properties.items():
                if isinstance(sub, Mapping) and (check := self.node(sub)) is not None:
                    fields[key] = check
            return _fields_check(fields)
        extra = resolved.get("additionalProperties")
        each = self.node(extra) if isinstance(extra, Mapping) else None
        return _map_check(each)


def _custom_check(name: str) -> Check:
    accepted = CUSTOM_TYPES[name][0]
    quantity = name == QUANTITY
    when = name in TIMES

    def check(value: Any) -> Any:
        if not isinstance(value, accepted) or isinstance(value, bool):
            raise _Misfit
        if when and time_error(str(value)) is not None:
            raise _Misfit
        return canonical_quantity(value) if quantity else value  # QuantityError: a misfit

    return check


def _fields_check(fields: dict[str, Check]) -> Check:
    get = fields.get

    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Misfit
        for key, item in value.items():
            sub = get(key)
            if sub is not None and item is not None:
                new = sub(item)
                if new is not item:
                    value[key] = new
        return value

    return check


def _map_check(each: Check | None) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Misfit
        if each is not None:
            for key, item in value.items():
                if item is not None:
                    new = each(item)
                    if new is not item:
                        value[key] = new
        return value

    return check


def _list_check(each: Check | None) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, list):
            raise _Misfit
        if each is not None:
            for index, item in enumerate(value):
                if item is not None:
                    new = each(item)
                    if new is not item:
                        value[index] = new
        return value

    return check


def _typed_check(kind: type) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise _Misfit
        return value

    return check


def _number_check(value: Any) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _Misfit
    return value


def _integer_check(low: int, high: int) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _Misfit
        return value

    return check


_compilers: dict[int, tuple[Definitions, _Compiled]] = {}


def compiled_for(definitions: Definitions) -> _Compiled:
    """The compiled checks of `definitions` (the built-in ones live as long as the process)."""
    cached = _compilers.get(id(definitions))
    if cached is None or cached[0] is not definitions:
        if len(_compilers) >= 16:
            _compilers.clear()
        cached = (definitions, _Compiled(definitions))
        _compilers[id(definitions)] = cached
    return cached[1]
