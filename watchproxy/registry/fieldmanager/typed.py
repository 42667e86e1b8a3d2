"""Merge semantics of a type, from its OpenAPI schema (kube-openapi pkg/schemaconv/smd.go and
structured-merge-diff schema/elements.go): which lists are maps (`x-kubernetes-list-type: map`,
keyed by `x-kubernetes-list-map-keys`), sets or atomic, which maps are atomic
(`x-kubernetes-map-type`), which keys of an object are named fields.

Built-in types come from `watchproxy.schema.builtin.load().definitions` (`$ref` resolved); custom
resources from their CRD's openAPIV3Schema, whose `metadata` is always ObjectMeta. Rules kube's
converter follows: a list without a list type is atomic unless its legacy patch strategy is
`merge` (with a merge key: a map list; without: a set); fields the schema does not know, and
`x-kubernetes-preserve-unknown-fields` subtrees, are "deduced": maps granular, lists atomic.
Compiled types are cached per schema node (schemas are long-lived) and built lazily, so
recursive schemas (JSONSchemaProps) are fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from watchproxy.resources import ResourceType
from watchproxy.schema import builtin

SCALAR, LIST, MAP, DEDUCED = "scalar", "list", "map", "deduced"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Defaults of map-list key fields that kube's published schema carries and ours lacks
# (ContainerPort/ServicePort/EndpointPort `protocol`: `+default="TCP"`).
_KEY_DEFAULTS = {"protocol": "TCP"}
# Struct fields a Go zero value always has (non-pointer structs: kube's conventions), which the
# apiserver's empty "live" object of a create therefore holds.
_VALUE_STRUCTS = frozenset({"metadata", "spec", "status", "template", "strategy", "updateStrategy"})


class TypedError(ValueError):
    """An object that does not fit its type's merge rules (a map-list item without its key,
    duplicate keys in an applied list)."""


@dataclass(eq=False)
class Atom:
    """One compiled type. `fields`: a struct's named fields (lazily compiled); `elem`: a map's
    value type or a list's item type; `keys`: a map list's key fields (empty: a set)."""

    kind: str
    atomic: bool = False
    raw_fields: dict[str, Any] = field(default_factory=dict)
    raw_elem: Any = None
    keys: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    ctx: _Compiler | None = None
    _fields: dict[str, Atom] = field(default_factory=dict)
    _elem: Atom | None = None

    def field_atom(self, name: str) -> Atom | None:
        """The named field's type, or None when `name` is not a named field."""
        found = self._fields.get(name)
        if found is None and name in self.raw_fields and self.ctx is not None:
            found = self._fields[name] = self.ctx.compile(self.raw_fields[name])
        return found

    def elem(self) -> Atom:
        if self._elem is None:
            raw = self.raw_elem
            self._elem = self.ctx.compile(raw) if (self.ctx and raw is not None) else DEDUCED_ATOM
        return self._elem

    def child(self, name: str) -> Atom:
        """The type of a map's key `name`: its named field's, else the map's value type."""
        return self.field_atom(name) or self.elem()

    def is_struct_field(self, name: str) -> bool:
        return name in self.raw_fields


DEDUCED_ATOM = Atom(DEDUCED)
SCALAR_ATOM = Atom(SCALAR)


class _Compiler:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.memo: dict[int, Atom] = {}
        self.keepalive: list[Any] = []

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict):
            ref = node.get("$ref")
            if not ref and isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                ref = node["allOf"][0].get("$ref") if isinstance(node["allOf"][0], dict) else None
            if not isinstance(ref, str):
                return node
            node = self.definitions.get(ref.rsplit("/", 1)[-1], {})
        return node

    def compile(self, node: Any) -> Atom:
        if not isinstance(node, dict):
            return DEDUCED_ATOM
        found = self.memo.get(id(node))
        if found is not None:
            return found
        self.keepalive.append(node)
        target = self.resolve(node)
        atom = self.memo[id(node)] = Atom(DEDUCED)
        if target is not node:
            compiled = self.compile(target)
            atom.__dict__.update(compiled.__dict__)
            atom.__dict__["_fields"] = compiled._fields
            map_type = node.get("x-kubernetes-map-type")
            if map_type is not None:
                atom.atomic = map_type == "atomic"
            return atom
        self._fill(atom, node)
        return atom

    def _fill(self, atom: Atom, node: dict[str, Any]) -> None:
        kind = node.get("type")
        atom.ctx = self
        if node.get("x-kubernetes-preserve-unknown-fields") and not node.get("properties"):
            atom.kind = DEDUCED
        elif kind == "array":
            atom.kind = LIST
            atom.raw_elem = node.get("items")
            atom.atomic, atom.keys = _list_relationship(node)
        elif kind == "object" or "properties" in node or "additionalProperties" in node:
            props = node.get("properties")
            extra = node.get("additionalProperties")
            if not props and not isinstance(extra, dict):
                atom.kind = DEDUCED  # `type: object` alone: RawExtension, JSON
            else:
                atom.kind = MAP
                atom.raw_fields = props if isinstance(props, dict) else {}
                atom.raw_elem = extra if isinstance(extra, dict) else None
                atom.required = tuple(node.get("required") or ())
                atom.atomic = node.get("x-kubernetes-map-type") == "atomic"
        elif kind is None and not node.get("x-kubernetes-int-or-string"):
            atom.kind = DEDUCED
        else:
            atom.kind = SCALAR


