"""Discovery: /version, the legacy documents (/api, /api/v1, /apis, /apis/G, /apis/G/V) and
aggregated discovery (apidiscovery.k8s.io v2 and v2beta1 on /api and /apis).

Built from the Registry and rebuilt lazily when `registry.generation` changes (custom resources
come and go at run time). kube: `staging/src/k8s.io/apiserver/pkg/endpoints/discovery/`
(`legacy.go`, `group.go`, `version.go`, `root.go` for the legacy documents;
`aggregated/handler.go`, `aggregated/negotiation.go`, `aggregated/etag.go`,
`aggregated/wrapper.go` for the aggregated ones). A GET whose Accept names
`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` (or v2beta1) on /api or
/apis gets the APIGroupDiscoveryList with `Content-Type` naming that profile, `Vary: Accept`, a
quoted `ETag` (sha512 of the body, upper-case hex) and 304 on a matching `If-None-Match`;
any other Accept gets the legacy JSON document (kube would answer protobuf when asked; clients
that ask for it also accept JSON).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from watchproxy import __version__
from watchproxy.api.http import JSON, Scope, Send, header
from watchproxy.resources import Registry, ResourceType
from watchproxy.schema.builtin import load

DISCOVERY_GROUP = "apidiscovery.k8s.io"
AGGREGATED_VERSIONS = ("v2", "v2beta1")


def version_info() -> dict[str, str]:
    """/version: the Kubernetes version the type table was generated from (`version.Info`)."""
    major, minor = load().kubernetes_version.split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
        "gitVersion": f"v{load().kubernetes_version}-watchproxy.{__version__}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "python",
        "compiler": "watchproxy",
        "platform": "linux/amd64",
    }


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key, smallest first, for kube's version order: GA, then beta, then alpha, higher
    numbers first; other strings last, alphabetically (apimachinery's
    `version.CompareKubeAwareVersionStrings`)."""
    m = _VERSION_RE.match(version)
    if m is None:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, "")


def _group_versions(registry: Registry) -> dict[str, list[str]]:
    """group -> versions in preference order, named groups only, in registry order."""
    return {g: sorted(vs, key=version_priority) for g, vs in registry.groups().items()}


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """The first 8 bytes of sha256("group/version/kind") of the storage version, base64
    (apiserver's `pkg/endpoints/discovery/storageversionhash.go`)."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


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
    if r.categories:
        entry["categories"] = list(r.categories)
    if not r.virtual:
        # Of the storage version: autoscaling/v1 HPAs answer v2's hash, as kube does, and
        # events.k8s.io Events core v1's (getStorageVersionKind of the cohabiting storage).
        stored = (r.storage_group, r.storage_version, r.kind)
        entry["storageVersionHash"] = storage_version_hash(*stored)
    return entry


def _resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    """APIResourceList; a subresource whose kind is in another group/version names it
    (deployments/scale: autoscaling/v1 Scale), as kube's `APIResource.group/version`."""
    resources: list[dict[str, Any]] = []
    for r in registry.in_group_version(group, version):
        resources.append(_resource_entry(r))
        for name, (kind, verbs) in r.subresources.items():
            sub: dict[str, Any] = {
                "name": f"{r.plural}/{name}",
                "singularName": "",
                "namespaced": r.namespaced,
            }
            sub_group, sub_version = r.subresource_version(name)
            if (sub_group, sub_version) != (group, version):
                sub["group"], sub["version"] = sub_group, sub_version
            sub["kind"] = kind
            sub["verbs"] = list(verbs)
            resources.append(sub)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": _gv(group, version),
        "resources": resources,
    }


