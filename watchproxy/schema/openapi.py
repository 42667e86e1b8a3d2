"""The OpenAPI documents kube-apiserver serves, built from the Registry: Swagger 2.0 for
`/openapi/v2`, OpenAPI 3.0 per group version for `/openapi/v3/<api/v1|apis/G/V>`.

- Built-in types: the generated kube 1.37 definitions (`watchproxy.schema.builtin`), the ones the
  served resources reach through `$ref` (kind, list, subresource kinds, and the meta types every
  operation uses: DeleteOptions, Status, Patch, WatchEvent).
- Custom resources: one definition per served version from the CRD's `openAPIV3Schema`
  (`ResourceType.custom.schema`) as `staging/src/k8s.io/apiextensions-apiserver/pkg/controller/
  openapi/builder/builder.go` builds it: named `<reversed group>.<version>.<Kind>`
  (`gvkToModelName`), `metadata` a `$ref` to ObjectMeta, `apiVersion`/`kind` from TypeMeta,
  `x-kubernetes-group-version-kind`, plus the `<Kind>List`. For v2 the schema is first cut down
  as `pkg/controller/openapi/v2/conversion.go` `ToStructuralOpenAPIV2` does (no
  allOf/anyOf/oneOf/not, nullable and preserve-unknown-fields nodes lose their type).
- v3 differs from v2 as kube-openapi's `pkg/builder3` output does: refs are
  `#/components/schemas/<name>`, a `$ref` with siblings (description, default) is wrapped as
  `allOf: [{$ref}]` (`pkg/builder3/util/util.go` `WrapRefs`), and IntOrString / Quantity are
  `oneOf` their types (`OpenAPIV3OneOfTypes` in apimachinery's intstr.go and quantity.go).

Documents are plain dicts (JSON-ready); building the full v2 takes tens of milliseconds, so
callers cache them (watchproxy/api/openapi.py).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from watchproxy.resources import ResourceType
from watchproxy.schema import builtin
from watchproxy.schema.openapi_paths import (
    DELETE_OPTIONS,
    PATCH,
    STATUS,
    PathItem,
    path_items,
    render_v2,
    render_v3,
)

JsonObject = dict[str, Any]

V2_REF = "#/definitions/"
V3_REF = "#/components/schemas/"
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = _META + "ObjectMeta"
LIST_META = _META + "ListMeta"
# Every group version's operations use these (kube-openapi adds them through the routes).
_COMMON = (DELETE_OPTIONS, STATUS, PATCH, _META + "WatchEvent")
_SECURITY_V2: JsonObject = {
    "securityDefinitions": {
        "BearerToken": {
            "description": "Bearer Token authentication",
            "type": "apiKey",
            "name": "authorization",
            "in": "header",
        }
    },
    "security": [{"BearerToken": []}],
}
# apiextensions-apiserver builder.go swaggerPartialObjectMetadata(List)Descriptions.
_OBJECT_META_DOC = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_LIST_META_DOC = (
    "Standard list metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_V3_ONE_OF = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": ("integer", "string"),
    "io.k8s.apimachinery.pkg.api.resource.Quantity": ("string", "number"),
}


def info() -> JsonObject:
    return {"title": "Kubernetes", "version": f"v{builtin.load().kubernetes_version}"}


def gv_path(group: str, version: str) -> str:
    """The /openapi/v3 key of a group version: `api/v1`, `apis/apps/v1`."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def custom_model_name(group: str, version: str, kind: str) -> str:
    """`stable.example.com`, v1, CronTab -> `com.example.stable.v1.CronTab` (gvkToModelName)."""
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def _type_meta() -> tuple[JsonObject, JsonObject]:
    """TypeMeta's apiVersion and kind properties (the same text on every kind)."""
    pod = builtin.load().definitions["io.k8s.api.core.v1.Pod"]["properties"]
    return pod["apiVersion"], pod["kind"]


