"""Discovery documents: /version, legacy APIResourceLists, aggregated discovery (v2, v2beta1)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.unit.api.recorder import Recorder
from watchproxy.api.discovery import (
    Discovery,
    build_documents,
    negotiate_aggregated,
    storage_version_hash,
    version_info,
    version_priority,
)
from watchproxy.resources import Registry, ResourceType

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
# What kubectl 1.32 / client-go send (discovery_client.go AcceptV2, AcceptV1).
CLIENT_GO = f"{V2},{V2BETA1},application/json"


def legacy(registry: Registry, path: str) -> Any:
    return orjson.loads(build_documents(registry).legacy[path])


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in doc["resources"]}


async def get(discovery: Discovery, path: str, **headers: str) -> Recorder:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }
    assert discovery.handles(path)
    sent = Recorder()
    await discovery.serve(scope, sent)
    return sent


def test_version_claims_the_generated_kubernetes_version() -> None:
    info = version_info()
    assert (info["major"], info["minor"]) == ("1", "37")
    assert info["gitVersion"].startswith("v1.37.0-watchproxy.")


def test_core_resource_list() -> None:
    resources = by_name(legacy(Registry(), "/api/v1"))
    assert resources["pods"]["shortNames"] == ["po"]
    assert resources["pods"]["categories"] == ["all"]
    assert resources["pods"]["singularName"] == "pod"
    assert resources["pods/eviction"]["group"] == "policy"
    assert resources["pods/eviction"]["version"] == "v1"
    assert "group" not in resources["pods/status"]
    assert "pods/log" not in resources and "componentstatuses" not in resources
    assert resources["namespaces"]["namespaced"] is False
    # kube-apiserver 1.3x answers these for v1 Pod and apps/v1 Deployment.
    assert resources["pods"]["storageVersionHash"] == "xPOwRZ+Yhw8="
    assert "storageVersionHash" not in resources["pods/status"]
    assert "deletecollection" not in resources["namespaces"]["verbs"]


def test_named_group_documents() -> None:
    registry = Registry()
    apps = by_name(legacy(registry, "/apis/apps/v1"))
    assert apps["deployments/scale"]["kind"] == "Scale"
    assert apps["deployments/scale"]["group"] == "autoscaling"
    assert apps["statefulsets"]["shortNames"] == ["sts"]
    assert apps["deployments"]["storageVersionHash"] == "8aSe+NMegvE="
    groups = {g["name"]: g for g in legacy(registry, "/apis")["groups"]}
    assert groups["autoscaling"]["versions"] == [
        {"groupVersion": "autoscaling/v2", "version": "v2"},
        {"groupVersion": "autoscaling/v1", "version": "v1"},
    ]
    assert groups["autoscaling"]["preferredVersion"]["version"] == "v2"
    assert groups["events.k8s.io"]["preferredVersion"]["version"] == "v1"
    # events.k8s.io Events name core v1's hash: one storage, core v1 (AddCohabitatingResources).
    events = by_name(legacy(registry, "/apis/events.k8s.io/v1"))["events"]
    assert events["storageVersionHash"] == storage_version_hash("", "v1", "Event")
    assert events["shortNames"] == ["ev"]
    assert legacy(registry, "/apis/policy/")["preferredVersion"]["version"] == "v1"
    hpa_v1 = by_name(legacy(registry, "/apis/autoscaling/v1"))["horizontalpodautoscalers"]
    hpa_v2 = by_name(legacy(registry, "/apis/autoscaling/v2"))["horizontalpodautoscalers"]
    # Both versions name the storage version's hash (kube: one storage, autoscaling/v2).
    assert hpa_v1["storageVersionHash"] == hpa_v2["storageVersionHash"]
    assert hpa_v1["storageVersionHash"] == storage_version_hash(
        "autoscaling", "v2", "HorizontalPodAutoscaler"
    )


def test_versions_sort_as_kube_prefers_them() -> None:
    versions = ["v1alpha1", "v1beta2", "v2", "foo", "v1", "v1beta1", "v10"]
    assert sorted(versions, key=version_priority) == [
        "v10",
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v1alpha1",
        "foo",
    ]


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (CLIENT_GO, "v2"),
        (f"{V2BETA1},application/json", "v2beta1"),
        (f"application/json;q=0.9,{V2}", "v2"),
        (f"{V2};q=0.5,application/json", None),
        ("application/json", None),
        ("", None),
        ("*/*", None),
        ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
         "application/json", None),
        ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList", None),
    ],
)  # fmt: skip
def test_negotiation(accept: str, chosen: str | None) -> None:
    assert negotiate_aggregated(accept) == chosen


async def test_aggregated_apis() -> None:
    sent = await get(Discovery(Registry()), "/apis", accept=CLIENT_GO)
    assert sent.start["status"] == 200
    assert sent.headers[b"content-type"] == V2.encode()
    assert sent.headers[b"vary"] == b"Accept"
    doc = orjson.loads(sent.body())
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    groups = {g["metadata"]["name"]: g for g in doc["items"]}
    [apps_v1] = groups["apps"]["versions"]
    assert apps_v1["version"] == "v1" and apps_v1["freshness"] == "Current"
    deploy = next(r for r in apps_v1["resources"] if r["resource"] == "deployments")
    assert deploy["responseKind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert deploy["scope"] == "Namespaced"
    assert deploy["singularResource"] == "deployment"
    assert deploy["shortNames"] == ["deploy"] and deploy["categories"] == ["all"]
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale == {
        "subresource": "scale",
        "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
        "verbs": ["get", "patch", "update"],
    }
    [rbac] = groups["rbac.authorization.k8s.io"]["versions"]
    roles = next(r for r in rbac["resources"] if r["resource"] == "clusterroles")
    assert roles["scope"] == "Cluster" and "subresources" not in roles


async def test_aggregated_core_and_v2beta1() -> None:
    discovery = Discovery(Registry())
    sent = await get(discovery, "/api", accept=f"{V2BETA1},application/json")
    assert sent.headers[b"content-type"] == V2BETA1.encode()
    doc = orjson.loads(sent.body())
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    [core] = doc["items"]
    assert "name" not in core["metadata"]
    [v1] = core["versions"]
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert {s["subresource"] for s in pods["subresources"]} == {"status", "binding", "eviction"}


async def test_legacy_answer_when_not_asked_for_aggregated() -> None:
    discovery = Discovery(Registry())
    sent = await get(discovery, "/api", accept="application/json")
    assert sent.headers[b"content-type"] == b"application/json"
    assert orjson.loads(sent.body())["kind"] == "APIVersions"
    sent = await get(discovery, "/apis/", accept="application/json, */*")
    assert orjson.loads(sent.body())["kind"] == "APIGroupList"
    assert b"etag" not in sent.headers


async def test_etag_and_if_none_match() -> None:
    discovery = Discovery(Registry())
    first = await get(discovery, "/apis", accept=V2)
    etag = first.headers[b"etag"].decode()
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 130
    again = await get(discovery, "/apis", accept=V2, if_none_match=etag)
    assert again.start["status"] == 304 and again.body() == b""
    beta = await get(discovery, "/apis", accept=V2BETA1, if_none_match=etag)
    assert beta.start["status"] == 200  # another document, another tag
    stale = await get(discovery, "/apis", accept=V2, if_none_match='"0"')
    assert stale.start["status"] == 200


async def test_documents_follow_the_registry() -> None:
    registry = Registry()
    discovery = Discovery(registry)
    before = (await get(discovery, "/apis", accept=V2)).headers[b"etag"]
    assert not discovery.handles("/apis/example.com/v1")
    registry.add(
        ResourceType(
            "example.com",
            "v1",
            "Widget",
            "widgets",
            True,
            "example.com/widgets",
            ("wd",),
            categories=("all",),
            singular_name="widget",
        )
    )
    assert discovery.handles("/apis/example.com/v1")
    widgets = by_name(orjson.loads((await get(discovery, "/apis/example.com/v1")).body()))
    assert widgets["widgets"]["shortNames"] == ["wd"]
    sent = await get(discovery, "/apis", accept=V2)
    assert sent.headers[b"etag"] != before
    names = [g["metadata"]["name"] for g in orjson.loads(sent.body())["items"]]
    assert "example.com" in names
    registry.remove("example.com", "v1", "widgets")
    assert not discovery.handles("/apis/example.com/v1")
    assert not discovery.handles("/apis/example.com")
    assert (await get(discovery, "/apis", accept=V2)).headers[b"etag"] == before
