"""Build-time generation of the built-in type table and OpenAPI definitions.

Run by the hatchling build hook (hatch_build.py) and runnable by hand as
`python -m watchproxy.schema.generate`. Writes `watchproxy/schema/_generated/kube.json.gz`:

    {"kubernetesVersion": "1.37.0",
     "types": [{"group", "version", "kind", "plural", "namespaced", "verbs": [kube verbs],
                "subresources": [{"name", "group", "version", "kind", "verbs"}]}],
     "definitions": {"io.k8s.api.core.v1.Pod": <OpenAPI v2 schema>, ...}}

Sources, both maintained packages pinned in pyproject's build requirements, so adding a
Kubernetes version is a dependency bump:

* `lightkube-models` (lightkube/resources/*.py): group, version, kind, plural, scope, verbs and
  subresources of every REST resource. The modules are read with `ast`, not imported: they
  import lightkube's client core, which the build environment does not have.
* `kubernetes-validate` (kubernetes-json-schema/v<version>-local/_definitions.json): the
  definitions of kube-apiserver's OpenAPI document, turned from JSON Schema back into OpenAPI v2
  form (`#/definitions/` references, single `type`, IntOrString and Quantity as kube's OpenAPI
  writes them, the `apiVersion`/`kind` enums the JSON-Schema conversion added removed).

Only generally available versions (`v1`, `v2`, ...) are kept, as kube-apiserver enables by
default (alpha and beta APIs are off by default since 1.24, KEP-3136).

Standard library only: the build environment has nothing else.
"""

from __future__ import annotations

import ast
import gzip
import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "1.37.0"
OUTPUT = Path(__file__).resolve().parent / "_generated" / "kube.json.gz"

_GA = re.compile(r"^v\d+$")
# lightkube's verb names -> kube's
_VERBS = {
    "post": "create",
    "put": "update",
    "global_list": "",
    "global_watch": "",
}
_KUBE_VERB_ORDER = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)
_NAMESPACED_BASES = {"NamespacedResource", "NamespacedResourceG", "NamespacedSubResource"}
_SUB_BASES = {"NamespacedSubResource", "GlobalSubResource"}


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the build needs the package providing {name!r}")
    return Path(next(iter(spec.submodule_search_locations)))


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Call):  # res.ResourceDef('apps', 'v1', 'Deployment')
        return tuple(ast.literal_eval(arg) for arg in node.args)
    return ast.literal_eval(node)


def _api_infos(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cls in ast.parse(path.read_text()).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        bases = {b.attr for b in cls.bases if isinstance(b, ast.Attribute)}
        for stmt in cls.body:
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == "_api_info"
                and isinstance(stmt.value, ast.Call)
            ):
                info = {kw.arg: _literal(kw.value) for kw in stmt.value.keywords if kw.arg}
                info["namespaced"] = bool(bases & _NAMESPACED_BASES)
                info["sub"] = bool(bases & _SUB_BASES)
                out.append(info)
    return out


def _kube_verbs(verbs: list[str]) -> list[str]:
    mapped = {_VERBS.get(v, v) for v in verbs} - {""}
    return sorted(mapped, key=lambda v: (*_KUBE_VERB_ORDER, v).index(v))


def build_types(resources_dir: Path) -> list[dict[str, Any]]:
    """The REST resources of every GA group version, sorted by (group, version, plural)."""
    types: dict[tuple[str, str, str], dict[str, Any]] = {}
    subs: list[dict[str, Any]] = []
    for path in sorted(resources_dir.glob("*.py")):
        for info in _api_infos(path):
            group, version, kind = info["resource"]
            if info["sub"]:
                subs.append(info)
                continue
            if not _GA.match(version):
                continue
            types[(group, version, info["plural"])] = {
                "group": group,
                "version": version,
                "kind": kind,
                "plural": info["plural"],
                "namespaced": info["namespaced"],
                "verbs": _kube_verbs(info["verbs"]),
                "subresources": [],
            }
    for info in subs:
        pgroup, pversion, _pkind = info["parent"]
        parent = types.get((pgroup, pversion, info["plural"]))
        if parent is None:
            continue
        group, version, kind = info["resource"]
        parent["subresources"].append(
            {
                "name": info["action"],
                "group": group,
                "version": version,
                "kind": kind,
                "verbs": _kube_verbs(info["verbs"]),
            }
        )
    for t in types.values():
        t["subresources"].sort(key=lambda s: s["name"])
    return [types[k] for k in sorted(types)]


_REF = "#/$defs/"


def _openapi(node: Any, *, kind_root: bool = False) -> Any:
    """One JSON-Schema node back to OpenAPI v2 form (recursively)."""
    if isinstance(node, list):
        return [_openapi(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
            out[key] = "#/definitions/" + value[len(_REF) :]
        elif key == "type" and isinstance(value, list):
            kept = [t for t in value if t != "null"]
            out[key] = kept[0] if len(kept) == 1 else kept
        elif key == "properties" and isinstance(value, dict):
            props = {}
            for name, prop in value.items():
                prop = _openapi(prop)
                if kind_root and name in ("apiVersion", "kind") and isinstance(prop, dict):
                    prop.pop("enum", None)
                props[name] = prop
            out[key] = props
        else:
            out[key] = _openapi(value)
    return out


# kube's OpenAPI writes these two as strings with a format (apimachinery's OpenAPIDefinition
# of intstr.IntOrString and resource.Quantity); the JSON-Schema conversion made them oneOf.
_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": None,
}


def build_definitions(definitions_file: Path) -> dict[str, Any]:
    raw = json.loads(definitions_file.read_text())["$defs"]
    out: dict[str, Any] = {}
    for name, schema in sorted(raw.items()):
        converted = _openapi(schema, kind_root="x-kubernetes-group-version-kind" in schema)
        if name in _SPECIAL:
            converted.pop("oneOf", None)
            converted["type"] = "string"
            fmt = _SPECIAL[name]
            if fmt:
                converted["format"] = fmt
        out[name] = converted
    return out


def generate(output: Path = OUTPUT) -> Path:
    resources_dir = _package_dir("lightkube.resources")
    schemas_dir = _package_dir("kubernetes_validate") / "kubernetes-json-schema"
    definitions_file = schemas_dir / f"v{KUBERNETES_VERSION}-local" / "_definitions.json"
    if not definitions_file.exists():
        raise RuntimeError(f"kubernetes-validate has no schemas for {KUBERNETES_VERSION}")
    data = {
        "kubernetesVersion": KUBERNETES_VERSION,
        "types": build_types(resources_dir),
        "definitions": build_definitions(definitions_file),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    (output.parent / "__init__.py").touch()
    body = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    output.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    return output


def main() -> None:
    path = generate()
    print(f"wrote {path} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
