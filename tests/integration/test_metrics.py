"""/metrics of a real `watchproxy serve` (open-admin mode): request counts and labels, watch
and cache figures, parsed as Prometheus parses them."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import make_namespace, pod
from tests.integration.watching import watch

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: httpx.Client) -> Samples:
    r = api.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def get(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def request(verb: str, scope: str, code: str, **extra: str) -> dict[str, str]:
    return {
        "verb": verb, "dry_run": "", "group": "", "version": "v1", "resource": "pods",
        "subresource": "", "scope": scope, "component": "apiserver", "code": code,
        **extra,
    }  # fmt: skip


def test_metrics_count_requests_and_watch_events(api: httpx.Client) -> None:
    ns = "metrics-ns"
    make_namespace(api, ns)
    before = scrape(api)
    lists, creates = 3, 4
    for _ in range(lists):
        assert api.get(f"/api/v1/namespaces/{ns}/pods").status_code == 200
    assert api.get(f"/api/v1/namespaces/{ns}/pods/missing").status_code == 404
    with watch(api, f"/api/v1/namespaces/{ns}/pods", timeoutSeconds=30) as stream:
        during = scrape(api)
        running = {k: v for k, v in request("WATCH", "namespace", "").items() if k not in (
            "dry_run", "code")}  # fmt: skip
        assert get(during, "apiserver_longrunning_requests", **running) >= 1
        for i in range(creates):
            r = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod(f"m{i}"))
            assert r.status_code == 201, r.text
        r = api.post(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "All"}, json=pod("dry"))
        assert r.status_code == 201, r.text
        assert len(stream.take(creates)) == creates
    # The watch is counted when its handler ends, a moment after the client hung up.
    deadline = time.monotonic() + 10
    polls = 0
    while True:
        after = scrape(api)
        polls += 1
        watches = get(after, "apiserver_request_total", **request("WATCH", "namespace", "200"))
        if watches > get(before, "apiserver_request_total", **request("WATCH", "namespace", "200")):
            break
        assert time.monotonic() < deadline, "the ended watch was never counted"
        time.sleep(0.05)

    def delta(name: str, **labels: str) -> float:
        return get(after, name, **labels) - get(before, name, **labels)

    assert delta("apiserver_request_total", **request("LIST", "namespace", "200")) == lists
    assert delta("apiserver_request_total", **request("GET", "resource", "404")) == 1
    assert delta("apiserver_request_total", **request("CREATE", "resource", "201")) == creates
    assert (
        delta("apiserver_request_total", **request("CREATE", "resource", "201", dry_run="All")) == 1
    )
    assert delta("apiserver_request_total", **request("WATCH", "namespace", "200")) == 1
    timed = {k: v for k, v in request("LIST", "namespace", "").items() if k != "code"}
    assert delta("apiserver_request_duration_seconds_count", **timed) == lists
    watched = {k: v for k, v in request("WATCH", "namespace", "").items() if k != "code"}
    assert get(after, "apiserver_request_duration_seconds_count", **watched) == 0  # long-running
    # The watch has ended: its events stay counted, it no longer runs.
    assert get(after, "apiserver_longrunning_requests", **{
        k: v for k, v in watched.items() if k != "dry_run"}) == 0  # fmt: skip
    gvk = {"group": "", "version": "v1", "kind": "Pod"}
    assert delta("apiserver_watch_events_total", **gvk) >= creates
    assert delta("watchproxy_watch_sent_bytes_total", **gvk) > 0
    gr = {"group": "", "resource": "pods"}
    assert delta("apiserver_watch_cache_events_dispatched_total", **gr) >= creates
    assert get(after, "apiserver_storage_objects", resource="pods") >= creates
    for shard in ("shard-a", "shard-b"):
        assert get(after, "watchproxy_shard_revision", shard=shard) > 0
        assert get(after, "watchproxy_shard_revision_lag", shard=shard) >= 0
        assert ("watchproxy_shard_revision_lag", frozenset({("shard", shard)})) in after
    # Every create is one etcd Txn on the namespace's shard (`metrics-ns` matches no tenant:
    # the default shard-a); the histogram counts each (the dry run writes nothing).
    txns = ("etcd_request_duration_seconds_count", {"operation": "Txn", "shard": "shard-a"})
    assert delta(txns[0], **txns[1]) >= creates
    total = get(after, "etcd_request_duration_seconds_bucket", le="+Inf", **txns[1])
    assert total == get(after, txns[0], **txns[1])
    # /metrics counts itself as a non-resource GET, once its answer is sent: `before`,
    # `during` and every poll but the last.
    metrics_get = {
        "verb": "GET", "dry_run": "", "group": "", "version": "", "resource": "",
        "subresource": "/metrics", "scope": "", "component": "apiserver", "code": "200",
    }  # fmt: skip
    assert delta("apiserver_request_total", **metrics_get) == 2 + polls - 1


def test_metrics_refuse_other_methods(api: httpx.Client) -> None:
    assert api.post("/metrics").status_code == 405
