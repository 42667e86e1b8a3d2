"""Proxy: every process serves exactly the custom resources of the Established CRDs in its own
CRD cache -- a cache and a reflector route per served version, added, updated in place and
removed as the CRDs change (watchproxy/proxy.py, watchproxy/schema/crd.py,
docs/decisions/0015-custom-resources.md)."""

from __future__ import annotations

import copy
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from tests.unit.schema.test_crd_schema import widget_crd
from watchproxy.api.status import ApiError
from watchproxy.config import parse_settings
from watchproxy.core.objects import build_from_dict
from watchproxy.observe.proxy_metrics import ProxyCollector
from watchproxy.proxy import Proxy
from watchproxy.registry.objects import storage_value
from watchproxy.registry.strategy import strategy_for
from watchproxy.resources import ResourceType
from watchproxy.schema.crd import CRD_RESOURCE, served_types, set_condition, version_priority

SHARDS = {
    "shards": [
        {"name": "a", "endpoints": ["http://127.0.0.1:1"]},
        {"name": "b", "endpoints": ["http://127.0.0.1:2"]},
    ]
}


def crd_type(proxy: Proxy) -> ResourceType:
    found = proxy.registry.lookup(CRD_RESOURCE.group, "v1", CRD_RESOURCE.plural)
    assert found is not None
    return found


def store_crds(proxy: Proxy, *crds: dict[str, Any]) -> None:
    """The CRD cache as the reflector of shard 0 would install it."""
    resource = crd_type(proxy)
    objects = [
        build_from_dict(resource, c["metadata"]["name"], orjson.loads(orjson.dumps(c)), 5)
        for c in crds
    ]
    proxy.cache_of(resource).replace(0, objects, 5)


def widget_routes(proxy: Proxy) -> list[list[str]]:
    return [
        [r.resource.version for r in refl.routes if r.resource.custom is not None]
        for refl in proxy.reflectors
    ]


def widgets(proxy: Proxy, version: str) -> ResourceType:
    found = proxy.registry.lookup("example.com", version, "widgets")
    assert found is not None and found.custom is not None
    return found


async def test_established_crds_are_served_and_removed_with_their_caches() -> None:
    proxy = Proxy(parse_settings(SHARDS))
    store_crds(proxy, widget_crd())
    proxy.sync_custom_resources()
    v1, v1beta1 = widgets(proxy, "v1"), widgets(proxy, "v1beta1")
    cache = proxy.cache_of(v1)
    # One cache and one route per served version, all on the one prefix.
    assert proxy.cache_of(v1beta1) is not cache
    assert widget_routes(proxy) == [["v1", "v1beta1"], ["v1", "v1beta1"]]
    assert {r.prefix for r in proxy.reflectors[0].routes if r.resource.custom} == {
        b"/registry/example.com/widgets/"
    }
    assert {"widgets.v1.example.com", "widgets.v1beta1.example.com"} <= set(proxy.served)
    assert not cache.ready([0, 1])  # until each shard's listing is installed

    # A change that keeps the keys (a new printer column) keeps the cache.
    changed = widget_crd()
    changed["spec"]["versions"][0]["additionalPrinterColumns"] = []
    store_crds(proxy, changed)
    proxy.sync_custom_resources()
    updated = widgets(proxy, "v1")
    assert updated.custom is not None and updated.custom.printer_columns == ()
    assert proxy.cache_of(updated) is cache
    assert [r.resource for r in proxy.reflectors[0].routes if r.cache is cache] == [updated]

    # No longer Established: no longer served, routes and caches gone.
    gone = copy.deepcopy(changed)
    set_condition(gone, "Established", "False", "NotAccepted", "x", "t")
    store_crds(proxy, gone)
    proxy.sync_custom_resources()
    assert proxy.registry.lookup("example.com", "v1", "widgets") is None
    assert proxy.registry.lookup("example.com", "v1beta1", "widgets") is None
    assert widget_routes(proxy) == [[], []]
    assert not any("example.com" in key for key in proxy.served)


async def test_versions_come_and_go_without_touching_the_others() -> None:
    """A CRD update that stops serving a version drops its cache and route only; one that adds
    a version adds its own; one that moves storage keeps every cache (kube:
    customresource_handler.go rebuilds the storage of each version, the data stays)."""
    proxy = Proxy(parse_settings(SHARDS))
    only_v1 = widget_crd()
    only_v1["spec"]["versions"][1]["served"] = False
    store_crds(proxy, only_v1)
    proxy.sync_custom_resources()
    v1_cache = proxy.cache_of(widgets(proxy, "v1"))
    assert widget_routes(proxy) == [["v1"], ["v1"]]
    assert proxy.registry.lookup("example.com", "v1beta1", "widgets") is None

    store_crds(proxy, widget_crd())  # v1beta1 served too
    proxy.sync_custom_resources()
    assert widget_routes(proxy) == [["v1", "v1beta1"], ["v1", "v1beta1"]]
    assert proxy.cache_of(widgets(proxy, "v1")) is v1_cache
    v1beta1_cache = proxy.cache_of(widgets(proxy, "v1beta1"))

    moved = widget_crd()  # storage moves to v1beta1: same keys, same caches
    moved["spec"]["versions"][0]["storage"] = False
    moved["spec"]["versions"][1]["storage"] = True
    store_crds(proxy, moved)
    proxy.sync_custom_resources()
    for version, cache in (("v1", v1_cache), ("v1beta1", v1beta1_cache)):
        resource = widgets(proxy, version)
        assert resource.custom is not None and resource.custom.storage_version == "v1beta1"
        assert proxy.cache_of(resource) is cache

    store_crds(proxy, only_v1)
    proxy.sync_custom_resources()
    assert widget_routes(proxy) == [["v1"], ["v1"]]
    assert proxy.cache_of(widgets(proxy, "v1")) is v1_cache
    assert not proxy.is_served(replace(widgets(proxy, "v1"), version="v1beta1"))


