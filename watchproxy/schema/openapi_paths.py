"""The `paths` of the OpenAPI documents: one entry per served resource endpoint and its operations.

The routes are kube-apiserver's (`staging/src/k8s.io/apiserver/pkg/endpoints/installer.go`
`registerResourceHandlers`): for a resource R in group version GV,

- `/GV/namespaces/{namespace}/R` (`/GV/R` when cluster-scoped): list, create, deletecollection;
- `.../R/{name}`: read, replace, patch, delete; `.../R/{name}/<subresource>` likewise;
- `/GV/R` for a namespaced R: list across namespaces (`...ForAllNamespaces`).

Operation ids and tags follow `staging/src/k8s.io/apiserver/pkg/endpoints/openapi/openapi.go`
(`GetOperationIDAndTags`: `listCoreV1NamespacedPod`, tag `core_v1`); custom resources get json
and yaml bodies and no strategic merge patch
(`staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder/builder.go`
`buildRoute`). The deprecated `/watch/` paths are not listed (clients use `?watch=true`).

`path_items(resource, defs)` returns `PathItem`s; `render_v2` / `render_v3` write them as a
Swagger 2.0 or OpenAPI 3.0 path map (refs `#/definitions/` or `#/components/schemas/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from watchproxy.resources import ResourceType
from watchproxy.schema import openapi_params as params

JsonObject = dict[str, Any]

_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
STATUS = _META + "Status"
DELETE_OPTIONS = _META + "DeleteOptions"
PATCH = _META + "Patch"
_PATCH_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_WATCH = ("application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of a path, independent of the OpenAPI version it is written in."""

    method: str  # lower-case HTTP method: get, post, put, patch, delete
    action: str  # x-kubernetes-action: list, post, get, put, patch, delete, deletecollection
    operation_id: str
    description: str
    query: tuple[str, ...]
    responses: dict[str, tuple[str, str]]  # code -> (description, definition name)
    body: str | None = None  # the request body's definition name
    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()
    gvk: JsonObject = field(default_factory=dict)
    tag: str = ""


@dataclass(frozen=True)
class PathItem:
    path: str
    path_params: tuple[tuple[str, str], ...]  # (name, description)
    operations: tuple[Operation, ...]


def group_token(group: str) -> str:
    """`rbac.authorization.k8s.io` -> `RbacAuthorization`, "" -> `Core` (openapi.go)."""
    if not group:
        return "Core"
    parts = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(part[:1].upper() + part[1:] for part in parts)


