"""The metrics registry: request labels as kube-apiserver names them, and the scrape-time
collector built from the caches' and reflectors' snapshots."""

from __future__ import annotations

import random
import uuid

import orjson
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.core.watchers import drain, watcher
from watchproxy.api.requestinfo import request_info
from watchproxy.config import parse_settings
from watchproxy.core.objects import CachedObject, build_object
from watchproxy.observe.metrics import Metrics, build_registry
from watchproxy.observe.request_metrics import request_labels
from watchproxy.proxy import Proxy

SERVED = {("", "v1", "pods"): {"status", "binding"}, ("apps", "v1", "deployments"): {"status"}}


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


def proxy_with_pods() -> Proxy:
    proxy = Proxy(
        parse_settings(
            {
                "shards": [
                    {"name": "a", "endpoints": ["http://127.0.0.1:1"]},
                    {"name": "b", "endpoints": ["http://127.0.0.1:2"]},
                ]
            }
        )
    )
    for served in proxy.served.values():
        served.cache.replace(0, [], 5)
        served.cache.replace(1, [], 7)
    return proxy


def pod_object(proxy: Proxy, name: str, revision: int) -> CachedObject:
    pods = proxy.registry.lookup("", "v1", "pods")
    assert pods is not None
    body = {"metadata": {"name": name, "namespace": "ns"}, "spec": {"nodeName": "n1"}}
    return build_object(pods, f"ns/{name}", orjson.dumps(body), revision)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        pytest.param(
            "GET", "/api/v1/namespaces/ns/pods", b"",
            ("LIST", "", "", "v1", "pods", "", "namespace"),
            id="namespaced list",
        ),
        pytest.param(
            "GET", "/api/v1/pods", b"watch=true", ("WATCH", "", "", "v1", "pods", "", "cluster"),
            id="cluster watch",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/pods/p", b"",
            ("GET", "", "", "v1", "pods", "", "resource"),
            id="get is resource scope",
        ),
        pytest.param(
            "POST", "/apis/apps/v1/namespaces/ns/deployments", b"dryRun=All",
            ("CREATE", "All", "apps", "v1", "deployments", "", "resource"),
            id="create is resource scope, dry run",
        ),
        pytest.param(
            "PUT", "/api/v1/namespaces/ns/pods/p/status", b"",
            ("UPDATE", "", "", "v1", "pods", "status", "resource"),
            id="subresource",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/pods/p/0f8fad5b-d9cb-469f-a165-70867728950e", b"",
            ("GET", "", "", "v1", "pods", "other", "resource"),
            id="unserved subresource: bounded label",
        ),
        pytest.param(
            "GET", "/apis/apps/v2/namespaces/ns/deployments/d/status", b"",
            ("GET", "", "", "", "other", "", "resource"),
            id="unserved version: bounded label",
        ),
        pytest.param(
            "GET", "/api/v1/namespaces/ns/widgets", b"",
            ("LIST", "", "", "", "other", "", "namespace"),
            id="unserved resource: bounded label",
        ),
        pytest.param(
            "GET", "/metrics", b"", ("GET", "", "", "", "", "/metrics", ""), id="non-resource path"
        ),
        pytest.param(
            "GET", "/random/path/123", b"", ("GET", "", "", "", "", "other", ""),
            id="unknown path: bounded label",
        ),
    ],
)  # fmt: skip
def test_request_labels(
    method: str, path: str, query: bytes, expected: tuple[str, ...]
) -> None:
    labels = request_labels(request_info(method, path, query), query, SERVED)
    got = (
        labels.verb, labels.dry_run, labels.group, labels.version, labels.resource,
        labels.subresource, labels.scope,
    )  # fmt: skip
    assert got == expected


def test_request_metrics_count_and_time_but_not_watches() -> None:
    metrics = build_registry(proxy_with_pods())
    requests = metrics.requests
    list_labels = requests.labels_of(request_info("GET", "/api/v1/pods", b""), b"")
    watch_labels = requests.labels_of(request_info("GET", "/api/v1/pods", b"watch=1"), b"watch=1")
    for _ in range(3):
        requests.finished(list_labels, 200, requests.started(list_labels))
    began = requests.started(watch_labels)
    common = {"group": "", "version": "v1", "resource": "pods", "subresource": ""}
    running = {**common, "verb": "WATCH", "scope": "cluster", "component": "apiserver"}
    assert value(metrics, "apiserver_longrunning_requests", **running) == 1
    requests.finished(watch_labels, 200, began)
    assert value(metrics, "apiserver_longrunning_requests", **running) == 0
    listed = {**common, "verb": "LIST", "dry_run": "", "scope": "cluster", "component": "apiserver"}
    assert value(metrics, "apiserver_request_total", **listed, code="200") == 3
    assert value(metrics, "apiserver_request_total", **running, dry_run="", code="200") == 1
    assert value(metrics, "apiserver_request_duration_seconds_count", **listed) == 3
    not_timed = frozenset({**running, "dry_run": ""}.items())
    assert ("apiserver_request_duration_seconds_count", not_timed) not in samples(metrics)