def _aggregated_resource(r: ResourceType) -> dict[str, Any]:
    """APIResourceDiscovery (staging/src/k8s.io/api/apidiscovery/v2/types.go)."""
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    subs = []
    for name, (kind, verbs) in r.subresources.items():
        sub_group, sub_version = r.subresource_version(name)
        subs.append(
            {
                "subresource": name,
                "responseKind": {"group": sub_group, "version": sub_version, "kind": kind},
                "verbs": list(verbs),
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def _aggregated_group(registry: Registry, group: str, versions: list[str]) -> dict[str, Any]:
    """APIGroupDiscovery: versions in preference order, each `freshness: Current`."""
    metadata: dict[str, Any] = {"creationTimestamp": None}
    if group:
        metadata["name"] = group
    return {
        "metadata": metadata,
        "versions": [
            {
                "version": v,
                "resources": [_aggregated_resource(r) for r in registry.in_group_version(group, v)],
                "freshness": "Current",
            }
            for v in versions
        ],
    }


@dataclass(frozen=True)
class Aggregated:
    body: bytes
    etag: str  # quoted, as sent


@dataclass(frozen=True)
class Documents:
    """Everything discovery answers for one registry generation."""

    legacy: dict[str, bytes]  # path (with and without a trailing slash) -> JSON body
    aggregated: dict[tuple[str, str], Aggregated]  # ("/api"|"/apis", "v2"|"v2beta1") -> body


def _aggregated(items: list[dict[str, Any]], version: str) -> Aggregated:
    doc = {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"{DISCOVERY_GROUP}/{version}",
        "metadata": {},
        "items": items,
    }
    body = orjson.dumps(doc)
    return Aggregated(body, '"' + hashlib.sha512(body).hexdigest().upper() + '"')


def build_documents(registry: Registry) -> Documents:
    """The discovery documents of the registry as it is now."""
    groups = _group_versions(registry)
    docs: dict[str, Any] = {
        "/version": version_info(),
        "/api": {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
        },
        "/api/v1": _resource_list(registry, "", "v1"),
    }
    group_docs = []
    for group, versions in groups.items():
        gv = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        group_doc = {"name": group, "versions": gv, "preferredVersion": gv[0]}
        group_docs.append(group_doc)
        docs[f"/apis/{group}"] = {"kind": "APIGroup", "apiVersion": "v1", **group_doc}
        for v in versions:
            docs[f"/apis/{group}/{v}"] = _resource_list(registry, group, v)
    docs["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": group_docs}
    legacy: dict[str, bytes] = {}
    for path, doc in docs.items():
        body = orjson.dumps(doc)
        legacy[path] = body
        legacy[path + "/"] = body  # kr8s asks with a trailing slash
    core = [_aggregated_group(registry, "", ["v1"])]
    named = [_aggregated_group(registry, g, vs) for g, vs in groups.items()]
    aggregated = {
        (path, v): _aggregated(items, v)
        for path, items in (("/api", core), ("/apis", named))
        for v in AGGREGATED_VERSIONS
    }
    return Documents(legacy, aggregated)


def negotiate_aggregated(accept: str) -> str | None:
    """The aggregated discovery version the Accept header prefers ("v2", "v2beta1"), or None
    when it prefers the legacy document (kube's `aggregated/negotiation.go` profiles, JSON only;
    entries in q order, then header order)."""
    ranked: list[tuple[float, int, str | None]] = []
    for index, item in enumerate(accept.split(",")):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        params: dict[str, str] = {}
        for p in parts[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        if q <= 0 or media not in ("application/json", "application/*", "*/*"):
            continue
        if "g" in params or "as" in params:
            version = params.get("v")
            if (
                media == "application/json"
                and params.get("g") == DISCOVERY_GROUP
                and params.get("as") == "APIGroupDiscoveryList"
                and version in AGGREGATED_VERSIONS
            ):
                ranked.append((-q, index, version))
            continue
        ranked.append((-q, index, None))
    return min(ranked)[2] if ranked else None


class Discovery:
    """Serves the discovery paths from documents rebuilt when the registry changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._generation = -1
        self._documents: Documents | None = None

    def documents(self) -> Documents:
        if self._documents is None or self._generation != self.registry.generation:
            self._generation = self.registry.generation
            self._documents = build_documents(self.registry)
        return self._documents

    def handles(self, path: str) -> bool:
        """Whether `path` is a discovery document (an unknown group is the router's 404)."""
        return path in self.documents().legacy

    async def serve(self, scope: Scope, send: Send) -> None:
        """Answer a GET of a path `handles` accepted."""
        docs = self.documents()
        path = scope["path"]
        root = path.rstrip("/")
        if root in ("/api", "/apis"):
            version = negotiate_aggregated(header(scope, b"accept"))
            if version is not None:
                doc = docs.aggregated[(root, version)]
                content_type = (
                    f"application/json;g={DISCOVERY_GROUP};v={version};as=APIGroupDiscoveryList"
                )
                headers = [
                    (b"etag", doc.etag.encode()),
                    (b"vary", b"Accept"),
                    (b"cache-control", b"public"),
                ]
                if header(scope, b"if-none-match") == doc.etag:
                    await _send(send, 304, headers, b"")
                else:
                    headers.append((b"content-type", content_type.encode()))
                    await _send(send, 200, headers, doc.body)
                return
            # The legacy document varies by Accept too (the same URL answers both shapes).
            await _send(
                send, 200, [(b"content-type", JSON), (b"vary", b"Accept")], docs.legacy[path]
            )
            return
        await _send(send, 200, [(b"content-type", JSON)], docs.legacy[path])


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