def _article(kind: str) -> str:
    return "an" if kind[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class _Scope:
    """What every operation of one resource shares."""

    resource: ResourceType
    gv: str  # CoreV1
    tag: str  # core_v1
    produces: tuple[str, ...]
    writes: tuple[str, ...]
    patches: tuple[str, ...]

    def op(self, method: str, action: str, op_id: str, desc: str, **kw: Any) -> Operation:
        r = self.resource
        kw.setdefault("produces", self.produces)
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        return Operation(method, action, op_id, desc, gvk=gvk, tag=self.tag, **kw)

    def object_ops(self, verbs: tuple[str, ...], sub: str, target: str) -> list[Operation]:
        """read / replace / patch / create (subresources) / delete of one object or its `sub`."""
        r, scope = self.resource, "Namespaced" if self.resource.namespaced else ""
        name = f"{self.gv}{scope}{r.kind}{sub[:1].upper()}{sub[1:]}"
        what = f"{sub} of the specified {r.kind}" if sub else f"the specified {r.kind}"
        ok = {"200": ("OK", target)}
        created = {**ok, "201": ("Created", target)}
        ops: list[Operation] = []
        if "get" in verbs:
            ops.append(self.op("get", "get", "read" + name, f"read {what}", query=(), responses=ok))
        if "update" in verbs:
            ops.append(
                self.op(
                    "put",
                    "put",
                    "replace" + name,
                    f"replace {what}",
                    query=params.WRITE,
                    body=target,
                    consumes=self.writes,
                    responses=created,
                )
            )
        if "patch" in verbs:
            ops.append(
                self.op(
                    "patch",
                    "patch",
                    "patch" + name,
                    f"partially update {what}",
                    query=params.PATCH,
                    body=PATCH,
                    consumes=self.patches,
                    responses=created,
                )
            )
        if "create" in verbs and sub:
            ops.append(
                self.op(
                    "post",
                    "post",
                    "create" + name,
                    f"create {sub} of {_article(r.kind)} {r.kind}",
                    query=params.WRITE,
                    body=target,
                    consumes=self.writes,
                    responses={**created, "202": ("Accepted", target)},
                )
            )
        if "delete" in verbs and not sub:
            ops.append(
                self.op(
                    "delete",
                    "delete",
                    "delete" + name,
                    f"delete {_article(r.kind)} {r.kind}",
                    query=params.DELETE,
                    body=DELETE_OPTIONS,
                    consumes=self.writes,
                    responses={"200": ("OK", STATUS), "202": ("Accepted", STATUS)},
                )
            )
        return ops


def path_items(resource: ResourceType, defs: dict[str, str]) -> list[PathItem]:
    """The path items of one resource. `defs` maps `kind`, `list` and `sub:<name>` to the
    definition names the operations read and write (a missing key leaves its operations out)."""
    r = resource
    root = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    token = group_token(r.group)
    builtin = r.custom is None
    s = _Scope(
        resource=r,
        gv=token + r.version[:1].upper() + r.version[1:],
        tag=f"{token[:1].lower()}{token[1:]}_{r.version}",
        produces=("application/json", "application/yaml")
        + (("application/vnd.kubernetes.protobuf",) if builtin else ()),
        writes=("*/*",) if builtin else ("application/json", "application/yaml"),
        patches=_PATCH_TYPES if builtin else _PATCH_TYPES[:3],
    )
    scope = "Namespaced" if r.namespaced else ""
    kind_def, list_def = defs.get("kind", ""), defs.get("list", "")
    watchable = (*s.produces, *(_WATCH if builtin else _WATCH[:1]))
    base = f"{root}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{root}/{r.plural}"
    ns = (("namespace", "object name and auth scope, such as for teams and projects"),)
    base_params = ns if r.namespaced else ()
    name_params = (("name", f"name of the {r.kind}"), *base_params)
    items: list[PathItem] = []
    coll: list[Operation] = []
    if "list" in r.verbs and list_def:
        coll.append(
            s.op(
                "get",
                "list",
                f"list{s.gv}{scope}{r.kind}",
                f"list or watch objects of kind {r.kind}",
                query=params.LIST,
                responses={"200": ("OK", list_def)},
                produces=watchable,
            )
        )
    if "create" in r.verbs and kind_def:
        coll.append(
            s.op(
                "post",
                "post",
                f"create{s.gv}{scope}{r.kind}",
                f"create {_article(r.kind)} {r.kind}",
                query=params.WRITE,
                body=kind_def,
                consumes=s.writes,
                responses={
                    "200": ("OK", kind_def),
                    "201": ("Created", kind_def),
                    "202": ("Accepted", kind_def),
                },
            )
        )
    if "deletecollection" in r.verbs:
        coll.append(
            s.op(
                "delete",
                "deletecollection",
                f"delete{s.gv}Collection{scope}{r.kind}",
                f"delete collection of {r.kind}",
                query=params.DELETE_COLLECTION,
                body=DELETE_OPTIONS,
                consumes=s.writes,
                responses={"200": ("OK", STATUS)},
            )
        )
    if coll:
        items.append(PathItem(base, base_params, tuple(coll)))
    if kind_def and (one := s.object_ops(r.verbs, "", kind_def)):
        items.append(PathItem(base + "/{name}", name_params, tuple(one)))
    for sub, (_kind, verbs) in sorted(r.subresources.items()):
        target = defs.get("sub:" + sub)
        if target and (ops := s.object_ops(verbs, sub, target)):
            items.append(PathItem(f"{base}/{{name}}/{sub}", name_params, tuple(ops)))
    if r.namespaced and "list" in r.verbs and list_def:
        every = s.op(
            "get",
            "list",
            f"list{s.gv}{r.kind}ForAllNamespaces",
            f"list or watch objects of kind {r.kind}",
            query=params.LIST,
            responses={"200": ("OK", list_def)},
            produces=watchable,
        )
        items.append(PathItem(f"{root}/{r.plural}", (), (every,)))
    return items


def render_v2(items: list[PathItem]) -> JsonObject:
    """Swagger 2.0 `paths` (kube-openapi `pkg/builder/openapi.go`)."""
    ref = "#/definitions/"
    out: JsonObject = {}
    for item in items:
        entry: JsonObject = {}
        for o in item.operations:
            body = (
                [
                    {
                        "name": "body",
                        "in": "body",
                        "required": o.method != "delete",
                        "schema": {"$ref": ref + o.body},
                    }
                ]
                if o.body
                else []
            )
            responses: JsonObject = {
                code: {"description": desc, "schema": {"$ref": ref + name}}
                for code, (desc, name) in o.responses.items()
            }
            responses["401"] = {"description": "Unauthorized"}
            entry[o.method] = {
                "description": o.description,
                "consumes": list(o.consumes or ("*/*",)),
                "produces": list(o.produces),
                "schemes": ["https"],
                "tags": [o.tag],
                "operationId": o.operation_id,
                "parameters": body + [params.v2_param(n) for n in o.query],
                "responses": responses,
                "x-kubernetes-action": o.action,
                "x-kubernetes-group-version-kind": o.gvk,
            }
        entry["parameters"] = [
            *(params.v2_param(name, "path", desc) for name, desc in item.path_params),
            params.v2_param("pretty"),
        ]
        out[item.path] = entry
    return out


def render_v3(items: list[PathItem]) -> JsonObject:
    """OpenAPI 3.0 `paths` (kube-openapi `pkg/builder3/openapi.go`): parameters carry a
    `schema`, bodies are `requestBody.content`, responses list `content` per media type."""
    ref = "#/components/schemas/"
    out: JsonObject = {}
    for item in items:
        entry: JsonObject = {}
        for o in item.operations:
            op: JsonObject = {
                "description": o.description,
                "operationId": o.operation_id,
                "parameters": [params.v3_param(n) for n in o.query],
            }
            if o.body:
                content = {t: {"schema": {"$ref": ref + o.body}} for t in o.consumes}
                op["requestBody"] = {"content": content}
                if o.method != "delete":
                    op["requestBody"]["required"] = True
            responses: JsonObject = {
                code: {
                    "content": {t: {"schema": {"$ref": ref + name}} for t in o.produces},
                    "description": desc,
                }
                for code, (desc, name) in o.responses.items()
            }
            responses["401"] = {"description": "Unauthorized"}
            op["responses"] = responses
            op["tags"] = [o.tag]
            op["x-kubernetes-action"] = o.action
            op["x-kubernetes-group-version-kind"] = o.gvk
            entry[o.method] = op
        entry["parameters"] = [
            *(params.v3_param(name, "path", desc) for name, desc in item.path_params),
            params.v3_param("pretty"),
        ]
        out[item.path] = entry
    return out
