"""The OpenAPI v2 / v3 documents (watchproxy/schema/openapi.py) and their serving
(watchproxy/api/openapi.py): content, refs, kube's v3 forms, ETags, hashes, registry changes."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from tests.unit.api.recorder import Recorder
from watchproxy.api.openapi import OpenAPIService, accepts_json
from watchproxy.api.status import ApiError
from watchproxy.resources import CustomResourceInfo, Registry, ResourceType
from watchproxy.schema import openapi

CRONTAB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A CronTab runs a command on a schedule.",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec", "note"],
            "properties": {
                "cronSpec": {"type": "string", "description": "The cron expression."},
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "note": {"type": "string", "nullable": True},
                "tags": {"type": "array"},
            },
        },
        "status": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"x": {"type": "string"}},
        },
    },
}


def crontab(version: str = "v1", schema: dict[str, Any] | None = CRONTAB_SCHEMA) -> ResourceType:
    return ResourceType(
        "stable.example.com",
        version,
        "CronTab",
        "crontabs",
        True,
        "stable.example.com/crontabs",
        status_subresource=True,
        custom=CustomResourceInfo("crontabs.stable.example.com", "v1", schema=schema),
    )


def refs(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            out.add(node["$ref"])
        for value in node.values():
            out |= refs(value)
    elif isinstance(node, list):
        for value in node:
            out |= refs(value)
    return out


@pytest.fixture(scope="module")
def v2() -> dict[str, Any]:
    registry = Registry()
    registry.add(crontab())
    return openapi.build_v2(registry.all)


def test_v2_document_shape_and_every_ref_resolves(v2: dict[str, Any]) -> None:
    assert v2["swagger"] == "2.0"
    assert v2["info"] == {"title": "Kubernetes", "version": "v1.37.0"}
    for ref in refs(v2):
        assert ref.startswith("#/definitions/")
        assert ref.removeprefix("#/definitions/") in v2["definitions"], ref
    assert "io.k8s.api.core.v1.Pod" in v2["definitions"]
    assert "io.k8s.api.apps.v1.DeploymentStrategy" in v2["definitions"]


def test_v2_paths_list_each_served_resource_with_kube_operations(v2: dict[str, Any]) -> None:
    registry = Registry()
    for r in registry.all:
        root = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        base = (
            f"{root}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{root}/{r.plural}"
        )
        assert base in v2["paths"] or base + "/{name}" in v2["paths"], r.key
    pods = v2["paths"]["/api/v1/namespaces/{namespace}/pods"]
    assert pods["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert pods["post"]["operationId"] == "createCoreV1NamespacedPod"
    assert pods["delete"]["operationId"] == "deleteCoreV1CollectionNamespacedPod"
    pod = v2["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert pod["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "",
        "version": "v1",
        "kind": "Pod",
    }
    assert "application/strategic-merge-patch+json" in pod["patch"]["consumes"]
    assert "fieldValidation" in [p["name"] for p in pod["patch"]["parameters"]]
    status = v2["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/status"]
    assert status["get"]["operationId"] == "readCoreV1NamespacedPodStatus"
    every = v2["paths"]["/api/v1/pods"]["get"]
    assert every["operationId"] == "listCoreV1PodForAllNamespaces"
    assert every["responses"]["200"]["schema"] == {
        "$ref": "#/definitions/io.k8s.api.core.v1.PodList"
    }
    scale = v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["put"]["responses"]["200"]["schema"]["$ref"].endswith("autoscaling.v1.Scale")


def test_v2_custom_resource_definition_is_built_like_apiextensions(v2: dict[str, Any]) -> None:
    crd = v2["definitions"]["com.example.stable.v1.CronTab"]
    assert crd["x-kubernetes-group-version-kind"] == [
        {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}
    ]
    assert crd["properties"]["metadata"]["$ref"] == (
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
    assert crd["properties"]["apiVersion"]["type"] == "string"
    spec = crd["properties"]["spec"]
    # ToStructuralOpenAPIV2: no anyOf; nullable loses its type and leaves `required`;
    # an array without items loses its type; preserve-unknown-fields drops properties.
    assert "anyOf" not in spec["properties"]["port"]
    assert spec["properties"]["port"]["x-kubernetes-int-or-string"] is True
    assert "type" not in spec["properties"]["note"]
    assert spec["required"] == ["cronSpec"]
    assert "type" not in spec["properties"]["tags"]
    assert crd["properties"]["status"] == {"x-kubernetes-preserve-unknown-fields": True}
    listing = v2["definitions"]["com.example.stable.v1.CronTabList"]
    assert listing["properties"]["items"]["items"] == {
        "$ref": "#/definitions/com.example.stable.v1.CronTab"
    }
    patch = v2["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"]
    assert "application/strategic-merge-patch+json" not in patch["patch"]["consumes"]


def test_v2_custom_resource_preserving_unknown_fields_is_an_object() -> None:
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    defs = openapi.custom_definitions(crontab(schema=schema), v2=True)
    assert defs["com.example.stable.v1.CronTab"] == {
        "type": "object",
        "x-kubernetes-group-version-kind": [
            {"group": "stable.example.com", "version": "v1", "kind": "CronTab"}
        ],
    }


def test_v3_group_version_document_uses_kube_v3_forms() -> None:
    doc = openapi.build_v3("apps", "v1", Registry().all)
    assert doc["openapi"] == "3.0.0"
    schemas = doc["components"]["schemas"]
    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert "io.k8s.api.core.v1.Pod" not in schemas  # only what apps/v1 reaches
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["properties"]["spec"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}],
        "description": "Specification of the desired behavior of the Deployment.",
    }
    assert schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"] == [
        {"type": "integer"},
        {"type": "string"},
    ]
    assert "type" not in schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert {"name": "fieldValidation", "in": "query"}.items() <= patch["parameters"][2].items()
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"


def test_v3_custom_resource_keeps_its_v3_schema() -> None:
    doc = openapi.build_v3("stable.example.com", "v1", (*Registry().all, crontab()))
    crd = doc["components"]["schemas"]["com.example.stable.v1.CronTab"]
    assert crd["properties"]["metadata"] == {
        "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}],
        "description": openapi._OBJECT_META_DOC,
    }
    port = crd["properties"]["spec"]["properties"]["port"]
    assert port["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert crd["properties"]["spec"]["properties"]["note"]["nullable"] is True
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]
    assert list(doc["paths"]) == [
        "/apis/stable.example.com/v1/crontabs",
        "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs",
        "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}",
        "/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status",
    ]


# --- serving ---------------------------------------------------------------------------------


async def get(service: OpenAPIService, path: str, query: str = "", **headers: str) -> Recorder:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }
    send = Recorder()
    await service.serve(scope, send)
    return send


async def test_v2_etag_304_gzip_and_406_for_protobuf_only() -> None:
    service = OpenAPIService(Registry())
    first = await get(service, "/openapi/v2", accept_encoding="gzip")
    assert first.start["status"] == 200
    assert first.headers[b"content-encoding"] == b"gzip"
    assert orjson.loads(gzip.decompress(first.bodies[0]))["swagger"] == "2.0"
    etag = first.headers[b"etag"].decode()
    assert len(etag) == 130 and etag.startswith('"')  # quoted upper-case SHA-512 hex
    again = await get(service, "/openapi/v2", if_none_match=etag)
    assert again.start["status"] == 304 and again.bodies == [b""]
    pb = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    with pytest.raises(ApiError) as refused:
        await get(service, "/openapi/v2", accept=pb)
    assert (refused.value.code, refused.value.reason) == (406, "NotAcceptable")
    assert (await get(service, "/openapi/v2", accept=f"{pb}, application/json")).start[
        "status"
    ] == 200


def test_accept_negotiation() -> None:
    assert accepts_json("") and accepts_json("*/*") and accepts_json("application/*")
    assert accepts_json("application/json;q=0.5, text/html")
    assert not accepts_json("application/json;q=0")
    assert not accepts_json("application/com.github.proto-openapi.spec.v3@v1.0+protobuf")


async def test_v3_index_hash_caching_and_redirect() -> None:
    service = OpenAPIService(Registry())
    index = orjson.loads((await get(service, "/openapi/v3")).body())
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    path, _, query = url.partition("?")
    assert path == "/openapi/v3/apis/apps/v1" and query.startswith("hash=")
    fresh = await get(service, path, query)
    assert fresh.headers[b"cache-control"] == b"public, immutable"
    assert b"expires" in fresh.headers
    assert fresh.headers[b"etag"] == f'"{query.removeprefix("hash=")}"'.encode()
    plain = await get(service, path)
    assert plain.headers[b"cache-control"] == b"no-cache, private"
    assert plain.body() == fresh.body()
    stale = await get(service, path, "hash=0123")
    assert stale.start["status"] == 301
    assert stale.headers[b"location"].decode() == url
    with pytest.raises(ApiError) as missing:
        await get(service, "/openapi/v3/apis/nothere/v1")
    assert missing.value.code == 404


async def test_documents_follow_the_registry() -> None:
    registry = Registry()
    service = OpenAPIService(registry)
    apps_before = service.group_version("apis/apps/v1")
    v2_before = service.v2().etag
    assert "apis/stable.example.com/v1" not in orjson.loads(service.index().body)["paths"]
    registry.add(crontab())
    assert "apis/stable.example.com/v1" in orjson.loads(service.index().body)["paths"]
    assert b"com.example.stable.v1.CronTab" in service.v2().body
    assert service.v2().etag != v2_before
    # Another group version's document is not rebuilt.
    assert service.group_version("apis/apps/v1") is apps_before
    registry.remove("stable.example.com", "v1", "crontabs")
    assert service.group_version("apis/stable.example.com/v1") is None
    assert "apis/stable.example.com/v1" not in orjson.loads(service.index().body)["paths"]
    assert b"com.example.stable.v1.CronTab" not in service.v2().body


async def test_only_get_and_head() -> None:
    service = OpenAPIService(Registry())
    scope = {"type": "http", "method": "HEAD", "path": "/openapi/v3", "headers": []}
    send = Recorder()
    await service.serve(scope, send)
    assert send.start["status"] == 200 and send.bodies == [b""]
    assert int(send.headers[b"content-length"]) > 0
    with pytest.raises(ApiError) as refused:
        await service.serve({**scope, "method": "POST"}, Recorder())
    assert refused.value.code == 405