def _list_relationship(node: dict[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """(atomic, keys) of a list (schemaconv getListElementRelationship)."""
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "map":
        return False, tuple(node.get("x-kubernetes-list-map-keys") or ())
    if list_type == "set":
        return False, ()
    if list_type is not None:
        return True, ()
    if node.get("x-kubernetes-patch-strategy") in ("merge", "merge,retainKeys"):
        key = node.get("x-kubernetes-patch-merge-key")
        return False, (key,) if isinstance(key, str) else ()
    return True, ()


_BUILTIN: _Compiler | None = None
# Keyed by the schema object's id; the value holds the schema so the id is never reused.
_ROOTS: dict[tuple[str, str, str, int], tuple[Any, Atom]] = {}


def _builtin() -> _Compiler:
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = _Compiler(builtin.load().definitions)
    return _BUILTIN


def root_type(resource: ResourceType) -> Atom:
    """The compiled type of the resource's objects (cached per resource and schema)."""
    custom = resource.custom
    schema = custom.schema if custom is not None else None
    cache_key = (resource.group, resource.version, resource.plural, id(schema))
    found = _ROOTS.get(cache_key)
    if found is not None:
        return found[1]
    compiler = _builtin()
    if custom is None:
        definition = compiler.definitions.get(resource.definition or "")
        atom = compiler.compile(definition) if definition else DEDUCED_ATOM
    else:
        custom_compiler = _Compiler(compiler.definitions)
        schema_node: dict[str, Any] = dict(schema) if isinstance(schema, dict) else {}
        props = dict(schema_node.get("properties") or {})
        props["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}"}
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        schema_node["properties"] = props
        schema_node.setdefault("type", "object")
        atom = custom_compiler.compile(schema_node)
    _ROOTS[cache_key] = (schema, atom)
    return atom


def kind_of(atom: Atom, value: Any) -> str:
    """The kind a value is walked as: the schema's, or the value's own for deduced types and
    for values of the wrong JSON type (validation refuses those elsewhere)."""
    kind = atom.kind
    if kind == MAP and isinstance(value, dict):
        return MAP
    if kind == LIST and isinstance(value, list):
        return LIST
    if kind == DEDUCED and isinstance(value, dict):
        return DEDUCED
    return SCALAR


def item_key(atom: Atom, item: Any) -> str:
    """The path element of a non-atomic list's item: `k:{...}` for map lists, `v:` for sets
    (typed/helpers.go listItemToPathElement). Raises TypedError."""
    from watchproxy.registry.fieldmanager.fieldpath import key_pe, value_pe

    if not atom.keys:
        if isinstance(item, dict | list):
            raise TypedError("set items must be scalars")
        return value_pe(item)
    if not isinstance(item, dict):
        raise TypedError("associative list with keys may not have non-map elements")
    fields: dict[str, Any] = {}
    for key in atom.keys:
        if key in item and item[key] is not None:
            fields[key] = item[key]
        elif key in _KEY_DEFAULTS:
            fields[key] = _KEY_DEFAULTS[key]
        else:
            raise TypedError(
                f"associative list with keys has an element that omits key field {key!r} "
                "(and doesn't have default value)"
            )
    return key_pe(fields)


_ZEROS: dict[int, tuple[Atom, dict[str, Any]]] = {}


def empty_object(resource: ResourceType) -> dict[str, Any]:
    """kube's `Creater.New(kind)` as JSON: a built-in's Go zero value; for a custom resource an
    empty Unstructured, so its first writer owns `spec` itself (`f:spec: {".": {}}`)."""
    return {} if resource.custom is not None else zero_object(root_type(resource))


def zero_object(atom: Atom) -> dict[str, Any]:
    """The Go zero value of a type as JSON, approximately: what kube's `New(kind)` object has
    before a create -- value-typed structs as `{}` (their own zero values inside), required
    (not `omitempty`) lists and maps as null. Managed fields compare a create against it.
    Cached per type; callers must not mutate it."""
    cached = _ZEROS.get(id(atom))
    if cached is not None:
        return cached[1]
    out: dict[str, Any] = {}
    _ZEROS[id(atom)] = (atom, out)  # before recursing: recursive types end here
    if atom.kind != MAP:
        return out
    for name in atom.required:
        sub = atom.field_atom(name)
        if sub is not None and sub.kind in (LIST, MAP):
            out[name] = None
    for name in _VALUE_STRUCTS:
        sub = atom.field_atom(name)
        if sub is not None and sub.kind == MAP and sub.raw_fields:
            out[name] = zero_object(sub)
    return out


def with_zero(obj: dict[str, Any], zero: dict[str, Any]) -> dict[str, Any]:
    """`obj` with the zero value's fields where it has none (kube's typed round trip)."""
    out = dict(obj)
    for key, value in zero.items():
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict) and value:
            out[key] = with_zero(out[key], value)
    return out