async def test_collector_reads_cache_and_shard_snapshots() -> None:
    proxy = proxy_with_pods()
    metrics = build_registry(proxy)
    pods = proxy.registry.lookup("", "v1", "pods")
    assert pods is not None
    cache = proxy.cache_of(pods)
    w = watcher(cache, shards={0, 1}, merged=True)
    cache.watch_now(w)
    for revision in (6, 7, 8):
        cache.apply(0, f"ns/p{revision}", pod_object(proxy, f"p{revision}", revision), revision)
    events = await drain(w)
    assert len(events) == 3

    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    gr = {"group": "", "resource": "pods"}
    assert value(metrics, "apiserver_storage_objects", resource="pods") == 3
    assert value(metrics, "apiserver_storage_objects", resource="deployments.apps") == 0
    assert value(metrics, "apiserver_registered_watchers", **gvk) == 1
    assert value(metrics, "apiserver_watch_events_total", **gvk) == 3
    assert value(metrics, "apiserver_watch_cache_events_dispatched_total", **gr) == 3
    assert value(metrics, "apiserver_watch_cache_resource_version", **gr, shard="a") == 8
    assert value(metrics, "apiserver_watch_cache_resource_version", **gr, shard="b") == 7
    assert value(metrics, "watchproxy_watch_cache_history_events", **gr) == 3
    sent_bytes = value(metrics, "watchproxy_watch_sent_bytes_total", **gvk)
    assert sent_bytes > 0

    # A watch that ends keeps its count in the totals: counters never go down.
    cache.stop(w)
    cache.stop(w)  # idempotent
    assert value(metrics, "apiserver_registered_watchers", **gvk) == 0
    assert value(metrics, "apiserver_watch_events_total", **gvk) == 3
    assert value(metrics, "watchproxy_watch_sent_bytes_total", **gvk) == sent_bytes


def test_collector_shard_lag_needs_etcd_revision() -> None:
    proxy = proxy_with_pods()
    metrics = build_registry(proxy)
    proxy.reflectors[0].revision = 40
    proxy.reflectors[1].revision = 12
    assert value(metrics, "watchproxy_shard_revision", shard="a") == 40
    assert ("watchproxy_shard_revision_lag", frozenset({("shard", "a")})) not in samples(metrics)
    metrics.proxy.etcd_revisions = {"a": 45, "b": 12}
    assert value(metrics, "watchproxy_shard_revision_lag", shard="a") == 5
    assert value(metrics, "watchproxy_shard_revision_lag", shard="b") == 0
    assert value(metrics, "watchproxy_etcd_watch_restarts_total", shard="b") == 0


def test_registries_are_per_app() -> None:
    """Two apps in one process (tests, workers) register the same names without clashing."""
    proxy = proxy_with_pods()
    first, second = build_registry(proxy), build_registry(proxy)
    labels = first.requests.labels_of(request_info("GET", "/api/v1/pods", b""), b"")
    first.requests.finished(labels, 200, first.requests.started(labels))
    listed = {
        "verb": "LIST", "dry_run": "", "group": "", "version": "v1", "resource": "pods",
        "subresource": "", "scope": "cluster", "component": "apiserver", "code": "200",
    }  # fmt: skip
    assert ("apiserver_request_total", frozenset(listed.items())) in samples(first)
    assert ("apiserver_request_total", frozenset(listed.items())) not in samples(second)


def test_request_labels_stay_bounded_under_random_paths() -> None:
    """20,000 requests to random subresources, resources, groups and versions must not make
    20,000 series: only names the proxy serves reach a label."""
    metrics = build_registry(proxy_with_pods())
    requests = metrics.requests
    rng = random.Random(7)
    paths = []
    for i in range(2000):
        junk = uuid.UUID(int=rng.getrandbits(128)).hex
        paths += [
            f"/api/v1/namespaces/x/pods/y/{junk}",
            f"/api/v1/namespaces/x/{junk}/y/status",
            f"/apis/{junk}.example.com/v1/namespaces/x/pods/y",
            f"/apis/apps/{junk}/namespaces/x/deployments/y/status",
            f"/api/v1/pods/y/{junk}",
            f"/{junk}/{i}",
        ]
    seen = set()
    for path in paths:
        for method in ("GET", "PUT", "DELETE"):
            labels = requests.labels_of(request_info(method, path, b""), b"")
            seen.add(labels)
            requests.finished(labels, 404, requests.started(labels))
    assert len(seen) < 50
    text = generate_latest(metrics.registry).decode()
    totals = next(f for f in text_string_to_metric_families(text) if f.name == "apiserver_request")
    assert len(totals.samples) < 50
    # A subresource the resource serves keeps its name.
    status = requests.labels_of(request_info("PUT", "/api/v1/namespaces/x/pods/y/status", b""), b"")
    assert (status.resource, status.subresource) == ("pods", "status")
    binding = requests.labels_of(
        request_info("POST", "/api/v1/namespaces/x/pods/y/binding", b""), b""
    )
    assert (binding.resource, binding.subresource) == ("pods", "binding")