def _v2_structural(node: Any) -> Any:
    """ToStructuralOpenAPIV2 on one node, recursively (a deep copy)."""
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    s = {k: v for k, v in node.items() if k not in ("allOf", "anyOf", "oneOf", "not", "nullable")}
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), dict):
            s[key] = _v2_structural(s[key])
    if isinstance(s.get("properties"), dict):
        s["properties"] = {k: _v2_structural(v) for k, v in s["properties"].items()}
        nullable = {k for k, v in node["properties"].items() if (v or {}).get("nullable")}
        if nullable and "required" in s:
            s["required"] = [f for f in s["required"] if f not in nullable]
            if not s["required"]:
                del s["required"]
    if node.get("nullable"):
        for key in ("type", "items", "properties"):
            s.pop(key, None)
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if preserve:
        s.pop("items", None)
        s.pop("properties", None)
    if (s.get("type") == "array" and "items" not in s) or (preserve and s.get("type") == "object"):
        del s["type"]
    additional = node.get("additionalProperties")
    if isinstance(additional, dict) and additional.get("nullable"):
        s.pop("required", None)
    return s


def custom_definitions(resource: ResourceType, *, v2: bool) -> dict[str, JsonObject]:
    """The kind and list definitions of one served custom resource version (builder.go
    `buildKubeNative`, `buildListSchema`), refs in v2 form. {} for a built-in."""
    info_ = resource.custom
    if info_ is None:
        return {}
    g, v = resource.group, resource.version
    name = custom_model_name(g, v, resource.kind)
    api_version, kind = _type_meta()
    schema = info_.schema
    root: JsonObject
    if schema is None or (v2 and schema.get("x-kubernetes-preserve-unknown-fields") is True):
        root = {"type": "object"}
    else:
        root = _v2_structural(schema) if v2 else copy.deepcopy(schema)
        props = root.setdefault("properties", {})
        props["metadata"] = {"$ref": V2_REF + OBJECT_META, "description": _OBJECT_META_DOC}
        props["apiVersion"], props["kind"] = copy.deepcopy(api_version), copy.deepcopy(kind)
    root["x-kubernetes-group-version-kind"] = [{"group": g, "version": v, "kind": resource.kind}]
    list_doc = (
        f"List of {resource.plural}. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
    )
    listing: JsonObject = {
        "description": f"{resource.list_kind} is a list of {resource.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": copy.deepcopy(api_version),
            "items": {"description": list_doc, "type": "array", "items": {"$ref": V2_REF + name}},
            "kind": copy.deepcopy(kind),
            "metadata": {"$ref": V2_REF + LIST_META, "description": _LIST_META_DOC},
        },
        "x-kubernetes-group-version-kind": [{"group": g, "version": v, "kind": resource.list_kind}],
    }
    return {name: root, custom_model_name(g, v, resource.list_kind): listing}


def _builtin_defs(resource: ResourceType) -> dict[str, str]:
    """kind / list / sub:<name> -> definition name of a built-in resource."""
    types = builtin.load()
    out: dict[str, str] = {}
    kind = resource.definition or types.definition_name(
        resource.group, resource.version, resource.kind
    )
    if kind:
        out["kind"] = kind
    listing = types.definition_name(resource.group, resource.version, resource.list_kind)
    if listing:
        out["list"] = listing
    known = {
        (t["group"], t["version"], t["plural"]): {s["name"]: s for s in t["subresources"]}
        for t in types.types
    }.get((resource.group, resource.version, resource.plural), {})
    for sub, (sub_kind, _verbs) in resource.subresources.items():
        entry = known.get(sub)
        gvk = (entry["group"], entry["version"], entry["kind"]) if entry else None
        name = (types.definition_name(*gvk) if gvk else None) or types.definition_name(
            resource.group, resource.version, sub_kind
        )
        if name:
            out["sub:" + sub] = name
    return out