async def test_every_version_reads_the_stored_object_with_its_own_api_version() -> None:
    """Conversion None: the stored apiVersion is replaced by the served one when the object is
    built for a cache or a read (core/objects.py), and a write through any version is stored
    at the storage version (registry/objects.py storage_value)."""
    proxy = Proxy(parse_settings(SHARDS))
    store_crds(proxy, widget_crd())
    proxy.sync_custom_resources()
    stored = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    for version in ("v1", "v1beta1"):
        built = build_from_dict(widgets(proxy, version), "ns/w", dict(stored), 3)
        assert orjson.loads(built.raw)["apiVersion"] == f"example.com/{version}"
    written = {**stored, "apiVersion": "example.com/v1beta1"}
    value = orjson.loads(storage_value(written, widgets(proxy, "v1beta1")))
    assert value["apiVersion"] == "example.com/v1"
    assert written["apiVersion"] == "example.com/v1beta1"  # the response keeps the request's


def test_deprecated_versions_warn_as_kube_words_it() -> None:
    """customresource_handler.go defaultDeprecationWarning, or the CRD's own text."""
    crd = widget_crd()
    crd["spec"]["versions"][1]["deprecated"] = True
    alpha = {**copy.deepcopy(crd["spec"]["versions"][1]), "name": "v1alpha1"}
    alpha["deprecationWarning"] = "use v1, please"
    crd["spec"]["versions"].append(alpha)
    warnings = {r.version: r.custom.deprecation_warning for r in served_types(crd) if r.custom}
    assert warnings == {
        "v1": None,
        "v1beta1": "example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget",
        "v1alpha1": "use v1, please",
    }
    crd["spec"]["versions"][0]["deprecated"] = True  # nothing newer left to point to
    by_version = {r.version: r.custom for r in served_types(crd) if r.custom}
    assert by_version["v1"].deprecation_warning == "example.com/v1 Widget is deprecated"


def test_kube_version_order() -> None:
    """apimachinery version/helpers.go CompareKubeAwareVersionStrings, highest first."""
    versions = ["v1alpha1", "foo", "v1beta1", "v2", "v1", "v11alpha2", "v1beta2", "bar"]
    assert sorted(versions, key=version_priority) == [
        "v2",
        "v1",
        "v1beta2",
        "v1beta1",
        "v11alpha2",
        "v1alpha1",
        "bar",
        "foo",
    ]


async def test_no_new_instance_while_the_crd_is_terminating() -> None:
    proxy = Proxy(parse_settings(SHARDS))
    crd = widget_crd()
    store_crds(proxy, crd)
    proxy.sync_custom_resources()
    widgets = proxy.registry.lookup("example.com", "v1", "widgets")
    assert widgets is not None
    store: Any = SimpleNamespace(proxy=proxy)
    await strategy_for(widgets).admit(store, {"metadata": {"name": "w"}}, None)
    crd["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    store_crds(proxy, crd)
    with pytest.raises(ApiError) as refused:
        await strategy_for(widgets).admit(store, {"metadata": {"name": "w"}}, None)
    assert (refused.value.code, refused.value.reason) == (405, "MethodNotAllowed")
    assert str(refused.value) == (
        "create not allowed while custom resource definition is terminating"
    )
    # Updates (finalizers being removed) go on.
    await strategy_for(widgets).admit(store, {"metadata": {"name": "w"}}, {"metadata": {}})
    proxy.registry.remove("example.com", "v1", "widgets")


async def test_a_resource_of_several_versions_is_one_metrics_series() -> None:
    """Two caches of one CRD must not emit one (group, resource) series twice (Prometheus
    refuses duplicate samples); the watcher series are per version (group, version, kind)."""
    proxy = Proxy(parse_settings(SHARDS))
    store_crds(proxy, widget_crd())
    proxy.sync_custom_resources()
    series = [
        (sample.name, tuple(sorted(sample.labels.items())))
        for metric in ProxyCollector(proxy).collect()
        for sample in metric.samples
    ]
    assert len(series) == len(set(series))
    watchers = [labels for name, labels in series if name == "apiserver_registered_watchers"]
    assert {dict(labels).get("version") for labels in watchers} >= {"v1", "v1beta1"}
