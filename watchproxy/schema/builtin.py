"""The built-in Kubernetes types and their OpenAPI definitions, as generated at build time.

`watchproxy/schema/generate.py` writes `_generated/kube.json.gz` from lightkube-models (the
REST table) and kubernetes-validate (the OpenAPI definitions); this module loads it once.
Shapes: `BuiltinTypes.types` is a list of dicts {group, version, kind, plural, namespaced,
verbs, subresources: [{name, group, version, kind, verbs}]}; `definitions` maps an OpenAPI
definition name (`io.k8s.api.core.v1.Pod`) to its OpenAPI v2 schema (`$ref`s are
`#/definitions/<name>`).
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class BuiltinTypes:
    kubernetes_version: str  # "1.37.0"
    types: list[JsonObject]
    definitions: dict[str, JsonObject]
    # (group, version, kind) -> definition name, from x-kubernetes-group-version-kind
    by_gvk: dict[tuple[str, str, str], str]

    def definition_name(self, group: str, version: str, kind: str) -> str | None:
        return self.by_gvk.get((group, version, kind))


@functools.cache
def load() -> BuiltinTypes:
    """Read the generated table (about 40 ms, once per process).

    Raises RuntimeError naming the fix when the build step did not run."""
    try:
        raw = (resources.files("watchproxy.schema._generated") / "kube.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise RuntimeError(
            "watchproxy/schema/_generated/kube.json.gz is missing: reinstall watchproxy"
            " (pip install -e .) or run `python -m watchproxy.schema.generate`"
        ) from exc
    data = orjson.loads(gzip.decompress(raw))
    by_gvk: dict[tuple[str, str, str], str] = {}
    for name, schema in data["definitions"].items():
        for gvk in schema.get("x-kubernetes-group-version-kind") or ():
            by_gvk[(gvk.get("group", ""), gvk["version"], gvk["kind"])] = name
    return BuiltinTypes(
        kubernetes_version=data["kubernetesVersion"],
        types=data["types"],
        definitions=data["definitions"],
        by_gvk=by_gvk,
    )