def resource_defs(resource: ResourceType) -> dict[str, str]:
    """kind / list / sub:<name> -> definition name, for path_items."""
    if resource.custom is None:
        return _builtin_defs(resource)
    name = custom_model_name(resource.group, resource.version, resource.kind)
    out = {"kind": name, "list": name + "List"}
    for sub in resource.subresources:
        # A CRD's status is its own kind, scale is autoscaling/v1 Scale (builder.go).
        out["sub:" + sub] = name if sub == "status" else "io.k8s.api.autoscaling.v1.Scale"
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def closure(definitions: dict[str, JsonObject], roots: Iterable[str]) -> dict[str, JsonObject]:
    """`roots` and every definition they reach through `$ref`, sorted by name; names not in
    `definitions` are left out."""
    seen: set[str] = set()
    todo = [r for r in roots if r in definitions]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found: set[str] = set()
        _refs(definitions[name], found)
        todo.extend(n for n in found if n in definitions and n not in seen)
    return {name: definitions[name] for name in sorted(seen)}


def _definitions(
    resources: Iterable[ResourceType], *, v2: bool
) -> tuple[dict[str, JsonObject], list[PathItem]]:
    pool: dict[str, JsonObject] = dict(builtin.load().definitions)
    roots: list[str] = list(_COMMON)
    items: list[PathItem] = []
    for r in resources:
        pool.update(custom_definitions(r, v2=v2))
        defs = resource_defs(r)
        roots.extend(defs.values())
        items.extend(path_items(r, defs))
    return closure(pool, roots), items


def build_v2(resources: Iterable[ResourceType]) -> JsonObject:
    """The Swagger 2.0 document of `resources` (the served ones: `Registry.all`)."""
    definitions, items = _definitions(resources, v2=True)
    return {
        "swagger": "2.0",
        "info": info(),
        "paths": dict(sorted(render_v2(items).items())),
        "definitions": definitions,
        **_SECURITY_V2,
    }


def to_v3(node: Any) -> Any:
    """A v2 schema node in OpenAPI 3.0 form: component refs, `$ref` with siblings wrapped in
    `allOf` (WrapRefs). Returns a new structure; `node` is not changed."""
    if isinstance(node, list):
        return [to_v3(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: JsonObject = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            ref = V3_REF + value.rsplit("/", 1)[-1]
            if len(node) == 1:
                return {"$ref": ref}
            out["allOf"] = [{"$ref": ref}]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {prop: to_v3(schema) for prop, schema in value.items()}
        elif key in ("enum", "default", "example", "x-kubernetes-list-map-keys"):
            out[key] = value
        else:
            out[key] = to_v3(value)
    return out


def _v3_schema(name: str, schema: JsonObject) -> JsonObject:
    types = _V3_ONE_OF.get(name)
    if types is None:
        return dict(sorted(to_v3(schema).items()))
    out = {k: v for k, v in schema.items() if k != "type"}
    out["oneOf"] = [{"type": t} for t in types]
    return dict(sorted(out.items()))


def build_v3(group: str, version: str, resources: Iterable[ResourceType]) -> JsonObject:
    """The OpenAPI 3.0 document of one group version's `resources`."""
    served = [r for r in resources if r.group == group and r.version == version]
    definitions, items = _definitions(served, v2=False)
    return {
        "openapi": "3.0.0",
        "info": info(),
        "paths": dict(sorted(render_v3(items).items())),
        "components": {
            "schemas": {name: _v3_schema(name, s) for name, s in definitions.items()},
            "securitySchemes": {"BearerToken": _SECURITY_V2["securityDefinitions"]["BearerToken"]},
        },
        "security": _SECURITY_V2["security"],
    }


def group_versions(resources: Iterable[ResourceType]) -> dict[str, tuple[str, str]]:
    """`api/v1` / `apis/G/V` -> (group, version) of every served group version, sorted."""
    return dict(
        sorted({gv_path(r.group, r.version): (r.group, r.version) for r in resources}.items())
    )
