"""Unknown fields of an object against its OpenAPI schema: found, and removed.

Two kube rules meet here, and agree on everything this module decides:

* Built-in types are decoded into Go structs; a JSON key no struct field claims is dropped, and
  under `fieldValidation=Strict|Warn` reported (sigs.k8s.io/json internal/golang/encoding/json
  decode.go, `unknown field "spec.containers[0].foo"`). Types with their own UnmarshalJSON
  (RawExtension, FieldsV1, apiextensions JSON) take anything.
* Custom resources are pruned against their structural schema (apiextensions-apiserver
  pkg/apiserver/schema/pruning/algorithm.go): `properties` are known, `additionalProperties`
  makes every key known, `x-kubernetes-preserve-unknown-fields` keeps unknown keys (and still
  prunes below the known ones), `x-kubernetes-embedded-resource` (and the root) skips
  apiVersion/kind and checks metadata as ObjectMeta (schema/objectmeta/coerce.go).

Paths are kube's: no leading dot, `spec.containers[0].foo`, map keys as fields
(`spec.template.metadata.labels.x` would be one, were a label ever unknown). They come in the
order the walk meets them: the document's order (dicts keep it), which is the order kube's JSON
decoder reports built-in types in. kube sorts a custom resource's pruned paths: callers that
report those sort them (registry/decoding.py does).

Schemas compile once into small nodes (per definition, per CRD schema object), so a Pod write
costs one walk over the containers and lists of its body, with scalar fields skipped unseen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Definitions whose Go type decodes any JSON (its own UnmarshalJSON): nothing in them is unknown.
OPAQUE_DEFINITIONS = frozenset(
    {
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
        "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
    }
)
_META_FIELDS = frozenset({"apiVersion", "kind", "metadata"})
_CACHE_SIZE = 64


class Node:
    """One compiled schema. `properties` None = opaque (anything goes)."""

    __slots__ = ("additional", "embedded", "has_additional", "items", "preserve", "properties")

    def __init__(self) -> None:
        self.properties: dict[str, Node | None] | None = {}
        self.has_additional = False
        self.additional: Node | None = None  # `additionalProperties: true`: kube's nil schema
        self.items: Node | None = None
        self.preserve = False
        self.embedded = False


_EMPTY = Node()


class Compiler:
    """Compiles schemas against one `definitions` mapping; `$ref`s resolve lazily and once."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]]) -> None:
        self.definitions = definitions
        self.named: dict[str, Node] = {}
        # id(schema) -> (schema, node): the schema is held so its id is not reused.
        self.inline: OrderedDict[int, tuple[Mapping[str, Any], Node | None]] = OrderedDict()

    def root(self, schema: Mapping[str, Any]) -> Node | None:
        cached = self.inline.get(id(schema))
        if cached is not None and cached[0] is schema:
            self.inline.move_to_end(id(schema))
            return cached[1]
        node = self.node(schema)
        self.inline[id(schema)] = (schema, node)
        if len(self.inline) > _CACHE_SIZE:
            self.inline.popitem(last=False)
        return node

    def meta(self) -> Node | None:
        return self.definition(OBJECT_META) if OBJECT_META in self.definitions else None

    def node(self, schema: Any) -> Node | None:
        if not isinstance(schema, Mapping):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self.definition(ref.rsplit("/", 1)[-1])
        node = Node()
        self._fill(node, schema)
        return node

    def definition(self, name: str) -> Node:
        node = self.named.get(name)
        if node is not None:
            return node
        node = self.named[name] = Node()  # registered first: definitions refer to themselves
        schema = self.definitions.get(name)
        if schema is None or name in OPAQUE_DEFINITIONS or "type" not in schema:
            # Unknown, custom-decoded, or untyped (`{}`: any JSON) definitions take anything.
            node.properties = None
        else:
            self._fill(node, schema)
        return node

    def _fill(self, node: Node, schema: Mapping[str, Any]) -> None:
        node.properties = {k: self.node(v) for k, v in (schema.get("properties") or {}).items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) or extra is True:
            node.has_additional = True
            node.additional = self.node(extra)
        node.items = self.node(schema.get("items"))
        node.preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        node.embedded = schema.get("x-kubernetes-embedded-resource") is True


_compilers: OrderedDict[int, tuple[Mapping[str, Any], Compiler]] = OrderedDict()


