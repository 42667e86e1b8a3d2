"""Discovery documents (/version, /api, /apis, /api/v1, /apis/<group>/<version>), built once
from the resource registry."""

from __future__ import annotations

from typing import Any

import orjson

from watchproxy import __version__
from watchproxy.resources import Registry, ResourceType


def _resource_entry(r: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    return entry


def _resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for r in registry.in_group_version(group, version):
        resources.append(_resource_entry(r))
        for name, (kind, verbs) in r.subresources.items():
            resources.append(
                {
                    "name": f"{r.plural}/{name}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": kind,
                    "verbs": list(verbs),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def build_documents(registry: Registry) -> dict[str, bytes]:
    """path -> JSON body; each path is also served with a trailing slash (kr8s asks that way)."""
    docs: dict[str, Any] = {
        "/version": {
            "major": "1",
            "minor": "35",
            "gitVersion": f"v1.35.0-watchproxy.{__version__}",
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": "",
            "goVersion": "python",
            "compiler": "watchproxy",
            "platform": "linux/amd64",
        },
        "/api": {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        },
        "/api/v1": _resource_list(registry, "", "v1"),
    }
    groups = []
    for group, versions in registry.groups().items():
        gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        group_doc = {"name": group, "versions": gv, "preferredVersion": gv[0]}
        groups.append(group_doc)
        docs[f"/apis/{group}"] = {"kind": "APIGroup", "apiVersion": "v1", **group_doc}
        for v in versions:
            docs[f"/apis/{group}/{v}"] = _resource_list(registry, group, v)
    docs["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    docs.update(_openapi_v3(registry))
    out: dict[str, bytes] = {}
    for path, doc in docs.items():
        body = orjson.dumps(doc)
        out[path] = body
        out[path + "/"] = body
    return out


def _openapi_v3(registry: Registry) -> dict[str, Any]:
    """A minimal OpenAPI v3 tree: just enough for kubectl to see that PATCH accepts the
    `fieldValidation` parameter, so `kubectl create/apply -f` uses server-side field validation
    instead of failing to download schemas for client-side validation."""
    by_gv: dict[str, list[ResourceType]] = {}
    for r in registry.all:
        by_gv.setdefault(
            f"api/{r.version}" if not r.group else f"apis/{r.group}/{r.version}", []
        ).append(r)
    index: dict[str, Any] = {"paths": {}}
    docs: dict[str, Any] = {}
    params = [
        {"name": n, "in": "query", "schema": {"type": "string"}}
        for n in ("dryRun", "fieldManager", "fieldValidation", "force")
    ]
    for gv, resources in by_gv.items():
        url = f"/openapi/v3/{gv}"
        index["paths"][gv] = {"serverRelativeURL": url}
        paths: dict[str, Any] = {}
        for r in resources:
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            base = (
                f"/{gv}/namespaces/{{namespace}}/{r.plural}"
                if r.namespaced
                else f"/{gv}/{r.plural}"
            )
            paths[base + "/{name}"] = {
                "patch": {
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": params,
                    "responses": {},
                }
            }
        docs[url] = {
            "openapi": "3.0.0",
            "info": {"title": "watchproxy", "version": gv},
            "paths": paths,
            "components": {"schemas": {}},
        }
    docs["/openapi/v3"] = index
    return docs