def compiler_for(definitions: Mapping[str, Mapping[str, Any]]) -> Compiler:
    """The (cached) compiler of `definitions`: the built-in ones live as long as the process."""
    cached = _compilers.get(id(definitions))
    if cached is not None and cached[0] is definitions:
        return cached[1]
    compiler = Compiler(definitions)
    _compilers[id(definitions)] = (definitions, compiler)
    if len(_compilers) > _CACHE_SIZE:
        _compilers.popitem(last=False)
    return compiler


class Walk:
    """One walk over an object. `found` collects (is_duplicate, path) in walk order;
    `duplicates` maps the path of a dict to its keys that appeared twice in the body (reported
    where the walk meets the key, as kube's strict decoder reports them: only in what it
    decodes, never inside unknown or opaque fields)."""

    def __init__(
        self,
        meta: Node | None,
        *,
        remove: bool,
        duplicates: Mapping[str, Iterable[str]] | None = None,
        sort_keys: bool = False,
    ) -> None:
        self.meta = meta
        self.remove = remove
        self.duplicates = duplicates or {}
        self.sort_keys = sort_keys
        self.found: list[tuple[bool, str]] = []

    def prune(self, value: Any, node: Node | None, path: str, *, root: bool = False) -> None:
        if node is not None and node.properties is None:
            return
        if node is not None and node.preserve:
            self.skip(value, node, path)
            return
        if isinstance(value, dict):
            if node is None:
                if root:
                    node = _EMPTY
                else:
                    for key in self._keys(value):
                        self.found.append((False, _child(path, key)))
                    if self.remove:
                        value.clear()
                    return
            self._object(value, node, path, embedded=root or node.embedded, keep_unknown=False)
        elif isinstance(value, list):
            items = node.items if node is not None else None
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    self.prune(item, items, f"{path}[{index}]")

    def skip(self, value: Any, node: Node | None, path: str) -> None:
        """kube's skipPrune under x-kubernetes-preserve-unknown-fields: unknown keys stay."""
        if node is None:
            return
        if isinstance(value, dict):
            self._object(value, node, path, embedded=node.embedded, keep_unknown=True)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict | list):
                    self.skip(item, node.items, f"{path}[{index}]")

    def _object(
        self, value: dict[str, Any], node: Node, path: str, *, embedded: bool, keep_unknown: bool
    ) -> None:
        properties = node.properties or {}
        twice = self.duplicates.get(path) if self.duplicates else None
        unknown: list[str] = []
        pairs = sorted(value.items()) if self.sort_keys else value.items()
        for key, item in pairs:
            # Paths are built only where needed: most fields are known scalars.
            if twice and key in twice:
                self.found.append((True, _child(path, key)))
            if embedded and key in _META_FIELDS:
                if key == "metadata" and self.meta is not None and type(item) is dict:
                    self.prune(item, self.meta, _child(path, key))
                continue
            if key in properties:
                sub = properties[key]
            elif node.has_additional:
                sub = node.additional
            else:
                if not keep_unknown:
                    self.found.append((False, _child(path, key)))
                    unknown.append(key)
                continue
            if type(item) is dict or type(item) is list:
                self.prune(item, sub, _child(path, key))
        if self.remove:
            for key in unknown:
                del value[key]

    def _keys(self, value: dict[str, Any]) -> list[str]:
        return sorted(value) if self.sort_keys else list(value)


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def unknown_fields(
    obj: Any,
    schema: Mapping[str, Any],
    definitions: Mapping[str, Mapping[str, Any]],
    *,
    remove: bool,
) -> list[str]:
    """The paths of `obj`'s fields that `schema` does not know, in document order; with
    `remove`, they are deleted from `obj` in place.

    `schema` is an OpenAPI schema: a built-in definition (or `{"$ref": "#/definitions/X"}`),
    resolved against `definitions` (`watchproxy.schema.builtin.load().definitions`), or a CRD's
    structural `openAPIV3Schema` (its metadata is checked as ObjectMeta when `definitions` has
    that definition, else left alone). The root is a resource: apiVersion, kind and metadata
    are never unknown there. Never raises for any JSON value."""
    compiler = compiler_for(definitions)
    walk = Walk(compiler.meta(), remove=remove)
    walk.prune(obj, compiler.root(schema), "", root=True)
    return [path for _, path in walk.found]
